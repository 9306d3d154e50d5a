// headlab-cli: the headless entry point. Every command reuses core/.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <thread>

#include "cli_common.h"
#include "common/errors.h"
#include "common/runtime.h"

int main(int argc, char** argv) {
  headlab::prefer_passive_openmp_waiting(argv);
  headlab::cli::remember_command_line(argc, argv);  // --nproc starts the ranks with it
  CLI::App app{"HeadLab: train, load, probe and transform small transformers with cross-head interaction modules"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "headlab-cli 0.1.0");
  int threads = 0;
  // Bounded: hundreds of spinning OpenMP threads on a few cores stall for tens of seconds.
  app.add_option("--threads", threads, "Intra-op CPU threads (default: all cores; at most 4x the cores)")
      ->check(CLI::Range(0, 4 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))));
  app.parse_complete_callback([&] { headlab::configure_threads(threads); });
  int exit_code = 0;
  headlab::cli::add_model_commands(app);
  headlab::cli::add_tokenize_command(app);
  headlab::cli::add_train_commands(app, exit_code);
  headlab::cli::add_eval_commands(app);
  headlab::cli::add_probe_commands(app);
  headlab::cli::add_compare_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  } catch (const headlab::InputError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::filesystem::filesystem_error& e) {
    // A path the user gave cannot be used (a symlink loop, no permission, a full disk): name
    // the path and the system's reason, without the library's "filesystem error: status:".
    std::cerr << "error: " << (e.path1().empty() ? std::string() : e.path1().string() + ": ") << e.code().message()
              << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return exit_code;
}
