#include "dist/data_parallel.h"

#include <cerrno>
#include <cstdlib>
#include <limits>

#include "common/errors.h"

#if defined(HEADLAB_HAVE_GLOO)
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "dist/process_group.h"
#endif

namespace headlab::dist {
namespace {

// An environment variable as an integer in [lo, hi]; nullopt when unset.
std::optional<long long> env_int(const char* name, long long lo, long long hi) {
  const char* text = std::getenv(name);
  if (!text) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text, &end, 10);
  if (*text == '\0' || *end != '\0' || errno == ERANGE || value < lo || value > hi)
    throw InputError(std::string(name) + "='" + text + "' must be an integer from " + std::to_string(lo) + " to " +
                     std::to_string(hi));
  return value;
}

bool is_loopback(const std::string& addr) { return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1"; }

// LibTorch 2.4+ asks for the libuv store backend by default, which Debian's 2.6 is built
// without ("use_libuv was requested but PyTorch was build without libuv support"); the
// classic backend is in every build. 1.13 has no such option.
template <typename Options>
auto use_classic_store_backend(Options& o, int) -> decltype(o.useLibUV = false, void()) {
  o.useLibUV = false;
}
template <typename Options>
void use_classic_store_backend(Options&, long) {}

}  // namespace

std::optional<RankEnvironment> rank_environment_from_env() {
  const auto world = env_int("WORLD_SIZE", 1, 65536);
  if (!world) return std::nullopt;
  RankEnvironment env;
  env.world_size = static_cast<int>(*world);
  const auto rank = env_int("RANK", 0, env.world_size - 1);
  if (!rank) throw InputError("WORLD_SIZE is set but RANK is not: launch every rank with RANK (0 to WORLD_SIZE-1)");
  env.rank = static_cast<int>(*rank);
  env.local_rank = static_cast<int>(env_int("LOCAL_RANK", 0, 65535).value_or(0));
  if (const char* addr = std::getenv("MASTER_ADDR")) env.master_addr = addr;
  if (env.master_addr.empty()) throw InputError("MASTER_ADDR is empty: give the host of rank 0");
  env.master_port = static_cast<int>(env_int("MASTER_PORT", 1, 65535).value_or(29500));
  return env;
}

std::chrono::seconds collective_timeout() {
  return std::chrono::seconds(env_int("HEADLAB_DIST_TIMEOUT_S", 1, 86400).value_or(60));
}

std::pair<int64_t, int64_t> DataParallel::share_of(int64_t rows) const {
  const int64_t world = env_.world_size, rank = env_.rank;
  const int64_t begin = rows * rank / world, end = rows * (rank + 1) / world;
  return {begin, end - begin};
}

#if defined(HEADLAB_HAVE_GLOO)

bool data_parallel_available() { return true; }

std::unique_ptr<DataParallel> DataParallel::connect(const RankEnvironment& env, std::chrono::seconds timeout) {
  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
  auto impl = std::make_unique<Impl>();
  try {
    // Under torchrun the agent on node 0 already serves MASTER_ADDR:MASTER_PORT and says so in
    // TORCHELASTIC_USE_AGENT_STORE: then every rank is a client, in the prefix of this restart
    // attempt, as torch.distributed's env:// rendezvous does it.
    const char* agent_store = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
    const bool use_agent_store = agent_store && std::string(agent_store) == "True";
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(env.master_port);
    options.isServer = env.rank == 0 && !use_agent_store;
    options.numWorkers = static_cast<std::size_t>(env.world_size);
    options.waitWorkers = true;
    options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
    use_classic_store_backend(options, 0);
    impl->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
    if (use_agent_store) {
      const char* attempt = std::getenv("TORCHELASTIC_RESTART_COUNT");
      impl->store = c10::make_intrusive<c10d::PrefixStore>("/worker/attempt_" + std::string(attempt ? attempt : "0"),
                                                           impl->store);
    }
  } catch (const std::exception& e) {
    const std::string first_line = std::string(e.what()).substr(0, std::string(e.what()).find('\n'));
    throw InputError(env.rank == 0 ? "rank 0 cannot serve the rendezvous at MASTER_ADDR:MASTER_PORT = " + where +
                                         " (a port in use, or an address not of this machine): " + first_line
                                   : "rank " + std::to_string(env.rank) + " cannot reach rank 0 at MASTER_ADDR:MASTER_PORT = " +
                                         where + " within " + std::to_string(timeout.count()) + " s: " + first_line);
  }
  try {
    auto options = c10d::ProcessGroupGloo::Options::create();
    options->timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
    // Loopback launches (--nproc, tests) stay on loopback; across machines, GLOO_SOCKET_IFNAME
    // picks the interface as in PyTorch, else the address this host's name resolves to.
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (is_loopback(env.master_addr))
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    impl->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, env.rank, env.world_size, options);
    impl->process_group = as_process_group<c10d::ProcessGroup>(impl->group, impl->store, env.rank, env.world_size);
  } catch (const std::exception& e) {
    const std::string first_line = std::string(e.what()).substr(0, std::string(e.what()).find('\n'));
    throw InputError("rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size) +
                     " cannot join the Gloo process group via " + where + ": " + first_line);
  }
  return std::unique_ptr<DataParallel>(new DataParallel(env, std::move(impl)));
}

void DataParallel::allreduce_sum(const std::vector<torch::Tensor>& tensors) {
  const auto started = std::chrono::steady_clock::now();
  struct Timer {
    std::chrono::steady_clock::time_point started;
    double& total;
    ~Timer() { total += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(); }
  } timer{started, allreduce_seconds_};
  // One flat buffer per dtype: one collective for the whole model.
  std::vector<std::vector<torch::Tensor>> by_dtype;
  for (const auto& t : tensors) {
    auto it = std::find_if(by_dtype.begin(), by_dtype.end(),
                           [&](const std::vector<torch::Tensor>& g) { return g.front().scalar_type() == t.scalar_type(); });
    if (it == by_dtype.end())
      by_dtype.push_back({t});
    else
      it->push_back(t);
  }
  for (auto& group : by_dtype) {
    std::vector<torch::Tensor> flat_pieces;
    for (const auto& t : group) flat_pieces.push_back(t.detach().reshape({-1}).to(torch::kCPU));
    std::vector<torch::Tensor> buffer{torch::cat(flat_pieces)};
    try {
      impl_->group->allreduce(buffer)->wait();
    } catch (const std::exception& e) {
      throw collective_failure(e);
    }
    int64_t offset = 0;
    for (auto& t : group) {
      const int64_t n = t.numel();
      torch::NoGradGuard no_grad;
      t.copy_(buffer[0].narrow(0, offset, n).view(t.sizes()));
      offset += n;
    }
  }
}

#else  // a build without libgloo-dev's headers

bool data_parallel_available() { return false; }

struct DataParallel::Impl {};

std::unique_ptr<DataParallel> DataParallel::connect(const RankEnvironment&, std::chrono::seconds) {
  throw InputError("this build of HeadLab has no data-parallel training: it was built without Gloo "
                   "(install libgloo-dev and rebuild)");
}

void DataParallel::allreduce_sum(const std::vector<torch::Tensor>&) {}

#endif

DataParallelError DataParallel::collective_failure(const std::exception& e) const {
  const std::string first_line = std::string(e.what()).substr(0, std::string(e.what()).find('\n'));
  return DataParallelError("rank " + std::to_string(env_.rank) + " of " + std::to_string(env_.world_size) +
                           ": the gradient allreduce failed, so another rank has stopped or is stuck (" + first_line +
                           "); the run directory keeps its last checkpoint, resume it with `train --resume`");
}

DataParallel::DataParallel(RankEnvironment env, std::unique_ptr<Impl> impl) : env_(std::move(env)), impl_(std::move(impl)) {}
DataParallel::~DataParallel() = default;

}  // namespace headlab::dist
