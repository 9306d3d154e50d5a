#include "io/hf_import.h"

#include <functional>
#include <map>
#include <memory>
#include <set>

#include "common/errors.h"
#include "common/json_file.h"
#include "io/model_io.h"
#include "io/safetensors.h"
#include "model/model_size.h"

namespace headlab::io {
namespace fs = std::filesystem;
namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// The weight files of the folder: tensor name -> the mapped file holding it.
class WeightFiles {
 public:
  explicit WeightFiles(const fs::path& dir) {
    const fs::path single = dir / "model.safetensors", index = dir / "model.safetensors.index.json";
    std::error_code ec;
    if (fs::exists(single, ec)) {
      add(single);
      return;
    }
    if (!fs::exists(index, ec))
      throw InputError(dir.string() + ": no model.safetensors and no model.safetensors.index.json (HeadLab reads "
                       "safetensors weights only; convert a pytorch_model.bin with transformers first)");
    const auto j = read_json_file(index);
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
      throw InputError(index.string() + ": no weight_map object");
    std::map<std::string, MappedSafetensors*> shards;
    for (const auto& [name, file] : j["weight_map"].items()) {
      if (!file.is_string()) throw InputError(index.string() + ": weight_map entry '" + name + "' is not a file name");
      const std::string f = file.get<std::string>();
      if (f.empty() || f.find('/') != std::string::npos || f == "..")
        throw InputError(index.string() + ": weight_map entry '" + name + "' names '" + f + "', not a file in the folder");
      if (!shards.count(f)) {
        if (!fs::exists(dir / f, ec)) throw InputError(index.string() + ": shard " + f + " (of tensor '" + name + "') is missing");
        shards[f] = add(dir / f);
      }
      if (!shards[f]->contains(name))
        throw InputError((dir / f).string() + ": has no tensor '" + name + "' although the index puts it there");
    }
  }

  bool contains(const std::string& name) const { return where_.count(name) > 0; }
  const MappedSafetensors& file_of(const std::string& name) const { return *where_.at(name); }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [name, f] : where_) out.push_back(name);
    return out;
  }
  double parameter_count() const {
    double n = 0;
    for (const auto& [name, f] : where_) {
      double e = 1;
      for (int64_t d : f->shape(name)) e *= static_cast<double>(d);
      n += e;
    }
    return n;
  }

 private:
  MappedSafetensors* add(const fs::path& path) {
    files_.push_back(std::make_unique<MappedSafetensors>(path));
    for (const auto& name : files_.back()->names())
      if (!where_.emplace(name, files_.back().get()).second)
        throw InputError(path.string() + ": tensor '" + name + "' is also in another shard");
    return files_.back().get();
  }
  std::vector<std::unique_ptr<MappedSafetensors>> files_;
  std::map<std::string, MappedSafetensors*> where_;
};

// How one Hugging Face tensor becomes HeadLab tensors.
struct Mapping {
  std::vector<std::string> targets;  // HeadLab names; several when a fused tensor is split
  bool transpose = false;            // GPT-2's Conv1D stores [in, out]
};

// MODEL.md §7's tables. Returns false for a name the architecture does not have.
bool map_llama(const std::string& hf, std::string* out) {
  static const std::pair<const char*, const char*> fixed[] = {
      {"model.embed_tokens.weight", "tok_emb.weight"}, {"model.norm.weight", "norm.weight"}, {"lm_head.weight", "lm_head.weight"}};
  for (const auto& [from, to] : fixed)
    if (hf == from) return *out = to, true;
  static const std::pair<const char*, const char*> per_layer[] = {
      {"input_layernorm.weight", "attn_norm.weight"}, {"post_attention_layernorm.weight", "mlp_norm.weight"},
      {"self_attn.q_proj.", "attn.wq."},            {"self_attn.k_proj.", "attn.wk."},
      {"self_attn.v_proj.", "attn.wv."},            {"self_attn.o_proj.", "attn.wo."},
      {"self_attn.q_norm.weight", "attn.q_norm.weight"}, {"self_attn.k_norm.weight", "attn.k_norm.weight"},
      {"mlp.gate_proj.", "mlp.w_gate."},            {"mlp.up_proj.", "mlp.w_up."},
      {"mlp.down_proj.", "mlp.w_down."}};
  const std::string prefix = "model.layers.";
  if (hf.compare(0, prefix.size(), prefix) != 0) return false;
  const size_t dot = hf.find('.', prefix.size());
  if (dot == std::string::npos) return false;
  const std::string layer = hf.substr(prefix.size(), dot - prefix.size()), rest = hf.substr(dot + 1);
  for (const auto& [from, to] : per_layer) {
    const std::string f = from;
    if (rest.compare(0, f.size(), f) != 0) continue;
    const std::string tail = rest.substr(f.size());
    if (f.back() == '.' && tail != "weight" && tail != "bias") return false;
    if (f.back() != '.' && !tail.empty()) return false;
    *out = "layers." + layer + "." + to + tail;
    return true;
  }
  return false;
}

bool map_gpt2(std::string hf, Mapping* out) {
  if (hf.compare(0, 12, "transformer.") == 0) hf = hf.substr(12);
  static const std::pair<const char*, const char*> fixed[] = {
      {"wte.weight", "tok_emb.weight"}, {"wpe.weight", "pos_emb.weight"}, {"ln_f.weight", "norm.weight"}, {"ln_f.bias", "norm.bias"}};
  for (const auto& [from, to] : fixed)
    if (hf == from) return *out = Mapping{{to}, false}, true;
  if (hf.compare(0, 2, "h.") != 0) return false;
  const size_t dot = hf.find('.', 2);
  if (dot == std::string::npos) return false;
  const std::string l = "layers." + hf.substr(2, dot - 2) + ".", rest = hf.substr(dot + 1);
  static const std::pair<const char*, const char*> norms[] = {
      {"ln_1.weight", "attn_norm.weight"}, {"ln_1.bias", "attn_norm.bias"}, {"ln_2.weight", "mlp_norm.weight"}, {"ln_2.bias", "mlp_norm.bias"}};
  for (const auto& [from, to] : norms)
    if (rest == from) return *out = Mapping{{l + to}, false}, true;
  static const std::pair<const char*, const char*> convs[] = {
      {"attn.c_proj.", "attn.wo."}, {"mlp.c_fc.", "mlp.w_up."}, {"mlp.c_proj.", "mlp.w_down."}};
  for (const auto& [from, to] : convs) {
    const std::string f = from;
    if (rest == f + "weight") return *out = Mapping{{l + to + "weight"}, true}, true;
    if (rest == f + "bias") return *out = Mapping{{l + to + "bias"}, false}, true;
  }
  if (rest == "attn.c_attn.weight")
    return *out = Mapping{{l + "attn.wq.weight", l + "attn.wk.weight", l + "attn.wv.weight"}, true}, true;
  if (rest == "attn.c_attn.bias")
    return *out = Mapping{{l + "attn.wq.bias", l + "attn.wk.bias", l + "attn.wv.bias"}, false}, true;
  return false;
}

// Tensors that are in some checkpoints but are no weights: attention-mask and RoPE buffers, and a
// stored copy of a tied head (the model uses the embedding, as transformers does).
bool ignored(const std::string& hf, model::HfFamily family, bool tied) {
  auto ends_with = [&](const std::string& s) { return hf.size() >= s.size() && hf.compare(hf.size() - s.size(), s.size(), s) == 0; };
  if (family == model::HfFamily::Gpt2) return ends_with(".attn.bias") || ends_with(".attn.masked_bias") || hf == "lm_head.weight";
  return ends_with(".rotary_emb.inv_freq") || (tied && hf == "lm_head.weight");
}

}  // namespace

HfImport import_hf_model(const fs::path& dir, const torch::Device& device) {
  auto hf = model::hf_model_config(read_json_file(dir / "config.json"), dir);
  attach_tokenizer_file(hf.config, dir);
  WeightFiles files(dir);
  const double described = model::parameter_count_lower_bound(hf.config);
  if (described > files.parameter_count() * 1.0001 + 1)
    throw InputError(dir.string() + ": config.json describes at least " + std::to_string(static_cast<long long>(described)) +
                     " parameters but the weights hold " + std::to_string(static_cast<long long>(files.parameter_count())) +
                     ": they do not belong together");
  model::check_fits_in_memory(described * 4, "the model in " + dir.string());
  HfImport out;
  out.architecture = hf.architecture;
  out.note = hf.note;
  out.model = model::Transformer(hf.config);
  std::map<std::string, torch::Tensor> params;
  for (auto& [name, t] : out.model->named_tensors()) params[name] = t;
  std::set<std::string> filled;
  torch::NoGradGuard no_grad;
  const bool tied = hf.config.tie_embeddings;
  for (const auto& name : files.names()) {
    Mapping m;
    std::string target;
    const bool known = hf.family == model::HfFamily::Gpt2 ? map_gpt2(name, &m)
                                                          : (map_llama(name, &target) && (m = Mapping{{target}, false}, true));
    if (!known || (m.targets.size() == 1 && !params.count(m.targets[0]))) {
      if (ignored(name, hf.family, tied)) continue;
      throw InputError(files.file_of(name).source() + ": unexpected tensor '" + name + "' (not part of a " +
                       hf.architecture + " as its config.json describes it)");
    }
    const auto& file = files.file_of(name);
    const auto shape = file.shape(name);
    // The stored layout of the targets: [out, in] weights become [in, out] for Conv1D, and a
    // fused c_attn holds the three side by side along `out`.
    std::vector<int64_t> expected = params.at(m.targets[0]).sizes().vec();
    if (m.transpose && expected.size() == 2) std::swap(expected[0], expected[1]);
    if (m.targets.size() == 3) expected.back() *= 3;
    if (shape != expected)
      throw InputError(file.source() + ": tensor '" + name + "' has shape " + shape_text(shape) + ", expected " +
                       shape_text(expected) + " from config.json");
    torch::Tensor& first = params.at(m.targets[0]);
    if (m.targets.size() == 1 && !m.transpose) {
      file.read_into(name, first);  // straight into the parameter: no copy at all
    } else {
      const torch::Tensor stored = file.read(name);
      const auto parts = stored.chunk(static_cast<int64_t>(m.targets.size()), -1);
      for (size_t i = 0; i < m.targets.size(); ++i)
        params.at(m.targets[i]).copy_(m.transpose ? parts[i].t() : parts[i]);
    }
    for (const auto& t : m.targets)
      if (!filled.insert(t).second) throw InputError(file.source() + ": tensor '" + name + "' fills '" + t + "' twice");
  }
  auto zero_filled = [&](const std::string& name) {
    for (const auto& suffix : hf.zero_filled)
      if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) return true;
    return false;
  };
  for (auto& [name, t] : params)
    if (!filled.count(name) && zero_filled(name)) t.zero_(), filled.insert(name);
  for (const auto& [name, t] : params)
    if (!filled.count(name))
      throw InputError(dir.string() + ": the weights have no tensor for '" + name + "' (" + hf.architecture +
                       " with this config.json needs it)");
  out.model->to(device);
  return out;
}

}  // namespace headlab::io
