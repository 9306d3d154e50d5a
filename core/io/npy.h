#pragma once
// NumPy .npy files (format v1.0), the data export that Python users load with numpy.load (the
// app only writes them; the tests read them back with tests/core/npy_reader.h):
// '<f4' (float32) and '<i8' (int64), C order, little-endian.
//
// Deliberately torch-free: at::Tensor is only forward-declared so that code which must not
// include torch (widgets/) can still use the std::vector writer.
#include <cstdint>
#include <filesystem>
#include <vector>

namespace at {
class Tensor;
}

namespace headlab::io {

// Floating tensors (any dtype, any device) are written as '<f4', integer tensors as '<i8';
// anything else (bool, complex) is std::invalid_argument. Atomic: see write_file_atomic.
void write_npy(const std::filesystem::path& path, const at::Tensor& tensor);

// `values` in C order; the product of `shape` must equal values.size() (else
// std::invalid_argument). An empty shape is a 0-d array holding one value.
void write_npy(const std::filesystem::path& path, const std::vector<float>& values,
               const std::vector<int64_t>& shape);

}  // namespace headlab::io
