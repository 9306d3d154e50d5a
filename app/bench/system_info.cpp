// The machine: BLAS, threads, CPU, and the fp32 matmul peak that MFU is measured against.
#include <torch/torch.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>

#include "bench.h"
#include "common/runtime.h"
#include "model/model_config.h"
#include "train/sharded_backward.h"

namespace headlab::bench {
namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  std::map<std::string, int> models;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) ++models[line.substr(line.find(':') + 2)];
  std::string out;
  for (const auto& [name, n] : models) out += (out.empty() ? "" : ", ") + std::to_string(n) + " x " + name;
  return out.empty() ? "unknown" : out;
}

void sync(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

}  // namespace

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double load_average() {
  std::ifstream in("/proc/loadavg");
  double one = -1;
  return in >> one ? one : -1;
}

double measure_matmul_peak(const std::string& device_name, bool quick, int threads, int64_t* size) {
  // Peak: the best of several timed square GEMMs (fp32 on the CPU, bf16 on CUDA, where the
  // training step autocasts), at a size large enough to saturate BLAS on this machine. On the
  // CPU also one single-threaded GEMM per thread at once, the way a step in row shards uses
  // the cores (train/sharded_backward.h); the two ways take turns and the best rate counts.
  const torch::Device device(device_name);
  const bool cuda = device.is_cuda();
  const int64_t n = quick ? 256 : (cuda ? 8192 : 1024);
  const auto options = torch::TensorOptions().device(device).dtype(cuda ? torch::kBFloat16 : torch::kFloat32);
  torch::NoGradGuard no_grad;
  const int lanes = cuda ? 1 : std::max(1, threads);
  std::vector<torch::Tensor> a, b, c;
  for (int i = 0; i < lanes; ++i) {
    a.push_back(torch::randn({n, n}, options));
    b.push_back(torch::randn({n, n}, options));
    c.push_back(torch::mm(a.back(), b.back()));
  }
  sync(device);
  std::unique_ptr<train::ShardPool> pool;
  if (lanes > 1) pool = std::make_unique<train::ShardPool>(lanes, 1);
  const int reps = quick ? 3 : (cuda ? 20 : 12);
  double best = 0;
  for (int r = 0; r < 2 * reps; ++r) {
    const bool concurrent = pool && r % 2 == 1;
    const auto t0 = std::chrono::steady_clock::now();
    const int inner = cuda ? 10 : 1;
    if (concurrent) {
      pool->run([&](int i) { torch::mm_out(c[static_cast<size_t>(i)], a[static_cast<size_t>(i)], b[static_cast<size_t>(i)]); });
    } else {
      for (int i = 0; i < inner; ++i) torch::mm_out(c[0], a[0], b[0]);
    }
    sync(device);
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, (concurrent ? lanes : inner) * 2.0 * n * n * n / sec);
  }
  if (size) *size = n;
  return best;
}

SystemInfo collect_system_info(const std::string& device_name, bool quick) {
  SystemInfo s;
  s.runtime = runtime_summary();
  s.blas = blas_summary();
  s.threads = at::get_num_threads();
  s.cpu = cpu_model();
  s.device = device_name;
  s.matmul_peak_flops = measure_matmul_peak(device_name, quick, s.threads, &s.matmul_size);
  return s;
}

double training_flops_per_step(const nlohmann::json& model_json, int64_t batch_size, int64_t seq_len) {
  const auto c = model::ModelConfig::from_json(model_json);
  const double d = c.d_model, dh = c.head_dim, H = c.n_heads;
  double per_layer = H * dh * d /*wq*/ + d * H * dh /*wo*/ + 3.0 * d * c.d_ff /*mlp*/;
  if (c.attention == model::AttentionLayout::Gta)
    per_layer += c.kv_heads() * dh * d + c.gta_rope_dims() * d;
  else
    per_layer += 2.0 * c.stored_kv_heads() * dh * d;
  const double matmul_params = c.n_layers * per_layer + static_cast<double>(c.vocab_size) * d;  // + lm_head
  const double tokens = static_cast<double>(batch_size * seq_len);
  return tokens * (6.0 * matmul_params + 12.0 * c.n_layers * H * dh * seq_len);
}

}  // namespace headlab::bench
