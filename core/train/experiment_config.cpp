#include "train/experiment_config.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "common/errors.h"
#include "common/json_fields.h"
#include "common/json_file.h"

#ifndef HEADLAB_PRESETS_SOURCE_DIR
#define HEADLAB_PRESETS_SOURCE_DIR ""
#endif
#ifndef HEADLAB_PRESETS_INSTALL_DIR
#define HEADLAB_PRESETS_INSTALL_DIR "/usr/share/headlab/presets"
#endif

namespace headlab::train {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

TrainSettings parse_train(const json& j) {
  TrainSettings t;
  FieldReader r(j, "train");
  t.steps = r.integer("steps", t.steps);
  t.batch_size = r.integer("batch_size", t.batch_size);
  t.seq_len = r.integer("seq_len", t.seq_len);
  t.grad_accum = r.integer("grad_accum", t.grad_accum);
  t.lr = r.number("lr", t.lr);
  // The default warmup (50 steps) is cut to a shorter run's length; a warmup set longer than
  // the run is refused below.
  t.warmup_steps = r.integer("warmup_steps", std::min(t.warmup_steps, std::max<int64_t>(t.steps, 0)));
  t.min_lr_fraction = r.number("min_lr_fraction", t.min_lr_fraction);
  t.weight_decay = r.number("weight_decay", t.weight_decay);
  t.beta1 = r.number("beta1", t.beta1);
  t.beta2 = r.number("beta2", t.beta2);
  t.adam_eps = r.number("adam_eps", t.adam_eps);
  t.grad_clip = r.number("grad_clip", t.grad_clip);
  if (r.has("module_lr_multiplier")) {
    FieldReader m(r.raw("module_lr_multiplier"), "train.module_lr_multiplier");
    for (auto& [name, value] : t.module_lr_multiplier) {
      value = m.number(name, value);
      if (value < 0) m.fail("train.module_lr_multiplier." + name + " must be >= 0");
    }
    m.reject_unknown_keys();
  }
  t.log_every = r.integer("log_every", t.log_every);
  t.eval_every = r.integer("eval_every", t.eval_every);
  t.eval_batches = r.integer("eval_batches", t.eval_batches);
  t.checkpoint_every = r.integer("checkpoint_every", t.checkpoint_every);
  t.keep_checkpoints = r.integer("keep_checkpoints", t.keep_checkpoints);
  t.seed = static_cast<uint64_t>(r.integer("seed", static_cast<int64_t>(t.seed)));
  t.device = r.string("device", t.device);
  t.bf16 = r.boolean("bf16", t.bf16);
  t.cpu_shards = r.integer("cpu_shards", t.cpu_shards);
  t.spike_threshold = r.number("spike_threshold", t.spike_threshold);
  t.spike_window = r.integer("spike_window", t.spike_window);
  // Written by versions whose detector compared with a running mean; run directories made
  // by them still resume. Its meaning does not carry over to the median detector.
  if (r.has("spike_factor")) r.number("spike_factor", 0.0);
  t.max_bad_steps = r.integer("max_bad_steps", t.max_bad_steps);
  r.reject_unknown_keys();

  auto positive = [&](const char* field, json v) {
    if (!(v.get<double>() > 0)) r.fail("train." + std::string(field) + " (" + v.dump() + ") must be positive");
  };
  positive("steps", t.steps);
  positive("batch_size", t.batch_size);
  positive("seq_len", t.seq_len);
  positive("grad_accum", t.grad_accum);
  positive("lr", t.lr);
  positive("adam_eps", t.adam_eps);
  positive("eval_batches", t.eval_batches);
  positive("log_every", t.log_every);
  positive("keep_checkpoints", t.keep_checkpoints);
  positive("spike_threshold", t.spike_threshold);
  if (t.spike_window < 4) r.fail("train.spike_window (" + std::to_string(t.spike_window) + ") must be at least 4");
  positive("max_bad_steps", t.max_bad_steps);
  if (t.warmup_steps < 0) r.fail("train.warmup_steps must be >= 0");
  if (t.min_lr_fraction < 0 || t.min_lr_fraction > 1) r.fail("train.min_lr_fraction must be in [0, 1]");
  if (t.weight_decay < 0) r.fail("train.weight_decay must be >= 0");
  if (t.beta1 < 0 || t.beta1 >= 1 || t.beta2 < 0 || t.beta2 >= 1) r.fail("train.beta1 and train.beta2 must be in [0, 1)");
  if (t.grad_clip < 0) r.fail("train.grad_clip must be >= 0 (0 disables clipping)");
  if (t.eval_every < 0 || t.checkpoint_every < 0) r.fail("train.eval_every and train.checkpoint_every must be >= 0");
  if (t.cpu_shards < 0) r.fail("train.cpu_shards must be >= 0 (0: one per CPU thread)");
  if (t.device != "cpu" && t.device != "cuda" && t.device != "auto")
    r.fail("train.device must be cpu, cuda or auto; got '" + t.device + "'");
  return t;
}

ProbeSettings parse_probe(const json& j) {
  ProbeSettings p;
  FieldReader r(j, "probe");
  p.every = r.integer("every", p.every);
  p.text = r.string("text", p.text);
  p.budget_fraction = r.number("budget_fraction", p.budget_fraction);
  r.reject_unknown_keys();
  if (p.every < 0) r.fail("probe.every must be >= 0");
  if (!(p.budget_fraction > 0 && p.budget_fraction <= 1)) r.fail("probe.budget_fraction must be in (0, 1]");
  return p;
}

}  // namespace

std::string warmup_note(const TrainSettings& t) {
  if (t.warmup_steps <= t.steps) return "";
  char peak[32];
  std::snprintf(peak, sizeof peak, "%.0f%%", 100.0 * static_cast<double>(t.steps) / static_cast<double>(t.warmup_steps));
  return "train.warmup_steps (" + std::to_string(t.warmup_steps) + ") exceeds train.steps (" + std::to_string(t.steps) +
         "): the learning rate peaks at " + peak + " of train.lr";
}

ScheduleAction parse_schedule_action(const json& j, const std::string& where) {
  ScheduleAction a;
  FieldReader r(j, where);
  a.step = r.integer("step", 0, true);
  const std::string action = r.string("action", "", true);
  if (a.step < 0) r.fail(where + ".step must be >= 0");
  if (action == "set_lr") {
    if (!r.has("value")) r.fail("missing required field '" + where + ".value'");
    a.value = r.number("value", 0);
    if (!(a.value > 0)) r.fail(where + ".value (" + json(a.value).dump() + ") must be a positive learning rate");
  } else {
    model::ModuleActionRequest m;
    try {
      m.action = model::module_action_from_string(action);
    } catch (const InputError&) {
      r.fail(where + ".action '" + action + "' is not one of insert, bypass, activate, freeze, fold, set_lr");
    }
    const std::string module = r.string("module", "", true);
    try {
      m.module = model::module_kind_from_string(module);
    } catch (const InputError&) {
      r.fail(where + ".module '" + module + "' is not one of kha, mea, talking_heads");
    }
    if (r.has("layers")) {
      const auto& layers = r.raw("layers");
      if (!layers.is_array()) r.fail(where + ".layers must be an array of layer indices");
      for (const auto& l : layers) {
        if (!l.is_number_integer() || l.get<int64_t>() < 0) r.fail(where + ".layers entries must be layer indices");
        m.layers.push_back(l.get<int64_t>());
      }
    }
    if (m.action == model::ModuleAction::Insert && r.has("kha")) {
      // Upcycling a pretrained model wants KHA whose every part folds: {"v": "linear"}.
      FieldReader kr(r.raw("kha"), where + ".kha");
      auto mode = [&](const char* key, model::KhaMode fallback, bool allow_mlp) {
        const std::string s = kr.string(key, fallback == model::KhaMode::None ? "none" : fallback == model::KhaMode::Linear ? "linear" : "mlp");
        if (s == "none") return model::KhaMode::None;
        if (s == "linear") return model::KhaMode::Linear;
        if (s == "mlp" && allow_mlp) return model::KhaMode::Mlp;
        kr.fail(where + ".kha." + key + " must be " + (allow_mlp ? "none, linear or mlp" : "none or linear") + "; got '" + s + "'");
      };
      m.insert_kha = {mode("q", model::KhaMode::Linear, false), mode("k", model::KhaMode::Linear, false), mode("v", model::KhaMode::Mlp, true)};
      kr.reject_unknown_keys();
    }
    if (m.action == model::ModuleAction::Insert && r.has("group_norm")) m.insert_mea_group_norm = r.boolean("group_norm", true);
    a.module = std::move(m);
  }
  r.reject_unknown_keys();
  return a;
}

json ScheduleAction::to_json() const {
  if (is_set_lr()) return {{"step", step}, {"action", "set_lr"}, {"value", value}};
  json j = {{"step", step}, {"action", model::to_string(module->action)}, {"module", model::to_string(module->module)}};
  if (!module->layers.empty()) j["layers"] = module->layers;
  if (module->action == model::ModuleAction::Insert) {
    const model::KhaConfig defaults = model::ModuleActionRequest{}.insert_kha;
    const auto& k = module->insert_kha;
    if (k.q != defaults.q || k.k != defaults.k || k.v != defaults.v)
      j["kha"] = {{"q", model::to_string(k.q)}, {"k", model::to_string(k.k)}, {"v", model::to_string(k.v)}};
    if (!module->insert_mea_group_norm) j["group_norm"] = false;
  }
  return j;
}

std::string ScheduleAction::describe() const {
  return is_set_lr() ? "set lr to " + json(value).dump() : module->describe();
}

ExperimentConfig ExperimentConfig::from_json(const json& j) {
  ExperimentConfig c;
  FieldReader r(j, "");
  if (r.has("init_from")) {
    c.init_from = r.string("init_from", "");
    if (c.init_from.empty()) r.fail("init_from must name a model directory");
    if (r.has("model"))
      r.fail("give either model or init_from: a run started from a model takes that model's config");
    c.model = json::object();
  } else {
    if (!r.has("model")) r.fail("missing required field 'model'");
    c.model = r.raw("model");
    if (!c.model.is_object()) r.fail("model must be a JSON object");
  }
  if (r.has("initialized_from")) c.initialized_from = r.string("initialized_from", "");
  if (!r.has("data")) r.fail("missing required field 'data'");
  c.data = r.raw("data");
  if (!c.data.is_object()) r.fail("data must be a JSON object");
  c.train = r.has("train") ? parse_train(r.raw("train")) : parse_train(json::object());
  c.probe = r.has("probe") ? parse_probe(r.raw("probe")) : ProbeSettings{};
  if (r.has("schedule")) {
    const auto& s = r.raw("schedule");
    if (!s.is_array()) r.fail("schedule must be an array of actions");
    for (size_t i = 0; i < s.size(); ++i) c.schedule.push_back(parse_schedule_action(s[i], "schedule[" + std::to_string(i) + "]"));
    std::stable_sort(c.schedule.begin(), c.schedule.end(), [](const auto& a, const auto& b) { return a.step < b.step; });
  }
  if (r.has("description")) c.description = r.string("description", "");
  r.reject_unknown_keys();
  const auto max_field = c.model.find("max_seq_len");
  if (max_field != c.model.end() && !max_field->is_number_integer())
    r.fail("model.max_seq_len must be an integer, got " + max_field->dump());
  const int64_t max_seq = max_field != c.model.end() ? max_field->get<int64_t>() : 256;
  // With init_from the model's max_seq_len is known once it is read (the trainer checks it).
  if (c.init_from.empty() && c.train.seq_len > max_seq)
    r.fail("train.seq_len (" + std::to_string(c.train.seq_len) + ") exceeds model.max_seq_len (" + std::to_string(max_seq) + ")");
  return c;
}

json ExperimentConfig::to_json() const {
  json j;
  if (!description.empty()) j["description"] = description;
  if (!init_from.empty()) j["init_from"] = init_from;
  else j["model"] = model;
  if (!initialized_from.empty()) j["initialized_from"] = initialized_from;
  j["data"] = data;
  const auto& t = train;
  j["train"] = {{"steps", t.steps}, {"batch_size", t.batch_size}, {"seq_len", t.seq_len}, {"grad_accum", t.grad_accum},
                {"lr", t.lr}, {"warmup_steps", t.warmup_steps}, {"min_lr_fraction", t.min_lr_fraction},
                {"weight_decay", t.weight_decay}, {"beta1", t.beta1}, {"beta2", t.beta2}, {"adam_eps", t.adam_eps},
                {"grad_clip", t.grad_clip}, {"module_lr_multiplier", t.module_lr_multiplier},
                {"log_every", t.log_every}, {"eval_every", t.eval_every}, {"eval_batches", t.eval_batches},
                {"checkpoint_every", t.checkpoint_every}, {"keep_checkpoints", t.keep_checkpoints},
                {"seed", t.seed}, {"device", t.device}, {"bf16", t.bf16}, {"cpu_shards", t.cpu_shards}, {"spike_threshold", t.spike_threshold},
                {"spike_window", t.spike_window}, {"max_bad_steps", t.max_bad_steps}};
  j["probe"] = {{"every", probe.every}, {"text", probe.text}, {"budget_fraction", probe.budget_fraction}};
  j["schedule"] = json::array();
  for (const auto& a : schedule) j["schedule"].push_back(a.to_json());
  return j;
}

void check_schedule(const std::vector<ScheduleAction>& schedule, const model::ModelConfig& mc, int64_t steps) {
  using model::ModuleState;
  // The states the model starts in, then each action's effect in order.
  std::vector<std::map<model::ModuleKind, ModuleState>> states(static_cast<size_t>(mc.n_layers));
  for (int64_t l = 0; l < mc.n_layers; ++l)
    for (auto kind : model::kAllModuleKinds)
      states[l][kind] = !mc.has_module(l, kind) ? ModuleState::Absent
                        : mc.is_bypassed(l, kind) ? ModuleState::Bypassed
                                                  : ModuleState::Active;
  for (size_t i = 0; i < schedule.size(); ++i) {
    const auto& a = schedule[i];
    const std::string where = "schedule[" + std::to_string(i) + "] (" + a.describe() + ")";
    if (a.step >= steps)
      throw InputError(where + ": step " + std::to_string(a.step) + " is never reached (train.steps is " +
                       std::to_string(steps) + ")");
    if (a.is_set_lr()) continue;
    const auto& m = *a.module;
    std::vector<int64_t> layers;
    for (int64_t l : m.layers) {
      if (l >= mc.n_layers)
        throw InputError(where + ": layer " + std::to_string(l) + " does not exist (the model has " +
                         std::to_string(mc.n_layers) + ")");
      if (!model::action_allowed(m.action, m.module, states[l][m.module]))
        throw InputError(where + ": " + model::to_string(m.module) + " in layer " + std::to_string(l) + " is " +
                         model::to_string(states[l][m.module]) + " then, which does not allow " +
                         model::to_string(m.action));
      layers.push_back(l);
    }
    if (m.layers.empty()) {
      for (int64_t l = 0; l < mc.n_layers; ++l)
        if (model::action_allowed(m.action, m.module, states[l][m.module])) layers.push_back(l);
      if (layers.empty())
        throw InputError(where + ": no layer has " + model::to_string(m.module) + " in a state that allows " +
                         model::to_string(m.action) + " then");
    }
    for (int64_t l : layers) states[l][m.module] = model::state_after(m.action, states[l][m.module]);
  }
}

model::ModelConfig resolve_model_config(const nlohmann::json& model_json, const data::Tokenizer& tokenizer) {
  nlohmann::json j = model_json;
  if (!j.contains("format")) j["format"] = "headlab-model/1";
  const int64_t data_vocab = tokenizer.vocab_size();
  // A pretrained model's embedding often has more rows than its tokenizer has tokens (padded
  // to a multiple of 64 or 128): the rows past the tokenizer are never read, and stay.
  const auto tokenizer_json = tokenizer.to_json();
  const bool padded_ok = tokenizer_json.is_object() && tokenizer_json.contains("file");
  if (j.contains("vocab_size") && j["vocab_size"].is_number_integer()) {
    const int64_t model_vocab = j["vocab_size"].get<int64_t>();
    if (model_vocab != data_vocab && !(padded_ok && model_vocab > data_vocab))
      throw InputError("model.vocab_size (" + j["vocab_size"].dump() + ") does not match the data's tokenizer (" +
                       std::to_string(data_vocab) + " tokens); leave it out to take it from the data");
  } else {
    j["vocab_size"] = data_vocab;
  }
  if (!j.contains("tokenizer")) j["tokenizer"] = tokenizer.to_json();
  return model::ModelConfig::from_json(j);
}

fs::path presets_dir() {
  if (const char* env = std::getenv("HEADLAB_PRESETS_DIR"); env && *env) return env;
  const fs::path source = HEADLAB_PRESETS_SOURCE_DIR;
  if (!source.empty() && fs::is_directory(source)) return source;
  return HEADLAB_PRESETS_INSTALL_DIR;
}

std::vector<std::pair<std::string, std::string>> list_presets() {
  std::vector<std::pair<std::string, std::string>> out;
  const fs::path dir = presets_dir();
  if (!fs::is_directory(dir)) return out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    std::string description;
    try {
      description = read_json_file(entry.path()).value("description", "");
    } catch (const InputError& e) {
      description = std::string("(unreadable: ") + e.what() + ")";
    }
    out.emplace_back(entry.path().stem().string(), description);
  }
  std::sort(out.begin(), out.end());
  return out;
}

json load_preset(const std::string& name) {
  // A preset is a name, never a path: files go through --config.
  const bool plain_name = !name.empty() && name.find_first_of("/\\") == std::string::npos && name[0] != '.';
  const fs::path path = presets_dir() / (name + ".json");
  if (!plain_name || !fs::exists(path)) {
    std::string known;
    for (const auto& [n, d] : list_presets()) known += (known.empty() ? "" : ", ") + n;
    throw InputError("unknown preset '" + name + "' (available: " + known + "; a config file goes through --config)");
  }
  return read_json_file(path);
}

}  // namespace headlab::train
