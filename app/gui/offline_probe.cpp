#include "offline_probe.h"

#include <algorithm>
#include <filesystem>

#include "common/errors.h"
#include "data/data_source.h"
#include "data/tokenizer.h"
#include "io/model_io.h"
#include "io/run_directory.h"
#include "probe/probe_runner.h"
#include "probe/probe_input.h"

namespace headlab::gui {
namespace fs = std::filesystem;

std::string newestModelPath(const std::string& run_dir) {
  const fs::path model = fs::path(run_dir) / "model";
  if (fs::exists(model / io::kWeightsFile)) return model.string();
  const auto steps = io::RunDirectory::checkpoint_steps(run_dir);
  if (steps.empty()) return {};
  return io::RunDirectory::checkpoint_path(run_dir, steps.back()).string();
}

OfflineProbe probeRunDirectory(const std::string& run_dir, const std::string& probe_text) {
  const std::string model_path = newestModelPath(run_dir);
  if (model_path.empty()) throw InputError(run_dir + ": no model/ and no checkpoint to probe");
  const nlohmann::json config = io::RunDirectory::read_config(run_dir);
  model::Transformer model = io::load_model(model_path);

  // The step the model is from: the checkpoint's, or the last logged step for model/.
  int64_t step = 0;
  const std::string name = fs::path(model_path).filename().string();
  if (name.rfind("step-", 0) == 0) {
    step = std::stoll(name.substr(5));
  } else {
    const auto metrics = io::RunDirectory::read_metrics(run_dir);
    if (!metrics.empty()) step = metrics.back().step;
  }

  // The same probe input as the run's own probes (probe/probe_input.h).
  std::string text = probe_text;
  if (text.empty()) text = config.value("probe", nlohmann::json::object()).value("text", "");
  const auto train = config.value("train", nlohmann::json::object());
  const auto source = data::make_data_source(config.at("data"), train.value("seed", uint64_t{1234}));
  const auto input = probe::resolve_probe_input(model->config(), source.get(), train.value("seq_len", int64_t{64}), text);
  const auto& tokens = input.tokens;
  const auto& labels = input.labels;
  auto snapshot = std::make_shared<ProbeSnapshot>(probe::run_probe(model, tokens, labels, step));
  return {std::move(snapshot), model_path};
}

}  // namespace headlab::gui
