#pragma once
// Process-wide runtime set-up: intra-op threads and the compute device.
#include <string>

namespace c10 { struct Device; }

namespace headlab {

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
