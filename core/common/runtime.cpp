#include "common/runtime.h"

#include <torch/torch.h>

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include "common/errors.h"

namespace headlab {

void prefer_passive_openmp_waiting(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || argv == nullptr || argv[0] == nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
  execv("/proc/self/exe", argv);
  // Still here: exec failed (no /proc, say). Carry on with the policy already loaded.
}

int configure_threads(int threads) {
  // An explicit OMP_NUM_THREADS wins over "all cores": parallel test runs set it to 1 so that
  // their OpenMP pools do not oversubscribe the machine (spinning threads slow it ~10x).
  if (threads <= 0) {
    const char* env = std::getenv("OMP_NUM_THREADS");
    threads = env && std::atoi(env) > 0 ? std::atoi(env) : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  at::set_num_threads(threads);
  return at::get_num_threads();
}

bool set_thread_intra_op_threads(int threads) {
  // Looked up at run time: LibTorch brings its OpenMP runtime (and maybe MKL) with it, and a
  // build on its native thread pool has neither.
  using SetFn = void (*)(int);
  using MklLocalFn = int (*)(int);
  static const auto omp_set = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  static const auto mkl_local = reinterpret_cast<MklLocalFn>(dlsym(RTLD_DEFAULT, "mkl_set_num_threads_local"));
  if (!omp_set || threads < 1) return false;
  // ATen initializes each thread's count lazily from the process default on its first
  // parallel call: trigger that now, or it would overwrite the count set below later.
  const int before = at::get_num_threads();
  omp_set(threads);
  if (at::get_num_threads() != threads) {
    omp_set(before);
    return false;
  }
  if (mkl_local) mkl_local(threads);
  return true;
}

std::string resolve_device_name(const std::string& requested) {
  const bool cuda = torch::cuda::is_available();
  if (requested == "auto" || requested.empty()) return cuda ? "cuda" : "cpu";
  if (requested == "cpu") return "cpu";
  if (requested == "cuda") {
    if (!cuda) throw InputError("device 'cuda' requested but this LibTorch build has no usable CUDA device");
    return "cuda";
  }
  throw InputError("unknown device '" + requested + "' (expected cpu, cuda or auto)");
}

std::string blas_summary() {
  // The names of the libraries mapped into the process: which libblas.so.3 the alternatives
  // system picked shows in its path (openblas-openmp/, blas/ for the slow reference BLAS).
  std::set<std::string> libraries;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    const std::string name = path.substr(path.rfind('/') + 1);
    if (name.find("blas") != std::string::npos || name.find("mkl") != std::string::npos ||
        name.find("lapack") != std::string::npos)
      libraries.insert(path);
  }
  std::string mapped;
  for (const auto& l : libraries) mapped += (mapped.empty() ? "" : ", ") + l;
  using ConfigFn = char* (*)();
  if (auto* config = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_config")))
    return "OpenBLAS (" + std::string(config()) + ")" + (mapped.empty() ? "" : " via " + mapped);
  return mapped.empty() ? "unknown" : mapped;
}

std::string runtime_summary() {
  std::string s = "LibTorch " TORCH_VERSION ", intra-op threads " + std::to_string(at::get_num_threads());
  s += ", BLAS " + blas_summary();
  s += torch::cuda::is_available() ? ", CUDA available" : ", CPU only";
  return s;
}

}  // namespace headlab
