// compare: train variants of one experiment on the same seeds and data order, with statistics.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli_common.h"
#include "common/errors.h"
#include "common/json_file.h"
#include "run/compare.h"
#include "train/experiment_config.h"

namespace headlab::cli {

namespace {

std::string format_interval(const stats::Estimate& e) {
  char buf[96];
  if (!std::isfinite(e.mean)) return "-";
  if (!e.has_interval()) std::snprintf(buf, sizeof buf, "%.4f", e.mean);
  else std::snprintf(buf, sizeof buf, "%.4f [%.4f, %.4f]", e.mean, e.ci_low, e.ci_high);
  return buf;
}

std::string format_difference(const run::VariantSummary& s) {
  if (!s.vs_baseline) return "(baseline)";
  const auto& c = *s.vs_baseline;
  char buf[160];
  if (!c.difference.has_interval())
    std::snprintf(buf, sizeof buf, "%+.4f (%s)", c.difference.mean, stats::to_string(c.verdict).c_str());
  else
    std::snprintf(buf, sizeof buf, "%+.4f [%+.4f, %+.4f] %ld/%zu %s", c.difference.mean, c.difference.ci_low,
                  c.difference.ci_high, static_cast<long>(c.same_sign), c.differences.size(),
                  stats::to_string(c.verdict).c_str());
  return buf;
}

}  // namespace

// stats: the statistics of compare for any table of per-seed values (one row per seed, one
// column per condition), e.g. the losses of a model before and after a transformation.
void add_stats_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("stats", "Mean, 95% CI and paired differences (t-distribution) of per-seed values in a CSV");
  auto csv = std::make_shared<std::string>(), baseline = std::make_shared<std::string>();
  cmd->add_option("--csv", *csv, "CSV with a header row; one row per seed; numeric columns are conditions")->required();
  cmd->add_option("--baseline", *baseline, "The column the others are paired with")->required();
  cmd->callback([=] {
    std::ifstream in(*csv);
    if (!in) throw InputError(*csv + ": cannot read");
    std::string line;
    if (!std::getline(in, line)) throw InputError(*csv + ": empty");
    std::vector<std::string> header;
    std::stringstream hs(line);
    for (std::string h; std::getline(hs, h, ',');) header.push_back(h);
    std::vector<std::vector<double>> columns(header.size());
    for (int row = 2; std::getline(in, line); ++row) {
      if (line.empty()) continue;
      std::stringstream ls(line);
      std::string cell;
      for (size_t c = 0; c < header.size(); ++c) {
        if (!std::getline(ls, cell, ',')) throw InputError(*csv + ":" + std::to_string(row) + ": too few cells");
        char* end = nullptr;
        const double v = std::strtod(cell.c_str(), &end);
        if (end == cell.c_str() || *end != '\0' || !std::isfinite(v))
          throw InputError(*csv + ":" + std::to_string(row) + ": '" + cell + "' in column " + header[c] + " is not a number");
        columns[c].push_back(v);
      }
    }
    const auto base = std::find(header.begin(), header.end(), *baseline);
    if (base == header.end()) throw InputError("--baseline " + *baseline + ": no such column in " + *csv);
    const auto& b = columns[static_cast<size_t>(base - header.begin())];
    nlohmann::json out = nlohmann::json::object();
    for (size_t c = 0; c < header.size(); ++c) {
      if (header[c] == "seed") continue;  // labels the rows, not a condition
      const auto e = stats::estimate_mean(columns[c]);
      nlohmann::json col = {{"n", e.n}, {"mean", e.mean}, {"ci_low", e.has_interval() ? nlohmann::json(e.ci_low) : nlohmann::json()},
                            {"ci_high", e.has_interval() ? nlohmann::json(e.ci_high) : nlohmann::json()}};
      if (header[c] != *baseline) {
        const auto p = stats::compare_paired(columns[c], b);
        col["vs_baseline"] = {{"mean", p.difference.mean},
                              {"ci_low", p.difference.has_interval() ? nlohmann::json(p.difference.ci_low) : nlohmann::json()},
                              {"ci_high", p.difference.has_interval() ? nlohmann::json(p.difference.ci_high) : nlohmann::json()},
                              {"same_sign", p.same_sign},
                              {"verdict", stats::to_string(p.verdict)}};
      }
      out[header[c]] = col;
    }
    std::cout << out.dump(2) << "\n";
  });
}

void add_compare_commands(CLI::App& app) {
  add_stats_command(app);
  auto* cmd = app.add_subcommand(
      "compare", "Train variants (baseline, kha-linear, kha-mlp, mea, mea-no-norm, talking-heads, base) on the same "
                 "seeds and data; summary with confidence intervals");
  auto config = std::make_shared<std::string>(), preset = std::make_shared<std::string>(),
       variants = std::make_shared<std::string>("baseline,kha-linear,kha-mlp,mea,talking-heads"),
       out = std::make_shared<std::string>();
  auto steps = std::make_shared<int64_t>(0), seeds = std::make_shared<int64_t>(1);
  auto sets = std::make_shared<std::vector<std::string>>(), sweeps = std::make_shared<std::vector<std::string>>();
  auto interleave = std::make_shared<bool>(false), quiet = std::make_shared<bool>(false);
  auto device = std::make_shared<std::string>();
  auto seed = std::make_shared<int64_t>(-1);
  cmd->add_option("--config", *config, "Base training config JSON");
  cmd->add_option("--preset", *preset, "Base preset");
  cmd->add_option("--variants", *variants, "Comma-separated variant names; the first is the baseline");
  cmd->add_option("--steps", *steps, "Steps per run (overrides train.steps)");
  cmd->add_option("--seeds", *seeds, "Train every variant on this many seeds (train.seed, +1, ...): means, 95% CIs, verdicts");
  cmd->add_option("--sweep", *sweeps, "Cross the variants with config values, e.g. --sweep train.lr=3e-3,1e-2 (repeatable)");
  cmd->add_option("--set", *sets, "Override a base config value (repeatable)");
  cmd->add_option("--out", *out, "Output folder: run directories + summary.json, summary.csv, runs.csv")->required();
  cmd->add_flag("--interleave", *interleave, "Alternate steps between runs instead of one after the other");
  // The options every training command shares with `train`.
  cmd->add_option("--device", *device, "cpu, cuda or auto");
  cmd->add_option("--seed", *seed, "The first seed (train.seed); --seeds counts on from it");
  cmd->add_flag("--quiet", *quiet, "No progress output");
  cmd->callback([=] {
    if (config->empty() == preset->empty()) throw InputError("give exactly one of --config and --preset");
    auto base = preset->empty() ? read_json_file(*config) : train::load_preset(*preset);
    for (const auto& s : *sets) apply_override(base, s);
    if (*steps > 0) base["train"]["steps"] = *steps;
    if (!device->empty()) base["train"]["device"] = *device;
    if (*seed >= 0) base["train"]["seed"] = *seed;
    std::vector<run::Variant> list;
    std::stringstream ss(*variants);
    for (std::string name; std::getline(ss, name, ',');)
      if (!name.empty()) list.push_back(run::builtin_variant(name));
    run::CompareOptions options;
    options.interleave = *interleave;
    options.seeds = *seeds;
    for (const auto& s : *sweeps) options.sweeps.push_back(run::parse_sweep(s));
    if (!*quiet) options.on_progress = [](const run::CompareProgress& p) {
      if (p.step == p.steps || p.step % std::max<int64_t>(1, p.steps / 5) == 0)
        std::printf("[%3.0f%%] %-24s seed %-6lu step %ld/%ld\n", 100.0 * double(p.done_steps) / double(p.total_steps),
                    p.name.c_str(), static_cast<unsigned long>(p.seed), static_cast<long>(p.step), static_cast<long>(p.steps));
    };
    const auto rows = run::run_comparison(base, list, *out, options);
    std::printf("\n%-28s %5s %-32s %-44s %7s\n", "variant", "seeds", "val loss [95% CI]", "vs baseline [95% CI] same-sign verdict",
                "spikes");
    for (const auto& s : rows)
      std::printf("%-28s %5zu %-32s %-44s %7ld\n", s.name.c_str(), s.runs.size(), format_interval(s.final_val_loss).c_str(),
                  format_difference(s).c_str(), static_cast<long>(s.spikes));
    std::cout << "\nwrote " << *out << "/summary.json, summary.csv and runs.csv\n";
  });
}

}  // namespace headlab::cli
