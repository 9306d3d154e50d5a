// compare: train variants of one experiment on the same seeds and data order, with statistics.
#include <cmath>
#include <cstdio>
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

void add_compare_commands(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "compare", "Train variants (baseline, kha-linear, kha-mlp, mea, mea-no-norm, talking-heads, base) on the same "
                 "seeds and data; summary with confidence intervals");
  auto config = std::make_shared<std::string>(), preset = std::make_shared<std::string>(),
       variants = std::make_shared<std::string>("baseline,kha-linear,kha-mlp,mea,talking-heads"),
       out = std::make_shared<std::string>();
  auto steps = std::make_shared<int64_t>(0), seeds = std::make_shared<int64_t>(1);
  auto sets = std::make_shared<std::vector<std::string>>(), sweeps = std::make_shared<std::vector<std::string>>();
  auto interleave = std::make_shared<bool>(false);
  cmd->add_option("--config", *config, "Base training config JSON");
  cmd->add_option("--preset", *preset, "Base preset");
  cmd->add_option("--variants", *variants, "Comma-separated variant names; the first is the baseline");
  cmd->add_option("--steps", *steps, "Steps per run (overrides train.steps)");
  cmd->add_option("--seeds", *seeds, "Train every variant on this many seeds (train.seed, +1, ...): means, 95% CIs, verdicts");
  cmd->add_option("--sweep", *sweeps, "Cross the variants with config values, e.g. --sweep train.lr=3e-3,1e-2 (repeatable)");
  cmd->add_option("--set", *sets, "Override a base config value (repeatable)");
  cmd->add_option("--out", *out, "Output folder: run directories + summary.json, summary.csv, runs.csv")->required();
  cmd->add_flag("--interleave", *interleave, "Alternate steps between runs instead of one after the other");
  cmd->callback([=] {
    if (config->empty() == preset->empty()) throw InputError("give exactly one of --config and --preset");
    auto base = preset->empty() ? read_json_file(*config) : train::load_preset(*preset);
    for (const auto& s : *sets) apply_override(base, s);
    if (*steps > 0) base["train"]["steps"] = *steps;
    std::vector<run::Variant> list;
    std::stringstream ss(*variants);
    for (std::string name; std::getline(ss, name, ',');)
      if (!name.empty()) list.push_back(run::builtin_variant(name));
    run::CompareOptions options;
    options.interleave = *interleave;
    options.seeds = *seeds;
    for (const auto& s : *sweeps) options.sweeps.push_back(run::parse_sweep(s));
    options.on_progress = [](const run::CompareProgress& p) {
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
