#include "memory_tracker.h"

#include <c10/core/CPUAllocator.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <string>

#include "common/torch_compat.h"

namespace headlab::bench {
namespace {

std::atomic<int64_t> g_live{0}, g_peak{0};
std::atomic<bool> g_installed{false};

struct Tracked {
  c10::DataPtr original;
  int64_t bytes;
};

void delete_tracked(void* ctx) {
  auto* t = static_cast<Tracked*>(ctx);
  g_live.fetch_sub(t->bytes, std::memory_order_relaxed);
  delete t;  // frees the original allocation through its own deleter
}

class CountingAllocator final : public c10::Allocator {
 public:
  explicit CountingAllocator(c10::Allocator* inner) : inner_(inner) {}
  c10::DataPtr allocate(size_t n) HEADLAB_ALLOCATE_CONST override {
    c10::DataPtr original = inner_->allocate(n);
    void* data = original.get();
    const c10::Device device = original.device();
    auto* t = new Tracked{std::move(original), static_cast<int64_t>(n)};
    const int64_t now = g_live.fetch_add(t->bytes, std::memory_order_relaxed) + t->bytes;
    int64_t peak = g_peak.load(std::memory_order_relaxed);
    while (now > peak && !g_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
    return {data, t, &delete_tracked, device};
  }
  // Pure virtual from LibTorch 2.3 on; a harmless extra member in older ones.
  void copy_data(void* dest, const void* src, std::size_t count) const HEADLAB_COPY_DATA_OVERRIDE {
    std::memcpy(dest, src, count);
  }

 private:
  c10::Allocator* inner_;
};

int64_t status_kb(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) return std::stoll(line.substr(key.size() + 1));
  return 0;
}

}  // namespace

void install_memory_tracker() {
  if (g_installed.exchange(true)) return;
  // Owned by c10 from now on (SetCPUAllocator takes the pointer); never freed on purpose.
  static CountingAllocator* counting = new CountingAllocator(c10::GetDefaultCPUAllocator());
  c10::SetCPUAllocator(counting, /*priority=*/100);
}

bool memory_tracker_installed() { return g_installed.load(); }
int64_t tensor_bytes_live() { return g_live.load(std::memory_order_relaxed); }
int64_t tensor_bytes_peak() { return g_peak.load(std::memory_order_relaxed); }
void reset_tensor_peak() { g_peak.store(g_live.load(std::memory_order_relaxed), std::memory_order_relaxed); }

int64_t rss_peak_bytes() { return status_kb("VmHWM") * 1024; }
int64_t rss_bytes() { return status_kb("VmRSS") * 1024; }
bool reset_rss_peak() {
  std::ofstream out("/proc/self/clear_refs");
  if (!out) return false;
  out << "5";
  return static_cast<bool>(out.flush());
}

}  // namespace headlab::bench
