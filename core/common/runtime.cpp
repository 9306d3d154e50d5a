#include "common/runtime.h"

#include <torch/torch.h>

#include <cstdlib>
#include <thread>

#include "common/errors.h"

namespace headlab {

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

std::string runtime_summary() {
  std::string s = "LibTorch " TORCH_VERSION ", intra-op threads " + std::to_string(at::get_num_threads());
  s += torch::cuda::is_available() ? ", CUDA available" : ", CPU only";
  return s;
}

}  // namespace headlab
