#pragma once
// The model's config.json (MODEL.md §5): parsed, validated with messages that name the
// field at fault, and written back. Plain C++ (no torch), so any tool can read it.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "model/module_types.h"

namespace headlab::model {

enum class AttentionLayout { Mha, Gqa, Mqa, Gta };
// MODEL.md §7: options of the same network that imported architectures need. The defaults
// are §1-§2 exactly, and a config that leaves them at their defaults does not write them.
enum class LinearBias { None, Qkv, All };  // which linear layers carry a .bias
enum class NormKind { Rms, Layer };         // the network norms (QK norm stays RMS)
enum class MlpKind { SwiGlu, Gelu };        // gelu: w_down(gelu_tanh(w_up x)), no w_gate
enum class PositionKind { Rope, Learned };  // learned: pos_emb added to the embeddings, no RoPE

// Llama 3's rescaling of the rotary frequencies (§7); factor 0 means none.
struct RopeScaling {
  double factor = 0, low_freq_factor = 1, high_freq_factor = 4;
  double original_max_position_embeddings = 8192;
  bool enabled() const { return factor > 0; }
  bool operator==(const RopeScaling& o) const {
    return factor == o.factor && low_freq_factor == o.low_freq_factor && high_freq_factor == o.high_freq_factor &&
           original_max_position_embeddings == o.original_max_position_embeddings;
  }
};

// Everything RoPE reads: the base and the optional scaling.
struct RopeSpec {
  double theta = 10000.0;
  RopeScaling scaling;
};
// freq_j for j = 0 .. rotary_dims/2 - 1 (MODEL.md §2.5, with §7's llama3 rescaling).
std::vector<double> rope_frequencies(const RopeSpec& rope, int64_t rotary_dims);

std::string to_string(AttentionLayout layout);
std::string to_string(KhaMode mode);


struct MeaConfig {
  bool enabled = false;
  bool group_norm = true;
  int64_t virtual_kv_heads = 0;  // G'; 0 means G' = G
};

struct InteractionConfig {
  std::vector<int64_t> layers;  // layers that carry the modules (sorted, unique)
  KhaConfig kha;
  MeaConfig mea;
  bool talking_heads = false;
  std::vector<std::string> bypassed;  // "kha@2", "mea@0", "talking_heads@1"
};

struct ModelConfig {
  std::string format = "headlab-model/1";
  int64_t vocab_size = 256;
  int64_t d_model = 128;
  int64_t n_layers = 4;
  int64_t n_heads = 8;
  int64_t n_kv_heads = 8;
  int64_t head_dim = 16;
  int64_t d_ff = 384;
  AttentionLayout attention = AttentionLayout::Gqa;
  int64_t rope_dim = 0;  // gta only; 0 means head_dim / 2
  double rope_theta = 10000.0;
  int64_t max_seq_len = 256;
  bool qk_norm = false;
  double norm_eps = 1e-6;
  bool tie_embeddings = false;
  LinearBias linear_bias = LinearBias::None;
  NormKind norm = NormKind::Rms;
  MlpKind mlp = MlpKind::SwiGlu;
  PositionKind positions = PositionKind::Rope;
  RopeScaling rope_scaling;
  InteractionConfig interaction;
  nlohmann::json tokenizer;  // {"type":"bytes"} or {"type":"chars","alphabet":...}; null when absent
  // Where a tokenizer file that `tokenizer` names ("hf", "sentencepiece") lives now: the
  // directory the model was loaded from. Not part of the JSON; saving copies the file along.
  std::filesystem::path files_dir;
  // That file's bytes, read when the model was loaded: a checkpoint directory it came from may
  // be rotated away while the model trains, and the next save still writes the file along.
  std::shared_ptr<const std::string> tokenizer_file_bytes;

  // G: key/value heads after the layout's alias (mha: H, mqa: 1).
  int64_t kv_heads() const;
  // G': key/value heads stored in wk/wv and the KV cache.
  int64_t stored_kv_heads() const;
  // dR: rotary dims of gta's shared key head (the last dR dims of q and k).
  int64_t gta_rope_dims() const;
  // Rotary dims of q and k: all of head_dim, or dR for gta; 0 with learned positions.
  int64_t rotary_dims() const;
  RopeSpec rope() const { return {rope_theta, rope_scaling}; }
  bool qkv_bias() const { return linear_bias != LinearBias::None; }
  bool other_bias() const { return linear_bias == LinearBias::All; }
  bool layer_has_modules(int64_t layer) const;
  bool has_module(int64_t layer, ModuleKind kind) const;
  bool is_bypassed(int64_t layer, ModuleKind kind) const;
  // Bytes of KV cache stored per token over all layers (float32).
  int64_t kv_cache_bytes_per_token() const;

  // Throws InputError naming the field, e.g. "n_heads (6) is not a multiple of n_kv_heads (4)".
  void validate() const;
  static ModelConfig from_json(const nlohmann::json& json);  // validates
  nlohmann::json to_json() const;
};

std::string bypass_entry(ModuleKind kind, int64_t layer);

}  // namespace headlab::model
