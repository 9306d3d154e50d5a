#pragma once
// A reader for the .npy files HeadLab writes, for the tests only: the app never reads .npy.
// '<f4' or '<i8' C-order arrays become float32 / int64 CPU tensors. Anything else (another
// dtype, Fortran order, a truncated or malformed file) is an InputError naming the file.
#include <torch/torch.h>

#include <filesystem>

namespace headlab::testutil {

at::Tensor read_npy(const std::filesystem::path& path);

}  // namespace headlab::testutil
