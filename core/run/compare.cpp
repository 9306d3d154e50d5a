#include "run/compare.h"

#include <cmath>
#include <memory>
#include <set>
#include <sstream>

#include "common/errors.h"
#include "common/json_file.h"
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
  if (name == "mea-no-norm") return {name, with({{"mea", {{"enabled", true}, {"group_norm", false}}}})};
  if (name == "talking-heads") return {name, with({{"talking_heads", {{"enabled", true}}}})};
  throw InputError("unknown variant '" + name +
                   "' (built in: base, baseline, kha-linear, kha-mlp, mea, mea-no-norm, talking-heads)");
}

namespace {

std::string point_suffix(const json& point) {
  std::string out;
  for (auto it = point.begin(); it != point.end(); ++it)
    out += "@" + it.key() + "=" + (it->is_string() ? it->get<std::string>() : it->dump());
  return out;
}

// Every combination of the sweeps' values, the first sweep varying slowest.
std::vector<json> sweep_points(const std::vector<Sweep>& sweeps) {
  std::vector<json> points{json::object()};
  for (const auto& s : sweeps) {
    std::vector<json> next;
    for (const auto& p : points)
      for (const auto& v : s.values) {
        json q = p;
        q[s.key] = v;
        next.push_back(q);
      }
    points = std::move(next);
  }
  return points;
}

struct PlannedRun {
  size_t row = 0;
  uint64_t seed = 0;
  train::ExperimentConfig config;
  fs::path dir;
};

RunSummary summarize_run(train::Trainer& t, uint64_t seed, const fs::path& dir) {
  RunSummary s;
  s.seed = seed;
  s.run_dir = dir.string();
  const auto& metrics = t.metrics();
  s.final_train_loss = metrics.empty() ? std::nan("") : metrics.back().loss;
  s.final_val_loss = s.final_val_loss_se = std::nan("");
  for (auto it = metrics.rbegin(); it != metrics.rend(); ++it)
    if (it->val_loss) {
      s.final_val_loss = *it->val_loss;
      if (it->val_loss_se) s.final_val_loss_se = *it->val_loss_se;
      break;
    }
  for (const auto& e : t.events())
    if (e.kind == EventKind::Spike) s.spike_steps.push_back(e.step);
  s.tokens_per_second = t.elapsed_seconds() > 0 ? static_cast<double>(t.tokens_seen()) / t.elapsed_seconds() : 0;
  for (const auto& [name, p] : t.model()->named_tensors()) s.parameters += p.numel();
  const auto& tc = t.config().train;
  s.first_batch_hash = data::batch_hash(t.data().batch(data::Split::Train, 0, tc.batch_size, tc.seq_len));
  return s;
}

}  // namespace

std::vector<VariantSummary> run_comparison(const json& base, const std::vector<Variant>& variants,
                                           const fs::path& out_dir, const CompareOptions& options) {
  if (variants.empty()) throw InputError("compare: no variants given");
  if (options.seeds < 1 || options.seeds > 1000)
    throw InputError("compare: --seeds (" + std::to_string(options.seeds) + ") must be in [1, 1000]");
  std::set<std::string> names, keys;
  for (const auto& v : variants)
    if (!names.insert(v.name).second) throw InputError("compare: variant '" + v.name + "' is given twice");
  for (const auto& s : options.sweeps)
    if (!keys.insert(s.key).second) throw InputError("compare: '" + s.key + "' is swept twice");
  if (fs::exists(out_dir / "summary.json")) throw InputError(out_dir.string() + " already holds a comparison");

  // Rows: every variant at every sweep point. Runs: every row on every seed.
  std::vector<VariantSummary> rows;
  std::vector<PlannedRun> plan;
  const auto points = sweep_points(options.sweeps);
  std::vector<json> row_configs;
  for (const auto& point : points)
    for (const auto& v : variants) {
      json j = base;
      for (auto it = v.model_patch.begin(); it != v.model_patch.end(); ++it) {
        if (it.value().is_null()) j["model"].erase(it.key());
        else j["model"][it.key()] = it.value();
      }
      for (auto it = point.begin(); it != point.end(); ++it)
        apply_override(j, it.key() + "=" + it->dump());
      VariantSummary row;
      row.variant = v.name;
      row.point = point;
      row.name = v.name + point_suffix(point);
      rows.push_back(row);
      row_configs.push_back(j);
    }
  // Seed-major order: with runs one after the other, every variant of a seed is done
  // before the next seed starts, so pairs complete early.
  for (int64_t k = 0; k < options.seeds; ++k)
    for (size_t r = 0; r < rows.size(); ++r) {
      PlannedRun run;
      run.row = r;
      try {
        run.config = train::ExperimentConfig::from_json(row_configs[r]);
      } catch (const InputError& e) {
        throw InputError("variant '" + rows[r].name + "': " + e.what());
      }
      run.seed = run.config.train.seed + static_cast<uint64_t>(k);
      run.config.train.seed = run.seed;
      run.dir = run_directory_of(out_dir, rows[r].name, run.seed, options.seeds);
      plan.push_back(std::move(run));
    }
  // Build every run once without files: a bad variant must fail before any run directory
  // exists. (Seeds do not change what is valid, so the first seed's runs suffice.)
  for (size_t i = 0; i < rows.size(); ++i) {
    try {
      RunDriver check(plan[i].config, fs::path());  // validates data, model, probe, schedule
    } catch (const InputError& e) {
      throw InputError("variant '" + rows[plan[i].row].name + "': " + e.what());
    }
  }

  int64_t total_steps = 0, done_steps = 0;
  for (const auto& p : plan) total_steps += p.config.train.steps;
  std::vector<std::unique_ptr<RunDriver>> drivers(plan.size());
  std::vector<bool> done(plan.size(), false);
  std::vector<std::vector<RunSummary>> results(rows.size());
  auto finish = [&](size_t i) {
    drivers[i]->save_end_of_run();  // a paused run keeps its checkpoint too
    results[plan[i].row].push_back(summarize_run(drivers[i]->trainer(), plan[i].seed, plan[i].dir));
    if (options.on_run_finished) {
      VariantSummary partial = rows[plan[i].row];
      partial.runs = results[plan[i].row];
      options.on_run_finished(partial, partial.runs.back());
    }
    drivers[i].reset();  // frees the model and optimizer of a finished run
    done[i] = true;
  };
  // Advances run i by one step; returns false once it has nothing left to do.
  auto advance = [&](size_t i) {
    if (done[i]) return false;
    if (!drivers[i]) drivers[i] = std::make_unique<RunDriver>(plan[i].config, plan[i].dir);
    auto& d = *drivers[i];
    if (d.finished() || d.trainer().paused()) {
      finish(i);
      return false;
    }
    if (options.cancel && options.cancel->load())
      throw CompareCancelled("comparison cancelled at '" + rows[plan[i].row].name + "' seed " +
                             std::to_string(plan[i].seed) + ", step " + std::to_string(d.step_count()) +
                             "; the partial runs stay in " + out_dir.string());
    const int64_t before = d.step_count();
    d.step();  // the last step saves the checkpoint and the final model
    done_steps += d.step_count() - before;
    if (options.on_progress)
      options.on_progress({i, plan.size(), rows[plan[i].row].name, plan[i].seed, d.step_count(),
                           d.trainer().config().train.steps, done_steps, total_steps});
    if (d.finished() || d.trainer().paused()) {
      finish(i);
      return false;
    }
    return true;
  };
  if (options.interleave) {
    for (bool any = true; any;) {
      any = false;
      for (size_t i = 0; i < plan.size(); ++i) any = advance(i) || any;
    }
  } else {
    for (size_t i = 0; i < plan.size(); ++i)
      while (advance(i)) {
      }
  }
  for (size_t r = 0; r < rows.size(); ++r) rows[r].runs = std::move(results[r]);
  summarize(rows);
  io::write_file_atomic(out_dir / "summary.json", summary_to_json(rows).dump(2) + "\n");
  io::write_file_atomic(out_dir / "summary.csv", summary_to_csv(rows));
  io::write_file_atomic(out_dir / "runs.csv", runs_to_csv(rows));
  return rows;
}

}  // namespace headlab::run
