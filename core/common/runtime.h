#pragma once
// Process-wide runtime set-up: intra-op threads and the compute device.
#include <string>

namespace c10 { struct Device; }

namespace headlab {

// Call first thing in main(). OpenMP's idle workers spin (libgomp's default wait policy):
// harmless on an idle machine, ruinous on a busy one, where a spinning worker holds a core
// that the thread it waits for needs (measured: 30 training steps took 39-60 s on 2 threads
// next to another busy process, 4-5 s on 1 thread). libgomp reads OMP_WAIT_POLICY once, when
// it is loaded, before main() runs, so the only way to change it is to start again: when the
// user has not chosen a policy, this sets OMP_WAIT_POLICY=PASSIVE and re-executes the program
// with the same arguments (once: the variable is then set). Returns when nothing was done or
// the re-execution failed (the program then runs with the spinning default).
void prefer_passive_openmp_waiting(char** argv);

// OpenMP defaults to one thread on these machines: set the intra-op thread count
// explicitly. threads <= 0 means OMP_NUM_THREADS when set, else all hardware threads.
// Returns the count in force.
int configure_threads(int threads = 0);

// The intra-op thread count of the CALLING thread only (OpenMP's per-thread nthreads, and
// MKL's thread-local count when MKL is loaded). at::set_num_threads cannot do this: it also
// changes the process-wide default that threads started later begin with. Returns false,
// changing nothing, when this LibTorch's parallel backend does not follow OpenMP's setting.
bool set_thread_intra_op_threads(int threads);

// "cpu", "cuda" or "auto" (CUDA when this LibTorch build has it and a GPU is present).
// Throws InputError for "cuda" when no CUDA device can be used.
std::string resolve_device_name(const std::string& requested);

// The BLAS behind LibTorch's CPU matmul: "OpenBLAS 0.3.21 ... (openblas-openmp)" when OpenBLAS
// is loaded (asked through openblas_get_config), else the BLAS/LAPACK/MKL libraries mapped into
// this process, else "unknown".
std::string blas_summary();

// Which BLAS and how many threads: printed by the CLI and the benchmark.
std::string runtime_summary();

}  // namespace headlab
