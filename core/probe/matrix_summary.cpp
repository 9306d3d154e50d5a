#include "probe/matrix_summary.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "common/errors.h"
#include "model/transformer.h"
#include "probe/plain_copy.h"

namespace headlab::probe {
namespace {

double effective_rank(const PlainMatrix& m) {
  if (m.values.empty()) return 0;
  // Double precision: the small singular values decide the entropy's tail.
  auto a = torch::tensor(std::vector<double>(m.values.begin(), m.values.end()), torch::kDouble).view({m.rows, m.cols});
  // The ATen op, not torch::linalg::svdvals: Debian 13's LibTorch 2.6 ships no torch/linalg.h.
  auto s = torch::linalg_svdvals(a, c10::nullopt);
  const double total = s.sum().item<double>();
  if (!(total > 0)) return 0;
  auto p = s / total;
  const double entropy = -(p * torch::log(p.clamp_min(1e-300))).sum().item<double>();
  return std::exp(entropy);
}

}  // namespace

MatrixSummary summarize_matrix(const PlainMatrix& m) {
  if (m.rows < 0 || m.cols < 0 || m.values.size() != static_cast<size_t>(m.rows) * m.cols)
    throw InputError("a matrix of " + std::to_string(m.rows) + " x " + std::to_string(m.cols) + " needs " +
                     std::to_string(static_cast<size_t>(std::max(m.rows, 0)) * std::max(m.cols, 0)) +
                     " values, got " + std::to_string(m.values.size()));
  double distance_sq = 0, off_diagonal = 0, total = 0;
  for (int i = 0; i < m.rows; ++i)
    for (int j = 0; j < m.cols; ++j) {
      const double v = m.at(i, j), d = v - (i == j ? 1.0 : 0.0);
      distance_sq += d * d;
      total += std::fabs(v);
      if (i != j) off_diagonal += std::fabs(v);
    }
  MatrixSummary s;
  s.distance_from_identity = static_cast<float>(std::sqrt(distance_sq));
  s.off_diagonal_mass = total > 0 ? static_cast<float>(off_diagonal / total) : 0.0f;
  s.effective_rank = static_cast<float>(effective_rank(m));
  return s;
}

std::vector<ModuleMatrix> collect_module_matrices(const model::Transformer& model) {
  std::vector<ModuleMatrix> out;
  for (size_t l = 0; l < model->blocks.size(); ++l) {
    const auto& attn = *model->blocks[l]->attn;
    auto add = [&](model::ModuleKind kind, const char* name, const torch::Tensor& t) {
      if (!t.defined()) return;
      ModuleMatrix m;
      m.layer = static_cast<int>(l);
      m.module = model::to_string(kind);
      m.name = name;
      m.matrix = to_plain_matrix(t);
      const MatrixSummary s = summarize_matrix(m.matrix);
      m.distance_from_identity = s.distance_from_identity;
      m.off_diagonal_mass = s.off_diagonal_mass;
      m.effective_rank = s.effective_rank;
      m.state = model::to_string(attn.state(kind));
      out.push_back(std::move(m));
    };
    if (attn.state(model::ModuleKind::Kha) != model::ModuleState::Absent) {
      const auto& kha = *attn.kha;  // undefined tensors (modes this KHA lacks) are skipped
      add(model::ModuleKind::Kha, "t_q", kha.t_q);
      add(model::ModuleKind::Kha, "t_k", kha.t_k);
      add(model::ModuleKind::Kha, "t_v", kha.t_v);
      add(model::ModuleKind::Kha, "v_up", kha.v_up);
      add(model::ModuleKind::Kha, "v_gate", kha.v_gate);
      add(model::ModuleKind::Kha, "v_down", kha.v_down);
    }
    if (attn.state(model::ModuleKind::Mea) != model::ModuleState::Absent) {
      add(model::ModuleKind::Mea, "mix_k", attn.mea->mix_k);
      add(model::ModuleKind::Mea, "mix_v", attn.mea->mix_v);
    }
    if (attn.state(model::ModuleKind::TalkingHeads) != model::ModuleState::Absent) {
      add(model::ModuleKind::TalkingHeads, "pre", attn.talking->pre);
      add(model::ModuleKind::TalkingHeads, "post", attn.talking->post);
    }
  }
  return out;
}

}  // namespace headlab::probe
