#pragma once
// The safetensors container (MODEL.md §4): 8-byte little-endian header length N, N bytes of
// JSON header, then raw little-endian tensor data. Written: F32. Read: F32, F16, BF16, all
// returned as float32 CPU tensors. The reader treats every file as hostile: any malformed input
// is an InputError that names the file and, where there is one, the tensor.
#include <torch/types.h>  // torch::Tensor without the full <torch/torch.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace headlab::io {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

struct SafetensorsContents {
  NamedTensors tensors;  // in ascending data-offset order (the order they were written)
  std::map<std::string, std::string> metadata;  // the header's "__metadata__"
};

// A header longer than this is rejected unread (the same bound as the reference reader).
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

// Writes `tensors` in the given order as F32 (floating tensors of any dtype and device are
// converted; others are rejected with std::invalid_argument, as are duplicate names and
// non-finite values, which no reader would accept). Atomic: see write_file_atomic.
void write_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata);

// The bytes write_safetensors puts in the file (exposed for tests and in-memory use).
std::string serialize_safetensors(const NamedTensors& tensors,
                                  const std::map<std::string, std::string>& metadata);

// Reads and validates a whole file. InputError if it cannot be opened or is malformed.
SafetensorsContents read_safetensors(const std::filesystem::path& path);

// Validates and decodes the bytes of a safetensors file; `source_name` (usually the path)
// starts every error message.
SafetensorsContents parse_safetensors(const std::string& bytes, const std::string& source_name);

// A safetensors file mapped into memory, for models larger than a copy should be: the header
// is validated up front (as parse_safetensors does), each tensor is decoded on demand straight
// into its destination, and the file pages it came from are handed back to the kernel, so that
// loading costs the float32 model plus one tensor, not the file plus two copies.
class MappedSafetensors {
 public:
  explicit MappedSafetensors(const std::filesystem::path& path);  // InputError naming the file
  ~MappedSafetensors();
  MappedSafetensors(const MappedSafetensors&) = delete;
  MappedSafetensors& operator=(const MappedSafetensors&) = delete;

  const std::string& source() const;
  const std::map<std::string, std::string>& metadata() const;
  std::vector<std::string> names() const;  // in data order
  bool contains(const std::string& name) const;
  std::vector<int64_t> shape(const std::string& name) const;  // InputError when absent
  // Decodes `name` as float32 into `out` (a contiguous float32 CPU tensor with as many
  // elements); InputError on a non-finite value. The tensor's file pages are released after.
  void read_into(const std::string& name, torch::Tensor& out) const;
  torch::Tensor read(const std::string& name) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace headlab::io
