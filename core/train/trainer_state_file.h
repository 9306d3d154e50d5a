#pragma once
// trainer_state.json, read strictly: every field typed and range-checked, each error naming the
// file and the field. A hand-edited or corrupted checkpoint is refused (exit 2) in words a
// person can act on, never in the JSON library's or torch's, and never half-applied: the file
// is read completely before the trainer changes anything.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "model/module_types.h"

namespace headlab::train {

struct FrozenModule {
  model::ModuleKind kind;
  int64_t layer;
};

struct TrainerStateFile {
  int64_t step = 0;
  int64_t tokens = 0;
  double elapsed_s = 0;
  size_t next_action = 0;
  std::optional<double> lr_override;
  nlohmann::json anomalies;  // checked: {"recent": [finite numbers], "in_episode": bool, "bad_streak": int >= 0}
  nlohmann::json optimizer;  // checked: {"steps": {parameter name: int >= 0}}
  std::vector<FrozenModule> frozen;
  std::vector<uint8_t> rng_state;
  nlohmann::json run_config;  // the run's config.json when the checkpoint was written; null in older checkpoints
};

// Throws InputError naming `file` and the field at fault.
TrainerStateFile read_trainer_state(const std::filesystem::path& file);

}  // namespace headlab::train
