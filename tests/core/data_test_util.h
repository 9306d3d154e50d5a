#pragma once
// Helpers shared by the tests of core/data.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "common/errors.h"
#include "data/data_source.h"

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

// Row b of a batch as the T + 1 tokens it was cut from, and which of them are scored.
struct FullRow {
  std::vector<int64_t> tokens;
  std::vector<bool> scored;  // scored[j]: token j is a scored target (scored[0] is false)
};

inline FullRow full_row(const Batch& batch, int64_t b) {
  const int64_t T = batch.inputs.size(1);
  FullRow row;
  row.tokens.push_back(batch.inputs[b][0].item<int64_t>());
  row.scored.push_back(false);
  for (int64_t t = 0; t < T; ++t) {
    row.tokens.push_back(batch.targets[b][t].item<int64_t>());
    row.scored.push_back(batch.loss_mask[b][t].item<float>() != 0.0f);
  }
  return row;
}

}  // namespace headlab::data::test_util
