#pragma once
// Peak tensor memory on the CPU: a counting wrapper around LibTorch's default CPU allocator
// (every CPU tensor's storage goes through it; BLAS scratch buffers and the Python
// reference's memory do not). Also the process's peak RSS (VmHWM), resettable on Linux.
#include <cstdint>

namespace headlab::bench {

// Installs the counting allocator once; later calls do nothing. Tensors allocated before
// keep their own deleters and are not counted.
void install_memory_tracker();
bool memory_tracker_installed();
int64_t tensor_bytes_live();
int64_t tensor_bytes_peak();
// Starts a new peak from the bytes live now.
void reset_tensor_peak();

// VmHWM / VmRSS of this process in bytes (0 when /proc is unavailable); reset_rss_peak writes
// 5 to /proc/self/clear_refs, returning false when the kernel refuses.
int64_t rss_peak_bytes();
int64_t rss_bytes();
bool reset_rss_peak();

}  // namespace headlab::bench
