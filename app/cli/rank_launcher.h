#pragma once
// `headlab-cli train --nproc N`: starts N ranks of this same command on this machine, the
// way torchrun --standalone would: each gets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR
// (loopback) and MASTER_PORT (a free port) and, unless the user set it, OMP_NUM_THREADS =
// cores / N, so the ranks do not fight over the cores.
//
// The launcher forwards Ctrl-C and SIGTERM to every rank (they stop together after the same
// step and rank 0 saves a checkpoint). When a rank ends with an error or a signal, it names
// that rank and stops the others, which then fail their next allreduce at once instead of
// waiting out the timeout.
namespace headlab::cli {

// Remembers this process's command line (main() calls it first): the ranks are started with it.
void remember_command_line(int argc, char** argv);

// Runs N ranks and waits for them. Returns rank 0's exit code when every rank ended by
// itself, else the first failing rank's code (128 + signal for a signal).
int launch_local_ranks(int nproc);

// Set in the ranks launch_local_ranks starts (a second --nproc there is not a new launch).
constexpr const char* kLocalLaunchVariable = "HEADLAB_LOCAL_LAUNCH";

}  // namespace headlab::cli
