// compare: train variants of one experiment with the same seed and data order.
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli_common.h"
#include "common/errors.h"
#include "common/json_file.h"
#include "run/compare.h"
#include "train/experiment_config.h"

namespace headlab::cli {

void add_compare_commands(CLI::App& app) {
  auto* cmd = app.add_subcommand("compare", "Train variants (baseline, kha-linear, kha-mlp, mea, talking-heads, base) with the same seed and data");
  auto config = std::make_shared<std::string>(), preset = std::make_shared<std::string>(),
       variants = std::make_shared<std::string>("baseline,kha-linear,kha-mlp,mea,talking-heads"),
       out = std::make_shared<std::string>();
  auto steps = std::make_shared<int64_t>(0);
  auto sets = std::make_shared<std::vector<std::string>>();
  auto interleave = std::make_shared<bool>(false);
  cmd->add_option("--config", *config, "Base training config JSON");
  cmd->add_option("--preset", *preset, "Base preset");
  cmd->add_option("--variants", *variants, "Comma-separated variant names");
  cmd->add_option("--steps", *steps, "Steps per variant (overrides train.steps)");
  cmd->add_option("--set", *sets, "Override a base config value (repeatable)");
  cmd->add_option("--out", *out, "Output folder: one run directory per variant + summary.json/.csv")->required();
  cmd->add_flag("--interleave", *interleave, "Alternate steps between variants instead of one after the other");
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
    options.on_progress = [&](size_t i, int64_t step, int64_t total) {
      if (step == total || step % std::max<int64_t>(1, total / 10) == 0)
        std::printf("%-14s step %ld/%ld\n", list[i].name.c_str(), step, total);
    };
    auto summary = run::run_comparison(base, list, *out, options);
    std::printf("\n%-14s %12s %12s %7s %12s %11s\n", "variant", "train loss", "val loss", "spikes", "tokens/s", "parameters");
    for (const auto& s : summary)
      std::printf("%-14s %12.4f %12.4f %7ld %12.0f %11ld\n", s.name.c_str(), s.final_train_loss, s.final_val_loss, s.spikes,
                  s.tokens_per_second, s.parameters);
    std::cout << "\nwrote " << *out << "/summary.json and summary.csv\n";
  });
}

}  // namespace headlab::cli
