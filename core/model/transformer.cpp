#include "model/transformer.h"

#include <algorithm>
#include <cmath>

#include "common/errors.h"
#include "model/tensor_ops.h"

namespace headlab::model {
namespace {

torch::nn::Linear make_linear(int64_t in, int64_t out, bool bias = false) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
}

// A network norm: RMS (weight only) or, with norm "layer" (§7), LayerNorm with a bias too.
// Returns the weight; *bias receives the bias when there is one.
torch::Tensor register_norm(torch::nn::Module& parent, const std::string& name, int64_t size, bool layer_norm = false,
                            torch::Tensor* bias = nullptr) {
  auto module = parent.register_module(name, std::make_shared<torch::nn::Module>());
  auto weight = module->register_parameter("weight", torch::ones({size}));
  if (layer_norm) *bias = module->register_parameter("bias", torch::zeros({size}));
  return weight;
}

// RMSNorm, or LayerNorm (biased variance) where the norm has a bias.
torch::Tensor network_norm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, double eps) {
  if (bias.defined()) return torch::layer_norm(x, {x.size(-1)}, weight, bias, eps);
  return rms_norm(x, weight, eps);
}

}  // namespace

BlockImpl::BlockImpl(const ModelConfig& c, int64_t layer, const torch::TensorOptions& options)
    : eps(c.norm_eps), gelu(c.mlp == MlpKind::Gelu) {
  const bool layer_norm = c.norm == NormKind::Layer, bias = c.other_bias();
  attn_norm = register_norm(*this, "attn_norm", c.d_model, layer_norm, &attn_norm_bias);
  mlp_norm = register_norm(*this, "mlp_norm", c.d_model, layer_norm, &mlp_norm_bias);
  attn = register_module("attn", Attention(c, layer, options));
  auto mlp = register_module("mlp", std::make_shared<torch::nn::Module>());
  if (!gelu) w_gate = mlp->register_module("w_gate", make_linear(c.d_model, c.d_ff, bias));
  w_up = mlp->register_module("w_up", make_linear(c.d_model, c.d_ff, bias));
  w_down = mlp->register_module("w_down", make_linear(c.d_ff, c.d_model, bias));
}

torch::Tensor BlockImpl::forward(const torch::Tensor& h, LayerKVCache* cache, torch::Tensor* attention_out) {
  auto x = h + attn->forward(network_norm(h, attn_norm, attn_norm_bias, eps), cache, attention_out);
  auto m = network_norm(x, mlp_norm, mlp_norm_bias, eps);
  if (gelu) return x + w_down(torch::gelu(w_up(m), "tanh"));
  if (w_up->bias.defined())  // swiglu with biases: no fused gate-up path
    return x + w_down(torch::silu(w_gate(m)) * w_up(m));
  if (m.size(0) * m.size(1) < attention_paths(*attn).fused_projection_min_rows)  // decoding: no weight copies
    return x + w_down(torch::silu(w_gate(m)) * w_up(m));
  // One GEMM for the gate and the up projection (and one for their input gradient).
  return x + w_down(swiglu(torch::nn::functional::linear(m, torch::cat({w_gate->weight, w_up->weight}, 0))));
}

int64_t KVCache::bytes() const {
  int64_t total = 0;
  for (const auto& l : layers) {
    if (l.first.defined()) total += l.first.numel() * l.first.element_size();
    if (l.second.defined()) total += l.second.numel() * l.second.element_size();
  }
  return total;
}

TransformerImpl::TransformerImpl(const ModelConfig& config, const torch::Device& device) : config_(config) {
  config_.validate();
  const auto& c = config_;
  torch::NoGradGuard no_grad;
  tok_emb = register_module("tok_emb", torch::nn::Embedding(c.vocab_size, c.d_model));
  if (c.positions == PositionKind::Learned)
    pos_emb = register_module("pos_emb", torch::nn::Embedding(c.max_seq_len, c.d_model));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.n_layers; ++i) {
    blocks.push_back(Block(c, i, torch::TensorOptions()));
    layers->push_back(blocks.back());
  }
  norm = register_norm(*this, "norm", c.d_model, c.norm == NormKind::Layer, &norm_bias);
  if (!c.tie_embeddings) lm_head = register_module("lm_head", make_linear(c.d_model, c.vocab_size));

  const double std = 0.02, out_std = 0.02 / std::sqrt(2.0 * c.n_layers);
  tok_emb->weight.normal_(0.0, std);
  if (pos_emb) pos_emb->weight.normal_(0.0, std);
  if (lm_head) lm_head->weight.normal_(0.0, std);
  for (auto& b : blocks) {
    auto& a = *b->attn;
    for (auto* lin : {&a.wq, &a.wk, &a.wv, &a.wkv, &a.wk_rope})
      if (*lin) (*lin)->weight.normal_(0.0, std);
    a.wo->weight.normal_(0.0, out_std);
    if (b->w_gate) b->w_gate->weight.normal_(0.0, std);
    b->w_up->weight.normal_(0.0, std);
    b->w_down->weight.normal_(0.0, out_std);
  }
  // linear_bias (§7) starts at zero: a model trained here begins as its bias-free twin.
  for (auto& item : named_parameters(/*recurse=*/true))
    if (item.key().size() > 5 && item.key().compare(item.key().size() - 5, 5, ".bias") == 0) item.value().zero_();
  to(device);
}

torch::Device TransformerImpl::device() const { return norm.device(); }

ForwardResult TransformerImpl::forward(const torch::Tensor& tokens, const ForwardOptions& options) {
  TORCH_CHECK(tokens.dim() == 2, "tokens must be [B, T]");
  ForwardResult result;
  KVCache* cache = options.cache;
  if (cache && cache->layers.size() != blocks.size()) cache->layers.resize(blocks.size());
  const int64_t total = tokens.size(1) + (cache ? cache->length() : 0);
  if (total > config_.max_seq_len)
    throw InputError("sequence of " + std::to_string(total) + " tokens exceeds max_seq_len (" +
                     std::to_string(config_.max_seq_len) + ")");
  auto h = tok_emb(tokens);
  if (pos_emb) {
    const int64_t start = total - tokens.size(1);
    h = h + pos_emb(torch::arange(start, total, torch::TensorOptions().dtype(torch::kLong).device(tokens.device())));
  }
  for (size_t i = 0; i < blocks.size(); ++i) {
    torch::Tensor attention;
    h = blocks[i]->forward(h, cache ? &cache->layers[i] : nullptr, options.return_attention ? &attention : nullptr);
    if (options.return_attention) result.attention.push_back(attention);
  }
  h = network_norm(h, norm, norm_bias, config_.norm_eps);
  result.logits = torch::matmul(h, (lm_head ? lm_head->weight : tok_emb->weight).t());
  return result;
}

ModuleState TransformerImpl::module_state(int64_t layer, ModuleKind kind) const {
  if (layer < 0 || layer >= config_.n_layers) throw InputError("layer " + std::to_string(layer) + " does not exist");
  return blocks[layer]->attn->state(kind);
}

void TransformerImpl::set_module_state(int64_t layer, ModuleKind kind, ModuleState state) {
  module_state(layer, kind);  // validates the layer
  blocks[layer]->attn->set_state(kind, state);
  sync_bypassed_list();
}

namespace {
void run_layers(const TransformerImpl::LayerRunner& run, int64_t n, const std::function<void(int64_t)>& fn) {
  if (run) return run(n, fn);
  for (int64_t l = 0; l < n; ++l) fn(l);
}
}  // namespace

std::vector<torch::Tensor> TransformerImpl::share_qkv_weights(const LayerRunner& run) {
  const auto n = static_cast<int64_t>(blocks.size());
  std::vector<torch::Tensor> built(static_cast<size_t>(n)), leaves;
  run_layers(run, n, [&](int64_t l) { built[static_cast<size_t>(l)] = blocks[static_cast<size_t>(l)]->attn->share_qkv_weight(); });
  for (auto& leaf : built)
    if (leaf.defined()) leaves.push_back(leaf);
  return leaves;
}

void TransformerImpl::release_shared_qkv_weights(bool backpropagate, const LayerRunner& run) {
  run_layers(run, static_cast<int64_t>(blocks.size()),
             [&](int64_t l) { blocks[static_cast<size_t>(l)]->attn->release_shared_qkv(backpropagate); });
}

void TransformerImpl::sync_bypassed_list() {
  auto& bypassed = config_.interaction.bypassed;
  bypassed.clear();
  for (int64_t l : config_.interaction.layers)
    for (ModuleKind kind : kAllModuleKinds)
      if (blocks[l]->attn->state(kind) == ModuleState::Bypassed) bypassed.push_back(bypass_entry(kind, l));
}

void TransformerImpl::ensure_layer_carries_modules(int64_t layer) {
  auto& layers_list = config_.interaction.layers;
  if (std::binary_search(layers_list.begin(), layers_list.end(), layer)) return;
  layers_list.insert(std::upper_bound(layers_list.begin(), layers_list.end(), layer), layer);
  // The model's existing modules join this layer bypassed: the config then still says
  // "these modules live in these layers" and the function is unchanged.
  for (ModuleKind kind : kAllModuleKinds) {
    if (!config_.has_module(layer, kind)) continue;
    blocks[layer]->attn->insert(kind, config_);
    blocks[layer]->attn->set_state(kind, ModuleState::Bypassed);
  }
}

void TransformerImpl::insert_module(ModuleKind kind, const std::vector<int64_t>& target_layers, const InsertOptions& options) {
  for (int64_t l : target_layers)
    if (l < 0 || l >= config_.n_layers) throw InputError("layer " + std::to_string(l) + " does not exist");
  auto& inter = config_.interaction;
  const bool model_had_it = kind == ModuleKind::Kha ? inter.kha.enabled()
                            : kind == ModuleKind::Mea ? inter.mea.enabled
                                                      : inter.talking_heads;
  for (int64_t l : target_layers) ensure_layer_carries_modules(l);
  if (!model_had_it) {
    if (kind == ModuleKind::Kha) {
      inter.kha = options.kha_modes;
      if (!inter.kha.enabled()) throw InputError("inserting kha needs at least one of q, k, v to be on");
    } else if (kind == ModuleKind::Mea) {
      inter.mea = MeaConfig{true, options.mea_group_norm, 0};
    } else {
      inter.talking_heads = true;
    }
    // Every other layer of interaction.layers now carries it too, bypassed.
    for (int64_t l : inter.layers) {
      blocks[l]->attn->insert(kind, config_);
      if (std::find(target_layers.begin(), target_layers.end(), l) == target_layers.end())
        blocks[l]->attn->set_state(kind, ModuleState::Bypassed);
    }
  } else {
    for (int64_t l : target_layers) {
      auto& attn = *blocks[l]->attn;
      if (attn.state(kind) == ModuleState::Absent) attn.insert(kind, config_);
      else attn.set_state(kind, ModuleState::Active);
    }
  }
  sync_bypassed_list();
  config_.validate();
}

std::vector<std::pair<std::string, torch::Tensor>> TransformerImpl::named_tensors() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : named_parameters(/*recurse=*/true)) out.emplace_back(item.key(), item.value());
  return out;
}

}  // namespace headlab::model
