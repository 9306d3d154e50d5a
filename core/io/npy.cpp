#include "io/npy.h"

#include <torch/torch.h>

#include <cstring>
#include <stdexcept>
#include <string>

#include "io/atomic_file.h"

namespace headlab::io {
namespace fs = std::filesystem;

namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "npy I/O assumes a little-endian host");

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

std::string shape_repr(const std::vector<int64_t>& shape) {
  // Python tuple syntax: (), (5,), (2, 3)
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) out += ",";
  return out + ")";
}

std::string npy_bytes(const char* descr, const std::vector<int64_t>& shape, const void* data, size_t nbytes) {
  std::string header =
      std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape_repr(shape) + ", }";
  // numpy aligns the data to 64 bytes: magic(6) + version(2) + length(2) + header + '\n'.
  const size_t unpadded = kMagicLen + 2 + 2 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  if (header.size() > 0xffff) throw std::invalid_argument("npy header too long for format 1.0");

  std::string out(kMagic, kMagicLen);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(static_cast<const char*>(data), nbytes);
  return out;
}

}  // namespace

void write_npy(const fs::path& path, const at::Tensor& tensor) {
  if (!tensor.defined()) throw std::invalid_argument("write_npy: undefined tensor for " + path.string());
  torch::Tensor t;
  const char* descr = nullptr;
  if (tensor.is_floating_point()) {
    t = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    descr = "<f4";
  } else if (at::isIntegralType(tensor.scalar_type(), /*includeBool=*/false)) {
    t = tensor.detach().to(torch::kCPU, torch::kInt64).contiguous();
    descr = "<i8";
  } else {
    throw std::invalid_argument("write_npy: unsupported tensor dtype " +
                                std::string(c10::toString(tensor.scalar_type())) + " for " + path.string());
  }
  write_file_atomic(path, npy_bytes(descr, t.sizes().vec(), t.data_ptr(), t.numel() * t.element_size()));
}

void write_npy(const fs::path& path, const std::vector<float>& values, const std::vector<int64_t>& shape) {
  uint64_t numel = 1;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel))
      throw std::invalid_argument("write_npy: invalid shape " + shape_repr(shape) + " for " + path.string());
  }
  if (numel != values.size())
    throw std::invalid_argument("write_npy: shape " + shape_repr(shape) + " needs " + std::to_string(numel) +
                                " values but " + std::to_string(values.size()) + " were given for " +
                                path.string());
  write_file_atomic(path, npy_bytes("<f4", shape, values.data(), values.size() * sizeof(float)));
}

}  // namespace headlab::io
