#include "model/model_config.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "common/errors.h"
#include "common/json_fields.h"
#include "data/utf8.h"

namespace headlab::model {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& message) { throw InputError("model config: " + message); }

// Every message of this file starts with "model config: ".
FieldReader reader(const json& object, const std::string& path) { return FieldReader(object, path, "model config: "); }

AttentionLayout parse_layout(const std::string& s) {
  if (s == "mha") return AttentionLayout::Mha;
  if (s == "gqa") return AttentionLayout::Gqa;
  if (s == "mqa") return AttentionLayout::Mqa;
  if (s == "gta") return AttentionLayout::Gta;
  fail("attention must be one of mha, gqa, mqa, gta; got '" + s + "'");
}

KhaMode parse_kha_mode(const std::string& field, const std::string& s, bool allow_mlp) {
  if (s == "none") return KhaMode::None;
  if (s == "linear") return KhaMode::Linear;
  if (s == "mlp" && allow_mlp) return KhaMode::Mlp;
  fail(field + " must be " + std::string(allow_mlp ? "none, linear or mlp" : "none or linear") + "; got '" + s + "'");
}

// The chars tokenizer's alphabet, checked as the tokenizer itself checks it (valid UTF-8, no
// character twice), so that a config every command accepts is one every command can use: a
// duplicate used to pass here (inspect, logits) and fail later (sample, train).
int64_t checked_alphabet_size(const std::string& alphabet) {
  const std::u32string cps = data::decode_utf8(alphabet, "tokenizer.alphabet");
  std::set<char32_t> seen;
  for (char32_t cp : cps)
    if (!seen.insert(cp).second) fail("tokenizer.alphabet repeats " + data::code_point_name(cp));
  return static_cast<int64_t>(cps.size());
}

// One option of §7: its spellings, the default first.
template <typename E>
E parse_choice(const std::string& field, const std::string& value, std::initializer_list<std::pair<const char*, E>> choices) {
  std::string names;
  for (const auto& [name, e] : choices) {
    if (value == name) return e;
    names += (names.empty() ? "" : ", ") + std::string(name);
  }
  fail(field + " must be one of " + names + "; got '" + value + "'");
}

const char* name_of(LinearBias b) { return b == LinearBias::None ? "none" : b == LinearBias::Qkv ? "qkv" : "all"; }
const char* name_of(NormKind n) { return n == NormKind::Rms ? "rms" : "layer"; }
const char* name_of(MlpKind m) { return m == MlpKind::SwiGlu ? "swiglu" : "gelu"; }
const char* name_of(PositionKind p) { return p == PositionKind::Rope ? "rope" : "learned"; }

}  // namespace

std::vector<double> rope_frequencies(const RopeSpec& rope, int64_t rotary_dims) {
  const int64_t half = rotary_dims / 2;
  std::vector<double> freq(static_cast<size_t>(std::max<int64_t>(half, 0)));
  const auto& s = rope.scaling;
  for (int64_t j = 0; j < half; ++j) {
    double f = std::pow(rope.theta, -2.0 * static_cast<double>(j) / static_cast<double>(rotary_dims));
    if (s.enabled()) {
      // Llama 3 (MODEL.md §7): long wavelengths slow down by `factor`, short ones stay, and
      // the band between blends the two.
      const double wl = 2 * 3.14159265358979323846 / f, omax = s.original_max_position_embeddings;
      const double lo = omax / s.low_freq_factor, hi = omax / s.high_freq_factor;
      if (wl > lo) {
        f = f / s.factor;
      } else if (!(wl < hi)) {
        const double t = (omax / wl - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
        f = (1 - t) * f / s.factor + t * f;
      }
    }
    freq[static_cast<size_t>(j)] = f;
  }
  return freq;
}

std::string to_string(AttentionLayout layout) {
  switch (layout) {
    case AttentionLayout::Mha: return "mha";
    case AttentionLayout::Gqa: return "gqa";
    case AttentionLayout::Mqa: return "mqa";
    case AttentionLayout::Gta: return "gta";
  }
  return "?";
}

std::string to_string(KhaMode mode) {
  switch (mode) {
    case KhaMode::None: return "none";
    case KhaMode::Linear: return "linear";
    case KhaMode::Mlp: return "mlp";
  }
  return "?";
}

std::string bypass_entry(ModuleKind kind, int64_t layer) { return to_string(kind) + "@" + std::to_string(layer); }

int64_t ModelConfig::kv_heads() const {
  switch (attention) {
    case AttentionLayout::Mha: return n_heads;
    case AttentionLayout::Mqa: return 1;
    default: return n_kv_heads;
  }
}

int64_t ModelConfig::stored_kv_heads() const {
  return interaction.mea.enabled && interaction.mea.virtual_kv_heads > 0 ? interaction.mea.virtual_kv_heads
                                                                          : kv_heads();
}

int64_t ModelConfig::gta_rope_dims() const { return rope_dim > 0 ? rope_dim : head_dim / 2; }

int64_t ModelConfig::rotary_dims() const {
  if (positions == PositionKind::Learned) return 0;
  return attention == AttentionLayout::Gta ? gta_rope_dims() : head_dim;
}

bool ModelConfig::layer_has_modules(int64_t layer) const {
  return std::binary_search(interaction.layers.begin(), interaction.layers.end(), layer);
}

bool ModelConfig::has_module(int64_t layer, ModuleKind kind) const {
  if (!layer_has_modules(layer)) return false;
  switch (kind) {
    case ModuleKind::Kha: return interaction.kha.enabled();
    case ModuleKind::Mea: return interaction.mea.enabled;
    case ModuleKind::TalkingHeads: return interaction.talking_heads;
  }
  return false;
}

bool ModelConfig::is_bypassed(int64_t layer, ModuleKind kind) const {
  const auto entry = bypass_entry(kind, layer);
  return std::find(interaction.bypassed.begin(), interaction.bypassed.end(), entry) != interaction.bypassed.end();
}

int64_t ModelConfig::kv_cache_bytes_per_token() const {
  const int64_t per_layer = attention == AttentionLayout::Gta ? kv_heads() * head_dim + gta_rope_dims()
                                                               : 2 * stored_kv_heads() * head_dim;
  return per_layer * n_layers * static_cast<int64_t>(sizeof(float));
}

void ModelConfig::validate() const {
  auto positive = [](const char* field, int64_t v) {
    if (v <= 0) fail(std::string(field) + " (" + std::to_string(v) + ") must be positive");
  };
  if (format != "headlab-model/1") fail("unknown format '" + format + "' (expected headlab-model/1)");
  positive("vocab_size", vocab_size);
  positive("d_model", d_model);
  positive("n_layers", n_layers);
  positive("n_heads", n_heads);
  positive("n_kv_heads", n_kv_heads);
  positive("head_dim", head_dim);
  positive("d_ff", d_ff);
  positive("max_seq_len", max_seq_len);
  // Positions are int64 but far beyond 16M tokens the number is a typo, not a context.
  if (max_seq_len > (int64_t{1} << 24))
    fail("max_seq_len (" + std::to_string(max_seq_len) + ") is more than 16777216 positions");
  const int64_t G = kv_heads();
  if (n_heads % G != 0)
    fail("n_heads (" + std::to_string(n_heads) + ") is not a multiple of n_kv_heads (" + std::to_string(G) + ")");
  if (!(rope_theta > 0)) fail("rope_theta (" + std::to_string(rope_theta) + ") must be positive");
  if (!(norm_eps > 0)) fail("norm_eps must be positive");
  if (attention == AttentionLayout::Gta) {
    const int64_t dR = gta_rope_dims();
    if (dR % 2 != 0) fail("rope_dim (" + std::to_string(dR) + ") must be even");
    if (dR > head_dim || dR <= 0)
      fail("rope_dim (" + std::to_string(dR) + ") must be in (0, head_dim (" + std::to_string(head_dim) + ")]");
    if (positions == PositionKind::Learned) fail("attention gta needs rotary positions (positions \"rope\")");
    if (linear_bias != LinearBias::None) fail("linear_bias is not supported with attention gta");
  } else if (head_dim % 2 != 0 && positions == PositionKind::Rope) {
    fail("head_dim (" + std::to_string(head_dim) + ") must be even for rotary embeddings");
  }
  if (rope_scaling.enabled()) {
    const auto& s = rope_scaling;
    if (positions == PositionKind::Learned) fail("rope_scaling needs rotary positions (positions \"rope\")");
    if (!(s.low_freq_factor > 0) || !(s.high_freq_factor > s.low_freq_factor))
      fail("rope_scaling: high_freq_factor (" + std::to_string(s.high_freq_factor) +
           ") must exceed low_freq_factor (" + std::to_string(s.low_freq_factor) + ") > 0");
    if (!(s.original_max_position_embeddings > 0)) fail("rope_scaling.original_max_position_embeddings must be positive");
  }
  for (size_t i = 0; i < interaction.layers.size(); ++i) {
    const int64_t l = interaction.layers[i];
    if (l < 0 || l >= n_layers)
      fail("interaction.layers entry " + std::to_string(l) + " is outside [0, n_layers (" + std::to_string(n_layers) + "))");
    if (i > 0 && interaction.layers[i - 1] >= l) fail("interaction.layers must be sorted and unique");
  }
  if (interaction.kha.q == KhaMode::Mlp || interaction.kha.k == KhaMode::Mlp)
    fail("interaction.kha: the mlp mode exists for v only");
  const auto& mea = interaction.mea;
  if (mea.virtual_kv_heads < 0) fail("interaction.mea.virtual_kv_heads must be >= 0");
  if (mea.virtual_kv_heads > 0) {
    if (!mea.enabled) fail("interaction.mea.virtual_kv_heads needs mea.enabled");
    if (attention == AttentionLayout::Gta) fail("interaction.mea.virtual_kv_heads is not supported with attention gta");
    if (mea.virtual_kv_heads > G)
      fail("interaction.mea.virtual_kv_heads (" + std::to_string(mea.virtual_kv_heads) + ") exceeds the " +
           std::to_string(G) + " kv heads");
    if (static_cast<int64_t>(interaction.layers.size()) != n_layers)
      fail("interaction.mea.virtual_kv_heads needs MEA in every layer (interaction.layers must list all layers)");
  }
  for (const auto& entry : interaction.bypassed) {
    const auto at = entry.find('@');
    if (at == std::string::npos) fail("interaction.bypassed entry '" + entry + "' must look like 'kha@2'");
    ModuleKind kind;
    try {
      kind = module_kind_from_string(entry.substr(0, at));
    } catch (const InputError&) {
      fail("interaction.bypassed entry '" + entry + "' names an unknown module");
    }
    int64_t layer = -1;
    try {
      size_t used = 0;
      layer = std::stoll(entry.substr(at + 1), &used);
      if (used != entry.size() - at - 1) layer = -1;
    } catch (const std::exception&) {
    }
    if (layer < 0 || !has_module(layer, kind))
      fail("interaction.bypassed entry '" + entry + "' names a module that the model does not have");
    // The layers look entries up by their canonical spelling: another one ("talking@1",
    // "kha@01") would pass here and bypass nothing.
    if (entry != bypass_entry(kind, layer))
      fail("interaction.bypassed entry '" + entry + "' must be written '" + bypass_entry(kind, layer) + "'");
  }
  if (!tokenizer.is_null()) {
    if (!tokenizer.is_object() || !tokenizer.contains("type") || !tokenizer["type"].is_string())
      fail("tokenizer.type must be a string (bytes or chars)");
    const std::string type = tokenizer["type"].get<std::string>();
    if (type == "hf" || type == "sentencepiece") {
      // The file lives beside config.json: a plain name, so a config cannot point elsewhere.
      if (!tokenizer.contains("file") || !tokenizer["file"].is_string()) fail("tokenizer.file must be a string for the " + type + " tokenizer");
      const std::string file = tokenizer["file"].get<std::string>();
      if (file.empty() || file == "." || file == ".." || file.find('/') != std::string::npos || file.find('\\') != std::string::npos)
        fail("tokenizer.file ('" + file + "') must be a file name in the model directory");
    } else if (type == "bytes") {
      if (vocab_size != 256) fail("vocab_size (" + std::to_string(vocab_size) + ") must be 256 for the bytes tokenizer");
    } else if (type == "chars") {
      if (!tokenizer.contains("alphabet") || !tokenizer["alphabet"].is_string())
        fail("tokenizer.alphabet must be a string for the chars tokenizer");
      const int64_t n = checked_alphabet_size(tokenizer["alphabet"].get<std::string>());
      if (n != vocab_size)
        fail("vocab_size (" + std::to_string(vocab_size) + ") does not match the " + std::to_string(n) +
             " characters of tokenizer.alphabet");
    } else {
      fail("tokenizer.type must be bytes, chars, hf or sentencepiece; got '" + type + "'");
    }
  }
}

ModelConfig ModelConfig::from_json(const json& j) {
  ModelConfig c;
  FieldReader r = reader(j, "");
  c.format = r.string("format", "", true);
  if (c.format != "headlab-model/1") fail("unknown format '" + c.format + "' (expected headlab-model/1)");
  c.vocab_size = r.integer("vocab_size", 0, true);
  c.d_model = r.integer("d_model", 0, true);
  c.n_layers = r.integer("n_layers", 0, true);
  c.n_heads = r.integer("n_heads", 0, true);
  c.attention = parse_layout(r.string("attention", "gqa"));
  c.n_kv_heads = r.integer("n_kv_heads", c.n_heads);
  // The aliases fix G; a stored n_kv_heads that disagrees is normalized on write.
  if (c.attention == AttentionLayout::Mha) c.n_kv_heads = c.n_heads;
  if (c.attention == AttentionLayout::Mqa) c.n_kv_heads = 1;
  c.head_dim = r.integer("head_dim", c.n_heads > 0 ? c.d_model / c.n_heads : 0);
  c.d_ff = r.integer("d_ff", 0, true);
  c.rope_dim = r.integer("rope_dim", 0);
  if (c.rope_dim < 0) r.fail("rope_dim (" + std::to_string(c.rope_dim) + ") must be >= 0 (0: head_dim / 2)");
  c.rope_theta = r.number("rope_theta", 10000.0);
  c.max_seq_len = r.integer("max_seq_len", 256);
  c.qk_norm = r.boolean("qk_norm", false);
  c.norm_eps = r.number("norm_eps", 1e-6);
  c.tie_embeddings = r.boolean("tie_embeddings", false);
  c.linear_bias = parse_choice<LinearBias>("linear_bias", r.string("linear_bias", "none"),
                                           {{"none", LinearBias::None}, {"qkv", LinearBias::Qkv}, {"all", LinearBias::All}});
  c.norm = parse_choice<NormKind>("norm", r.string("norm", "rms"), {{"rms", NormKind::Rms}, {"layer", NormKind::Layer}});
  c.mlp = parse_choice<MlpKind>("mlp", r.string("mlp", "swiglu"), {{"swiglu", MlpKind::SwiGlu}, {"gelu", MlpKind::Gelu}});
  c.positions = parse_choice<PositionKind>("positions", r.string("positions", "rope"),
                                           {{"rope", PositionKind::Rope}, {"learned", PositionKind::Learned}});
  if (r.has("rope_scaling")) {
    FieldReader sr = reader(r.raw("rope_scaling"), "rope_scaling");
    const std::string type = sr.string("type", "", true);
    if (type != "llama3") fail("rope_scaling.type must be llama3; got '" + type + "'");
    c.rope_scaling.factor = sr.number("factor", 0);
    if (!(c.rope_scaling.factor > 0)) fail("rope_scaling.factor must be positive");
    c.rope_scaling.low_freq_factor = sr.number("low_freq_factor", 1);
    c.rope_scaling.high_freq_factor = sr.number("high_freq_factor", 4);
    c.rope_scaling.original_max_position_embeddings = sr.number("original_max_position_embeddings", 8192);
    sr.reject_unknown_keys();
  }
  if (r.has("tokenizer")) {
    c.tokenizer = r.raw("tokenizer");
    if (!c.tokenizer.is_object()) fail("tokenizer must be an object");
  }
  if (r.has("interaction")) {
    FieldReader ir = reader(r.raw("interaction"), "interaction");
    if (ir.has("layers")) {
      const json& layers = ir.raw("layers");
      if (!layers.is_array()) fail("interaction.layers must be an array of layer indices");
      for (const auto& l : layers) {
        if (!l.is_number_integer()) fail("interaction.layers entries must be integers, got " + l.dump());
        c.interaction.layers.push_back(l.get<int64_t>());
      }
      std::sort(c.interaction.layers.begin(), c.interaction.layers.end());
    } else {
      for (int64_t i = 0; i < c.n_layers; ++i) c.interaction.layers.push_back(i);
    }
    if (ir.has("kha")) {
      FieldReader kr = reader(ir.raw("kha"), "interaction.kha");
      c.interaction.kha.q = parse_kha_mode("interaction.kha.q", kr.string("q", "none"), false);
      c.interaction.kha.k = parse_kha_mode("interaction.kha.k", kr.string("k", "none"), false);
      c.interaction.kha.v = parse_kha_mode("interaction.kha.v", kr.string("v", "none"), true);
      kr.reject_unknown_keys();
    }
    if (ir.has("mea")) {
      FieldReader mr = reader(ir.raw("mea"), "interaction.mea");
      c.interaction.mea.enabled = mr.boolean("enabled", true);
      c.interaction.mea.group_norm = mr.boolean("group_norm", true);
      c.interaction.mea.virtual_kv_heads = mr.integer("virtual_kv_heads", 0);
      mr.reject_unknown_keys();
    }
    if (ir.has("talking_heads")) {
      FieldReader tr = reader(ir.raw("talking_heads"), "interaction.talking_heads");
      c.interaction.talking_heads = tr.boolean("enabled", true);
      tr.reject_unknown_keys();
    }
    if (ir.has("bypassed")) {
      const json& b = ir.raw("bypassed");
      if (!b.is_array()) fail("interaction.bypassed must be an array of strings like \"kha@2\"");
      for (const auto& e : b) {
        if (!e.is_string()) fail("interaction.bypassed entries must be strings, got " + e.dump());
        c.interaction.bypassed.push_back(e.get<std::string>());
      }
    }
    ir.reject_unknown_keys();
  }
  r.reject_unknown_keys();
  c.validate();
  return c;
}

json ModelConfig::to_json() const {
  json j = json::object();
  j["format"] = format;
  j["vocab_size"] = vocab_size;
  j["d_model"] = d_model;
  j["n_layers"] = n_layers;
  j["n_heads"] = n_heads;
  j["n_kv_heads"] = kv_heads();
  j["head_dim"] = head_dim;
  j["d_ff"] = d_ff;
  j["attention"] = to_string(attention);
  j["rope_dim"] = attention == AttentionLayout::Gta ? gta_rope_dims() : rope_dim;
  j["rope_theta"] = rope_theta;
  j["max_seq_len"] = max_seq_len;
  j["qk_norm"] = qk_norm;
  j["norm_eps"] = norm_eps;
  j["tie_embeddings"] = tie_embeddings;
  // §7's options only when they differ from §1-§2: v1 configs are written as before.
  if (linear_bias != LinearBias::None) j["linear_bias"] = name_of(linear_bias);
  if (norm != NormKind::Rms) j["norm"] = name_of(norm);
  if (mlp != MlpKind::SwiGlu) j["mlp"] = name_of(mlp);
  if (positions != PositionKind::Rope) j["positions"] = name_of(positions);
  if (rope_scaling.enabled())
    j["rope_scaling"] = {{"type", "llama3"},
                         {"factor", rope_scaling.factor},
                         {"low_freq_factor", rope_scaling.low_freq_factor},
                         {"high_freq_factor", rope_scaling.high_freq_factor},
                         {"original_max_position_embeddings", rope_scaling.original_max_position_embeddings}};
  json inter = json::object();
  inter["layers"] = interaction.layers;
  if (interaction.kha.enabled())
    inter["kha"] = {{"q", to_string(interaction.kha.q)}, {"k", to_string(interaction.kha.k)}, {"v", to_string(interaction.kha.v)}};
  if (interaction.mea.enabled)
    inter["mea"] = {{"enabled", true}, {"group_norm", interaction.mea.group_norm},
                    {"virtual_kv_heads", interaction.mea.virtual_kv_heads}};
  inter["talking_heads"] = {{"enabled", interaction.talking_heads}};
  inter["bypassed"] = interaction.bypassed;
  j["interaction"] = inter;
  if (!tokenizer.is_null()) j["tokenizer"] = tokenizer;
  return j;
}

}  // namespace headlab::model
