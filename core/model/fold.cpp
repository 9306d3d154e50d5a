#include "model/fold.h"

#include <algorithm>

#include "common/errors.h"
#include "model/tensor_ops.h"

namespace headlab::model {
namespace {

bool wanted(const std::vector<ModuleKind>& kinds, ModuleKind k) {
  return kinds.empty() || std::find(kinds.begin(), kinds.end(), k) != kinds.end();
}

std::string where(const std::string& what, int64_t layer) { return what + "@" + std::to_string(layer); }

// Per-head right-multiplication q_h <- q_h T as a weight change: the stored [out, in] block
// W_h of each head becomes T^T W_h, and a bias b_h becomes b_h T (MODEL.md §7).
void fold_feature_matrix(torch::nn::Linear& proj, torch::Tensor& t, int64_t heads, int64_t dh) {
  auto w = proj->weight.view({heads, dh, -1});
  proj->weight.copy_(torch::matmul(t.t(), w).reshape_as(proj->weight));
  if (proj->bias.defined()) proj->bias.copy_(torch::matmul(proj->bias.view({heads, dh}), t).reshape_as(proj->bias));
  t.copy_(identity_like(dh, t));
}

// Head-axis mixing W'_j = sum_i mix[i, j] W_i: [G', dh*d] -> [G, dh*d] (a bias [G'*dh] is
// a one-column weight).
torch::Tensor mixed_weight(const torch::Tensor& weight, const torch::Tensor& mix) {
  const int64_t stored = mix.size(0);
  auto flat = weight.view({stored, -1});
  auto mixed = torch::matmul(mix.t(), flat);
  return weight.dim() == 1 ? mixed.reshape({-1}) : mixed.reshape({-1, weight.size(1)});
}

// wk or wv (and its bias) takes the mixing; the caller resets mix to the identity.
void mix_into_projection(torch::nn::Linear& proj, const torch::Tensor& mix) {
  proj->weight.set_data(mixed_weight(proj->weight, mix));
  if (proj->bias.defined()) proj->bias.set_data(mixed_weight(proj->bias, mix));
}

}  // namespace

FoldReport fold_modules(Transformer& model, const std::vector<ModuleKind>& kinds, const std::vector<int64_t>& layers) {
  torch::NoGradGuard no_grad;
  FoldReport report;
  auto& cfg = model->mutable_config();
  auto selected = [&](int64_t l) {
    return std::find(cfg.interaction.layers.begin(), cfg.interaction.layers.end(), l) != cfg.interaction.layers.end() &&
           (layers.empty() || std::find(layers.begin(), layers.end(), l) != layers.end());
  };
  auto live = [&](int64_t l, ModuleKind k) {
    auto s = model->blocks[l]->attn->state(k);
    return s == ModuleState::Active || s == ModuleState::Frozen;
  };
  // Layer l's MEA mixing folds into wk and wv, which stores every kv head again.
  auto mea_folds_fully = [&](int64_t l) {
    const auto& a = *model->blocks[l]->attn;
    return selected(l) && wanted(kinds, ModuleKind::Mea) && live(l, ModuleKind::Mea) && !a.gta &&
           !(live(l, ModuleKind::Kha) && a.kha->v_up.defined());
  };
  // The config has one virtual head count for the whole model: either every layer with
  // virtual heads loses them or none does. Checked before any weight changes, so a refused
  // fold leaves the model as it was (a half-folded one would not load again).
  bool folds_virtual = false;
  std::vector<int64_t> keeps_virtual;
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    const auto& a = *model->blocks[l]->attn;
    if (a.stored_kv_heads == a.kv_heads) continue;
    if (mea_folds_fully(l)) folds_virtual = true;
    else keeps_virtual.push_back(l);
  }
  if (folds_virtual && !keeps_virtual.empty())
    throw InputError("fold: layer " + std::to_string(keeps_virtual.front()) +
                     " would keep its virtual kv heads while other layers lose them; nothing was folded. "
                     "Fold MEA in every layer at once");
  for (int64_t l : cfg.interaction.layers) {
    if (!selected(l)) continue;
    auto& a = *model->blocks[l]->attn;
    const int64_t dh = a.head_dim;
    const bool v_mlp_live = live(l, ModuleKind::Kha) && a.kha->v_up.defined();
    if (wanted(kinds, ModuleKind::Kha) && live(l, ModuleKind::Kha)) {
      auto& kha = *a.kha;
      if (kha.t_q.defined()) {
        fold_feature_matrix(a.wq, kha.t_q, a.n_heads, dh);
        report.folded.push_back(where("kha.t_q", l));
      }
      if (a.gta) {
        if (kha.t_k.defined()) report.skipped.push_back(where("kha.t_k", l) + " (gta: k shares wkv with v)");
        if (kha.t_v.defined()) report.skipped.push_back(where("kha.t_v", l) + " (gta: v shares wkv with k)");
      } else {
        if (kha.t_k.defined()) {
          fold_feature_matrix(a.wk, kha.t_k, a.stored_kv_heads, dh);
          report.folded.push_back(where("kha.t_k", l));
        }
        if (kha.t_v.defined()) {
          fold_feature_matrix(a.wv, kha.t_v, a.stored_kv_heads, dh);
          report.folded.push_back(where("kha.t_v", l));
        }
      }
      if (kha.v_up.defined()) report.skipped.push_back(where("kha.v_mlp", l) + " (nonlinear)");
    }
    if (wanted(kinds, ModuleKind::Mea) && live(l, ModuleKind::Mea)) {
      auto& mea = *a.mea;
      if (a.gta) {
        report.skipped.push_back(where("mea.mix_k", l) + " (gta: k and v share wkv)");
        report.skipped.push_back(where("mea.mix_v", l) + " (gta: k and v share wkv)");
      } else if (v_mlp_live) {
        // mix_v acts after the nonlinear KHA-mlp; with virtual heads mix_k alone cannot change
        // the stored head count either, since wk and wv must keep the same number of heads.
        report.skipped.push_back(where("mea.mix_v", l) + " (after the KHA v mlp)");
        if (a.stored_kv_heads == a.kv_heads) {
          mix_into_projection(a.wk, mea.mix_k);
          mea.mix_k.copy_(identity_like(a.kv_heads, mea.mix_k));
          report.folded.push_back(where("mea.mix_k", l));
        } else {
          report.skipped.push_back(where("mea.mix_k", l) + " (virtual heads with an unfoldable mix_v)");
        }
      } else {
        mix_into_projection(a.wk, mea.mix_k);
        mix_into_projection(a.wv, mea.mix_v);
        mea.mix_k.set_data(identity_like(a.kv_heads, mea.mix_k));
        mea.mix_v.set_data(identity_like(a.kv_heads, mea.mix_v));
        a.stored_kv_heads = a.kv_heads;
        report.folded.push_back(where("mea.mix_k", l));
        report.folded.push_back(where("mea.mix_v", l));
      }
    }
    if (wanted(kinds, ModuleKind::Mea) && live(l, ModuleKind::Mea) && a.mea->has_group_norm())
      report.skipped.push_back(where("mea.group_norm", l) + " (nonlinear)");
    if (wanted(kinds, ModuleKind::TalkingHeads) && live(l, ModuleKind::TalkingHeads))
      report.skipped.push_back(where("talking_heads", l) + " (acts on attention scores)");
  }
  if (folds_virtual) cfg.interaction.mea.virtual_kv_heads = 0;
  return report;
}

void compress_kv_heads(Transformer& model, int64_t target) {
  torch::NoGradGuard no_grad;
  auto& cfg = model->mutable_config();
  const int64_t G = cfg.kv_heads();
  if (cfg.attention == AttentionLayout::Gta) throw InputError("compress: virtual kv heads are not supported with gta");
  if (target <= 0 || target > cfg.stored_kv_heads())
    throw InputError("compress: --kv-heads (" + std::to_string(target) + ") must be in [1, " +
                     std::to_string(cfg.stored_kv_heads()) + "] (the heads stored now)");
  const bool had_mea = cfg.interaction.mea.enabled;
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    auto& a = *model->blocks[l]->attn;
    if (had_mea && a.state(ModuleKind::Mea) == ModuleState::Absent && cfg.interaction.mea.group_norm)
      throw InputError("compress: MEA with group norm lives in some layers only; adding it to layer " +
                       std::to_string(l) + " would change the function");
    if (a.state(ModuleKind::Mea) == ModuleState::Bypassed)
      throw InputError("compress: mea is bypassed in layer " + std::to_string(l) + "; activate it first");
    if (a.state(ModuleKind::Kha) != ModuleState::Bypassed && a.state(ModuleKind::Kha) != ModuleState::Absent &&
        a.kha->v_up.defined())
      throw InputError("compress: layer " + std::to_string(l) +
                       " has a KHA v mlp, which is nonlinear per head; virtual heads would change its function");
  }
  std::vector<int64_t> all(cfg.n_layers);
  for (int64_t l = 0; l < cfg.n_layers; ++l) all[l] = l;
  std::vector<int64_t> missing;
  for (int64_t l : all)
    if (model->blocks[l]->attn->state(ModuleKind::Mea) == ModuleState::Absent) missing.push_back(l);
  if (!missing.empty()) {
    // A model without MEA gets it with the group norm off: only the truncation may change it.
    InsertOptions options;
    options.mea_group_norm = had_mea && cfg.interaction.mea.group_norm;
    model->insert_module(ModuleKind::Mea, missing, options);
  }
  for (int64_t l : all) {
    auto& a = *model->blocks[l]->attn;
    const int64_t dh = a.head_dim;
    auto& mea = *a.mea;
    for (auto [proj, mix] : {std::pair{&a.wk, &mea.mix_k}, std::pair{&a.wv, &mea.mix_v}}) {
      auto& w = (*proj)->weight;
      auto& b = (*proj)->bias;  // with linear_bias (§7) each head's bias is part of its column
      const int64_t stored = w.size(0) / dh, d = w.size(1), per_head = dh * d + (b.defined() ? dh : 0);
      auto columns = w.view({stored, dh * d});
      if (b.defined()) columns = torch::cat({columns, b.view({stored, dh})}, 1);
      auto A = columns.t();  // [dh*d (+dh), G_stored], column j = head j
      // ATen's op, not torch::linalg::svd: Debian 13's LibTorch 2.6 ships no torch/linalg.h.
      auto [U, S, Vh] = torch::linalg_svd(A.to(torch::kFloat64), /*full_matrices=*/false, c10::nullopt);
      auto Uk = U.narrow(1, 0, target);                                     // [dh*d (+dh), G']
      auto SV = S.narrow(0, 0, target).unsqueeze(1) * Vh.narrow(0, 0, target);  // [G', G_stored]
      auto heads = Uk.t();  // [G', per_head]
      w.set_data(heads.narrow(1, 0, dh * d).reshape({target * dh, d}).to(w.scalar_type()).contiguous());
      if (b.defined()) b.set_data(heads.narrow(1, dh * d, per_head - dh * d).reshape({target * dh}).to(b.scalar_type()).contiguous());
      mix->set_data(torch::matmul(SV, mix->to(torch::kFloat64)).to(mix->scalar_type()));
    }
    a.stored_kv_heads = target;
  }
  cfg.interaction.mea.virtual_kv_heads = target == G ? 0 : target;
  // Keep the compressed function self-described even at full rank: mixing stays in mix_*.
  cfg.validate();
}

}  // namespace headlab::model
