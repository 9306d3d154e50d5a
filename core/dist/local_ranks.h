#pragma once
// `headlab-cli train --nproc N` and headlab-bench's data-parallel rows: start N ranks of a
// command on this machine, the way torchrun --standalone would. Each gets RANK, WORLD_SIZE,
// LOCAL_RANK, MASTER_ADDR (loopback) and MASTER_PORT (a free port) and, unless the user set
// it, OMP_NUM_THREADS = cores / N, so the ranks do not fight over the cores.
//
// The launcher forwards Ctrl-C and SIGTERM to every rank (they stop together after the same
// step and rank 0 saves a checkpoint). When a rank ends with an error or a signal, it names
// that rank and stops the others, which then fail their next allreduce at once instead of
// waiting out the timeout.
#include <string>
#include <vector>

namespace headlab::dist {

// Runs N ranks of this executable (/proc/self/exe) with `args` (args[0] is the program name)
// and waits for them. Returns rank 0's exit code when every rank ended by itself, else the
// first failing rank's code (128 + signal for a signal).
int launch_local_ranks(int nproc, const std::vector<std::string>& args);

// Set in the ranks launch_local_ranks starts (a second --nproc there is not a new launch).
constexpr const char* kLocalLaunchVariable = "HEADLAB_LOCAL_LAUNCH";

}  // namespace headlab::dist
