#pragma once
// Inside dist/ only (it includes Gloo's headers, which need HEADLAB_HAVE_GLOO's compile
// definitions): what a DataParallel holds, shared by data_parallel.cpp, which makes it, and
// gradient_reducer.cpp, which builds c10d's Reducer on it.
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <type_traits>

#include "dist/data_parallel.h"

namespace headlab::dist {

struct DataParallel::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  // The same group as c10d::ProcessGroup, the type the Reducer takes.
  c10::intrusive_ptr<c10d::ProcessGroup> process_group;
};

// LibTorch 1.13's ProcessGroupGloo is a c10d::ProcessGroup. From 2.0 it is a c10d::Backend,
// and a ProcessGroup is a front that dispatches each collective to the backend registered for
// the tensors' device, as torch.distributed builds it for "gloo". PG is c10d::ProcessGroup,
// a template parameter only so that the 2.x branch is not compiled against 1.13.
template <typename PG, typename Gloo>
c10::intrusive_ptr<PG> as_process_group(const c10::intrusive_ptr<Gloo>& gloo, const c10::intrusive_ptr<c10d::Store>& store,
                                        int rank, int size) {
  if constexpr (std::is_base_of_v<PG, Gloo>) {
    return gloo;
  } else {
    auto group = c10::make_intrusive<PG>(store, rank, size);
    group->setBackend(c10::DeviceType::CPU, PG::BackendType::GLOO, gloo);
    group->setDefaultBackend(PG::BackendType::GLOO);
    return group;
  }
}

}  // namespace headlab::dist
