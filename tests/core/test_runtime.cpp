#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/errors.h"
#include "common/runtime.h"

TEST(Runtime, ConfiguresRequestedThreadCount) {
  EXPECT_EQ(headlab::configure_threads(1), 1);
  EXPECT_EQ(at::get_num_threads(), 1);
}

TEST(Runtime, ResolvesDeviceNames) {
  EXPECT_EQ(headlab::resolve_device_name("cpu"), "cpu");
  EXPECT_THROW(headlab::resolve_device_name("tpu"), headlab::InputError);
  if (!torch::cuda::is_available()) {
    EXPECT_EQ(headlab::resolve_device_name("auto"), "cpu");
    EXPECT_THROW(headlab::resolve_device_name("cuda"), headlab::InputError);
  }
}
