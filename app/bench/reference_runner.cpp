#include "reference_runner.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <vector>

namespace headlab::bench {

std::unique_ptr<ReferenceProcess> ReferenceProcess::start(const std::string& python, const std::string& script,
                                                          int threads, std::string* why) {
  if (!std::filesystem::exists(script)) {
    *why = "reference script not found: " + script;
    return nullptr;
  }
  int in_pipe[2], out_pipe[2];
  if (pipe(in_pipe) != 0 || pipe(out_pipe) != 0) {
    *why = "pipe() failed";
    return nullptr;
  }
  std::vector<std::string> args = {python, script, "serve", "--threads", std::to_string(threads)};
  const pid_t pid = fork();
  if (pid < 0) {
    *why = "fork() failed";
    return nullptr;
  }
  if (pid == 0) {
    dup2(in_pipe[0], STDIN_FILENO);
    dup2(out_pipe[1], STDOUT_FILENO);
    close(in_pipe[0]);
    close(in_pipe[1]);
    close(out_pipe[0]);
    close(out_pipe[1]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(python.c_str(), argv.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  std::unique_ptr<ReferenceProcess> p(new ReferenceProcess());
  p->pid_ = pid;
  p->to_child_ = fdopen(in_pipe[1], "w");
  p->from_child_ = fdopen(out_pipe[0], "r");
  try {
    p->hello_ = nlohmann::json::parse(p->read_line());
  } catch (const std::exception& e) {
    *why = python + " " + script + " did not start (is python3-torch installed?): " + e.what();
    return nullptr;
  }
  return p;
}

ReferenceProcess::~ReferenceProcess() {
  if (to_child_) {
    std::fputs("{\"cmd\": \"quit\"}\n", to_child_);
    std::fclose(to_child_);
  }
  if (from_child_) std::fclose(from_child_);
  if (pid_ > 0) waitpid(pid_, nullptr, 0);
}

std::string ReferenceProcess::read_line() {
  std::string line;
  int c;
  while ((c = std::fgetc(from_child_)) != EOF && c != '\n') line.push_back(static_cast<char>(c));
  if (c == EOF && line.empty()) throw std::runtime_error("the reference process ended");
  return line;
}

nlohmann::json ReferenceProcess::request(const nlohmann::json& message) {
  const std::string text = message.dump() + "\n";
  if (std::fputs(text.c_str(), to_child_) < 0 || std::fflush(to_child_) != 0)
    throw std::runtime_error("the reference process is gone");
  auto reply = nlohmann::json::parse(read_line());
  if (reply.contains("error")) throw std::runtime_error("reference: " + reply["error"].get<std::string>());
  return reply;
}

}  // namespace headlab::bench
