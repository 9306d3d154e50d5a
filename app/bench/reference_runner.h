#pragma once
// The PyTorch reference (tests/reference/headlab_reference.py) as a child process in its
// `serve` mode: the bench asks it for one timed window at a time, between its own windows.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <sys/types.h>

namespace headlab::bench {

class ReferenceProcess {
 public:
  // nullptr with *why filled when the script or its torch cannot be started.
  static std::unique_ptr<ReferenceProcess> start(const std::string& python, const std::string& script, int threads,
                                                 std::string* why);
  ~ReferenceProcess();
  ReferenceProcess(const ReferenceProcess&) = delete;
  ReferenceProcess& operator=(const ReferenceProcess&) = delete;

  // One request, one reply; std::runtime_error when the child died or reported an error.
  nlohmann::json request(const nlohmann::json& message);
  const nlohmann::json& hello() const { return hello_; }  // {"torch", "threads"}

 private:
  ReferenceProcess() = default;
  std::string read_line();
  pid_t pid_ = -1;
  FILE* to_child_ = nullptr;
  FILE* from_child_ = nullptr;
  nlohmann::json hello_;
};

}  // namespace headlab::bench
