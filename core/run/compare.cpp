#include "run/compare.h"

#include <cmath>
#include <memory>
#include <set>
#include <sstream>

#include "common/errors.h"
#include "io/atomic_file.h"
#include "run/run_driver.h"

namespace headlab::run {
namespace fs = std::filesystem;
using nlohmann::json;

Variant builtin_variant(const std::string& name) {
  // Each patch replaces the whole interaction block, so the variants differ only in it.
  auto with = [](json interaction) { return json{{"interaction", std::move(interaction)}}; };
  if (name == "base") return {name, json::object()};
  if (name == "baseline" || name == "mha") return {name, with(nullptr)};
  if (name == "kha-linear") return {name, with({{"kha", {{"q", "linear"}, {"k", "linear"}, {"v", "linear"}}}})};
  if (name == "kha-mlp") return {name, with({{"kha", {{"q", "linear"}, {"k", "linear"}, {"v", "mlp"}}}})};
  if (name == "mea") return {name, with({{"mea", {{"enabled", true}, {"group_norm", true}}}})};
  if (name == "talking-heads") return {name, with({{"talking_heads", {{"enabled", true}}}})};
  throw InputError("unknown variant '" + name + "' (built in: base, baseline, kha-linear, kha-mlp, mea, talking-heads)");
}

std::vector<VariantSummary> run_comparison(const json& base, const std::vector<Variant>& variants,
                                           const fs::path& out_dir, const CompareOptions& options) {
  if (variants.empty()) throw InputError("compare: no variants given");
  std::set<std::string> names;
  for (const auto& v : variants)
    if (!names.insert(v.name).second) throw InputError("compare: variant '" + v.name + "' is given twice");
  if (fs::exists(out_dir / "summary.json")) throw InputError(out_dir.string() + " already holds a comparison");

  // Build every config first: a bad variant must fail before any run directory exists.
  std::vector<train::ExperimentConfig> configs;
  for (const auto& v : variants) {
    json j = base;
    for (auto it = v.model_patch.begin(); it != v.model_patch.end(); ++it) {
      if (it.value().is_null()) j["model"].erase(it.key());
      else j["model"][it.key()] = it.value();
    }
    try {
      configs.push_back(train::ExperimentConfig::from_json(j));
    } catch (const InputError& e) {
      throw InputError("variant '" + v.name + "': " + e.what());
    }
  }
  std::vector<std::unique_ptr<RunDriver>> runs;
  for (size_t i = 0; i < variants.size(); ++i) {
    try {
      runs.push_back(std::make_unique<RunDriver>(configs[i], fs::path()));  // validates data, model, probe
    } catch (const InputError& e) {
      throw InputError("variant '" + variants[i].name + "': " + e.what());
    }
  }
  // Now the files: the runs write into their run directories from here on.
  runs.clear();
  for (size_t i = 0; i < variants.size(); ++i)
    runs.push_back(std::make_unique<RunDriver>(configs[i], out_dir / variants[i].name));

  auto step = [&](size_t i) {
    if (options.cancel && options.cancel->load()) {
      throw CompareCancelled("comparison cancelled at variant '" + variants[i].name + "', step " +
                             std::to_string(runs[i]->step_count()) + "; the partial runs stay in " +
                             out_dir.string());
    }
    runs[i]->step();  // the last step saves the checkpoint and the final model
    if (options.on_progress) options.on_progress(i, runs[i]->step_count(), runs[i]->trainer().config().train.steps);
  };
  auto running = [&](size_t i) { return !runs[i]->finished() && !runs[i]->trainer().paused(); };
  if (options.interleave) {
    for (bool any = true; any;) {
      any = false;
      for (size_t i = 0; i < runs.size(); ++i)
        if (running(i)) {
          step(i);
          any = true;
        }
    }
  } else {
    for (size_t i = 0; i < runs.size(); ++i)
      while (running(i)) step(i);
  }

  std::vector<VariantSummary> out;
  for (size_t i = 0; i < runs.size(); ++i) {
    runs[i]->save_end_of_run();  // a paused run keeps its checkpoint too
    auto& t = runs[i]->trainer();
    VariantSummary s;
    s.name = variants[i].name;
    s.run_dir = (out_dir / variants[i].name).string();
    const auto& metrics = t.metrics();
    s.final_train_loss = metrics.empty() ? std::nan("") : metrics.back().loss;
    s.final_val_loss = std::nan("");
    for (auto it = metrics.rbegin(); it != metrics.rend(); ++it)
      if (it->val_loss) {
        s.final_val_loss = *it->val_loss;
        break;
      }
    for (const auto& e : t.events()) s.spikes += e.kind == EventKind::Spike;
    s.tokens_per_second = t.elapsed_seconds() > 0 ? static_cast<double>(t.tokens_seen()) / t.elapsed_seconds() : 0;
    for (const auto& [name, p] : t.model()->named_tensors()) s.parameters += p.numel();
    const auto& tc = t.config().train;
    s.first_batch_hash = data::batch_hash(t.data().batch(data::Split::Train, 0, tc.batch_size, tc.seq_len));
    out.push_back(s);
  }
  io::write_file_atomic(out_dir / "summary.json", summary_to_json(out).dump(2) + "\n");
  io::write_file_atomic(out_dir / "summary.csv", summary_to_csv(out));
  return out;
}

json summary_to_json(const std::vector<VariantSummary>& summaries) {
  json variants = json::array();
  for (const auto& s : summaries) {
    variants.push_back({{"name", s.name},
                        {"run_dir", s.run_dir},
                        {"final_train_loss", s.final_train_loss},
                        {"final_val_loss", std::isnan(s.final_val_loss) ? json(nullptr) : json(s.final_val_loss)},
                        {"spikes", s.spikes},
                        {"tokens_per_second", s.tokens_per_second},
                        {"parameters", s.parameters},
                        {"first_batch_hash", s.first_batch_hash}});
  }
  return {{"format", "headlab-compare/1"}, {"variants", variants}};
}

std::string summary_to_csv(const std::vector<VariantSummary>& summaries) {
  std::ostringstream out;
  out.precision(17);
  out << "name,final_train_loss,final_val_loss,spikes,tokens_per_second,parameters,first_batch_hash\n";
  for (const auto& s : summaries) {
    out << s.name << "," << s.final_train_loss << ",";
    if (!std::isnan(s.final_val_loss)) out << s.final_val_loss;
    out << "," << s.spikes << "," << s.tokens_per_second << "," << s.parameters << "," << s.first_batch_hash << "\n";
  }
  return out.str();
}

}  // namespace headlab::run
