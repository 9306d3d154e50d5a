// train and presets.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>

#include "cli_common.h"
#include "common/errors.h"
#include "common/json_file.h"
#include "common/runtime.h"
#include "dist/data_parallel.h"
#include "dist/gradient_reducer.h"
#include "dist/local_ranks.h"
#include "run/run_driver.h"
#include "train/experiment_config.h"

namespace headlab::cli {
namespace fs = std::filesystem;

namespace {

// "25 MiB", "0.5 MiB": a bucket cap as HEADLAB_DIST_BUCKET_MB gives it.
std::string megabytes(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%g MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return text;
}

// The run that Ctrl-C (SIGINT) or SIGTERM asks to stop; request_stop() is a lock-free store.
std::atomic<run::RunDriver*> g_running{nullptr};
extern "C" void on_stop_signal(int) {
  if (auto* driver = g_running.load()) driver->request_stop();
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

struct TrainArgs {
  std::string config, preset, out, resume, device, init_from;
  int64_t steps = 0, probe_every = -1, stop_after = 0;
  int64_t seed = -1;
  int nproc = 1;
  std::vector<std::string> sets;
  bool quiet = false;
};

nlohmann::json build_config_json(const TrainArgs& a) {
  if (a.config.empty() == a.preset.empty()) throw InputError("give exactly one of --config and --preset");
  nlohmann::json j = a.preset.empty() ? read_json_file(a.config) : train::load_preset(a.preset);
  for (const auto& s : a.sets) apply_override(j, s);
  if (a.steps > 0) j["train"]["steps"] = a.steps;
  if (!a.device.empty()) j["train"]["device"] = a.device;
  if (a.seed >= 0) j["train"]["seed"] = a.seed;
  if (a.probe_every >= 0) j["probe"]["every"] = a.probe_every;
  if (!a.init_from.empty()) {
    // The loaded model replaces the config's: its data, training and schedule still apply.
    for (const auto& s : a.sets)
      if (s.rfind("model.", 0) == 0)
        throw InputError("--set " + s + ": with --init-from the model is the loaded one; insert modules with a "
                         "schedule action at step 0 instead");
    j.erase("model");
    j["init_from"] = fs::absolute(a.init_from).lexically_normal().string();
  }
  return j;
}

std::string default_run_dir(const TrainArgs& a) {
  const std::string stem = a.preset.empty() ? fs::path(a.config).stem().string() : a.preset;
  char stamp[32];
  std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return (fs::path("runs") / (stem + "-" + stamp)).string();
}

// A progress line: redrawn in place on a terminal, plain lines (every ~2%) otherwise.
class Progress {
 public:
  Progress(int64_t total, bool quiet) : total_(total), quiet_(quiet), tty_(isatty(STDOUT_FILENO)) {}
  void update(const train::Trainer& t, const train::StepReport& report) {
    if (quiet_ || !report.metric) return;
    const int64_t step = t.step_count();
    const auto& m = *report.metric;
    const double rate = t.elapsed_seconds() > 0 ? t.tokens_seen() / t.elapsed_seconds() : 0;
    const double eta = rate > 0 ? (total_ - step) * (t.elapsed_seconds() / std::max<int64_t>(1, step)) : -1;
    char line[256];
    std::snprintf(line, sizeof line, "step %ld/%ld  loss %.4f%s  lr %.2e  %.0f tok/s  ETA %s", step, total_, m.loss,
                  m.val_loss ? ("  val " + std::to_string(*m.val_loss).substr(0, 6)).c_str() : "", m.lr, rate,
                  format_duration(eta).c_str());
    if (tty_) {
      std::cout << "\r" << line << "\033[K" << std::flush;
    } else if (step == total_ || step - last_printed_ >= std::max<int64_t>(1, total_ / 50) || m.val_loss) {
      std::cout << line << "\n";
      last_printed_ = step;
    }
  }
  void finish() {
    if (tty_ && !quiet_) std::cout << "\n";
  }

 private:
  int64_t total_;
  bool quiet_, tty_;
  int64_t last_printed_ = 0;
};

// The process group of a data-parallel rank (RANK/WORLD_SIZE in the environment); null for
// a one-process run.
std::shared_ptr<dist::DataParallel> join_ranks(const TrainArgs& a) {
  const auto env = dist::rank_environment_from_env();
  if (!env || env->world_size == 1) return nullptr;
  if (a.nproc > 1 && !std::getenv(dist::kLocalLaunchVariable))
    throw InputError("--nproc " + std::to_string(a.nproc) + ": WORLD_SIZE is set, so a launcher (torchrun, srun) "
                     "has started the ranks already; drop --nproc");
  return dist::DataParallel::connect(*env, dist::collective_timeout());
}

int run_training(const TrainArgs& a) {
  if (!a.resume.empty() && (!a.config.empty() || !a.preset.empty() || !a.sets.empty() || !a.init_from.empty()))
    throw InputError("--resume continues a run with its own config; drop --config, --preset, --set and --init-from");
  if (a.nproc > 1 && !dist::rank_environment_from_env()) {
    if (!dist::data_parallel_available()) dist::DataParallel::connect({}, {});  // says why, exit 2
    // A bad config is said once, here, rather than by every rank.
    if (a.resume.empty()) train::ExperimentConfig::from_json(build_config_json(a));
    return dist::launch_local_ranks(a.nproc, command_line());
  }
  run::DriverOptions options;
  options.data_parallel = join_ranks(a);
  // Rank 0 speaks for the run; the other ranks say only what goes wrong.
  const bool speaks = !options.data_parallel || options.data_parallel->rank() == 0;
  std::unique_ptr<run::RunDriver> driver;
  if (!a.resume.empty()) {
    driver = run::RunDriver::resume(a.resume, a.steps > 0 ? std::optional<int64_t>(a.steps) : std::nullopt, options);
  } else {
    auto config = train::ExperimentConfig::from_json(build_config_json(a));
    driver = std::make_unique<run::RunDriver>(config, a.out.empty() ? default_run_dir(a) : a.out, options);
  }
  auto& trainer = driver->trainer();
  if (speaks) {
    std::cout << "run " << trainer.run_directory()->path().string() << "\n"
              << "data: " << trainer.data().describe() << "\n"
              << "device: " << trainer.device().str() << " (" << runtime_summary() << ")\n";
    if (options.data_parallel)
      std::cout << "data-parallel: " << options.data_parallel->world_size() << " ranks (Gloo), "
                << trainer.config().train.batch_size << " rows per step in all, "
                << (!dist::overlap_enabled()
                        ? std::string("gradients allreduced after the backward (HEADLAB_DIST_OVERLAP=0)")
                    : trainer.device().is_cpu()
                        ? "gradients allreduced in " + megabytes(dist::bucket_bytes_cap()) +
                              " buckets during the backward (c10d Reducer)"
                        : std::string("gradients allreduced after the backward, through the CPU (no NCCL yet)"))
                << "\n";
    // Allowed (a preset cut short with --steps), but the peak learning rate is never reached:
    // say so where the user looks, not only in events.jsonl.
    if (const auto note = train::warmup_note(trainer.config().train); !note.empty()) std::cerr << "note: " << note << "\n";
  }
  Progress progress(trainer.config().train.steps, a.quiet || !speaks);
  g_running = driver.get();
  auto previous_int = std::signal(SIGINT, on_stop_signal);
  auto previous_term = std::signal(SIGTERM, on_stop_signal);
  const auto end = driver->run(a.stop_after > 0 ? std::max<int64_t>(1, a.stop_after - trainer.step_count()) : 0,
                               [&](const train::StepReport& report) { progress.update(trainer, report); });
  std::signal(SIGINT, previous_int);
  std::signal(SIGTERM, previous_term);
  g_running = nullptr;
  progress.finish();
  int code = 0;
  switch (end) {
    case run::RunEnd::Finished: break;
    case run::RunEnd::Paused:
      if (speaks) std::cerr << "paused: " << trainer.pause_reason() << "\n";
      code = 1;
      break;
    case run::RunEnd::Stopped:
      if (speaks) std::cout << "interrupted: saved a checkpoint\n";
      code = 130;
      break;
    case run::RunEnd::StepLimit:
      if (speaks) std::cout << "stopping at step " << trainer.step_count() << " as asked (--stop-after)\n";
      break;
  }
  if (driver->last_checkpoint()) std::cout << "checkpoint " << driver->last_checkpoint()->string() << "\n";
  if (driver->final_model()) std::cout << "model " << driver->final_model()->string() << "\n";
  return code;
}

}  // namespace

void add_train_commands(CLI::App& app, int& exit_code) {
  {
    auto* cmd = app.add_subcommand("train", "Train a model from a config or preset into a run directory");
    auto a = std::make_shared<TrainArgs>();
    cmd->add_option("--config", a->config, "Training config JSON (model, data, train, probe, schedule)");
    cmd->add_option("--preset", a->preset, "A preset name (see `headlab-cli presets`)");
    cmd->add_option("--steps", a->steps, "Total optimizer steps (overrides train.steps)");
    cmd->add_option("--out", a->out, "Run directory (default: runs/NAME-TIMESTAMP)");
    cmd->add_option("--resume", a->resume, "Continue this run directory from its newest checkpoint");
    cmd->add_option("--device", a->device, "cpu, cuda or auto");
    cmd->add_option("--seed", a->seed, "Seed for initialization and data order");
    cmd->add_option("--init-from", a->init_from,
                    "Fine-tune: start from this model directory (its config replaces the config's model)");
    cmd->add_option("--set", a->sets, "Override a config value, e.g. --set train.lr=1e-3 (repeatable)");
    cmd->add_option("--probe-every", a->probe_every, "Probe the heads every N steps (probes.jsonl)");
    cmd->add_option("--stop-after", a->stop_after, "Stop (with a checkpoint) after this many steps; resume later");
    cmd->add_flag("--quiet", a->quiet, "No progress output");
    cmd->add_option("--nproc", a->nproc,
                    "Data-parallel: train with N local ranks (Gloo); under torchrun or srun, RANK and WORLD_SIZE "
                    "come from the environment instead")
        ->check(CLI::Range(1, 256));
    cmd->callback([a, &exit_code] { exit_code = run_training(*a); });
  }
  {
    auto* cmd = app.add_subcommand("presets", "List the shipped presets");
    cmd->callback([] {
      auto presets = train::list_presets();
      if (presets.empty()) throw InputError("no presets found in " + train::presets_dir().string());
      for (const auto& [name, description] : presets) std::printf("%-22s %s\n", name.c_str(), description.c_str());
    });
  }
}

}  // namespace headlab::cli
