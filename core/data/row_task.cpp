#include "data/row_task.h"

#include "common/errors.h"

namespace headlab::data {

std::string symbol_alphabet(int64_t n) {
  // Lower-case first: the most readable on attention-map axes.
  static const std::string kSymbols =
      "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  if (n < 1 || n > static_cast<int64_t>(kSymbols.size())) {
    throw InputError("symbol count " + std::to_string(n) + " must be in [1, " +
                     std::to_string(kSymbols.size()) + "]");
  }
  return kSymbols.substr(0, static_cast<std::size_t>(n));
}

}  // namespace headlab::data
