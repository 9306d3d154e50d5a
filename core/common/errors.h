#pragma once
// Error kinds that cross module boundaries. The CLI maps InputError to exit code 2
// (bad usage or bad input, with the message on stderr) and anything else to 1.
#include <stdexcept>
#include <string>

namespace headlab {

// The user's input is wrong: a malformed config, a truncated or foreign checkpoint,
// impossible hyper-parameters. The message names the field, tensor or file at fault.
class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace headlab
