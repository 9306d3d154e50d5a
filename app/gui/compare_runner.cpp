#include "compare_runner.h"

#include "common/errors.h"

namespace headlab::gui {

CompareOutcome runCompareRequest(const CompareRequest& request,
                                 const std::function<void(const CompareProgress&)>& progress,
                                 const std::atomic<bool>* cancel) {
  CompareOutcome outcome;
  outcome.out_dir = request.out_dir;
  try {
    if (request.out_dir.empty()) throw InputError("compare: choose an output folder");
    if (request.variants.empty()) throw InputError("compare: tick at least one variant");
    std::vector<run::Variant> variants;
    for (const auto& name : request.variants) variants.push_back(run::builtin_variant(name));
    run::CompareOptions options;
    options.interleave = request.interleave;
    options.cancel = cancel;
    options.seeds = request.seeds;
    options.sweeps = request.sweeps;
    options.on_progress = [&](const run::CompareProgress& p) {
      if (progress) progress(p);
    };
    options.on_run_finished = request.on_run_finished;
    outcome.summaries = run::run_comparison(request.base, variants, request.out_dir, options);
    outcome.status = CompareOutcome::Status::Finished;
  } catch (const run::CompareCancelled& e) {
    outcome.status = CompareOutcome::Status::Cancelled;
    outcome.message = e.what();
  } catch (const std::exception& e) {
    // InputError names the variant and field at fault; anything else (disk full, a
    // non-finite loss) is reported the same way: the GUI shows it, nothing crashes.
    outcome.status = CompareOutcome::Status::Failed;
    outcome.message = e.what();
  }
  return outcome;
}

}  // namespace headlab::gui
