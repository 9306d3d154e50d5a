#pragma once
// Helpers shared by the tests of core/data.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "common/errors.h"

namespace headlab::data::test_util {

// Runs `fn`, expecting an InputError whose message contains `needle`.
inline void expect_input_error(const std::function<void()>& fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "expected an InputError containing \"" << needle << "\"";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "message \"" << e.what() << "\" lacks \"" << needle << "\"";
  }
}

}  // namespace headlab::data::test_util
