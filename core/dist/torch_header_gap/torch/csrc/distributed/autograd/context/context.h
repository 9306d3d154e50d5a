#pragma once
// Only on the include path of dist/gradient_reducer.cpp, and only where LibTorch's own copy of
// this header is missing (core/CMakeLists.txt checks): Debian 12's libtorch-dev ships
// c10d/reducer.hpp but not the distributed-autograd header it includes. What reducer.hpp
// needs from it is the name of the context class, its GradCallback type and ContextPtr, all
// as LibTorch 1.13 declares them; the Reducer only ever holds a (here always empty)
// shared_ptr to a context, so no member of the class is used, and the Reducer's layout does
// not depend on it. Nothing else may include this file.
#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>

namespace torch {
namespace distributed {
namespace autograd {

class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};

using ContextPtr = std::shared_ptr<DistAutogradContext>;

}  // namespace autograd
}  // namespace distributed
}  // namespace torch
