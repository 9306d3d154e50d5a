#include "dist/local_ranks.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <chrono>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "common/errors.h"

extern char** environ;

namespace headlab::dist {
namespace {

std::atomic<int> g_forward_signal{0};

extern "C" void on_launcher_signal(int sig) { g_forward_signal.store(sig); }

// A port no one listens on now: the kernel's pick for a socket bound to port 0. Rank 0 binds
// it a moment later; the window in between is the same one torchrun --standalone accepts.
int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw InputError(std::string("--nproc: cannot open a socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  if (!ok) throw InputError(std::string("--nproc: cannot find a free loopback port: ") + std::strerror(errno));
  return ntohs(addr.sin_port);
}

std::string describe(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

int launch_local_ranks(int nproc, const std::vector<std::string>& args) {
  if (args.empty()) throw std::logic_error("launch_local_ranks without a command line");
  const int port = free_loopback_port();
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::string> base_env;
  const auto set_per_rank = [](const std::string& var) {
    for (const char* ours : {"RANK=", "WORLD_SIZE=", "LOCAL_RANK=", "LOCAL_WORLD_SIZE=", "MASTER_ADDR=", "MASTER_PORT="})
      if (var.rfind(ours, 0) == 0) return true;
    return false;
  };
  for (char** e = environ; *e; ++e)
    if (!set_per_rank(*e)) base_env.push_back(*e);
  if (!std::getenv("OMP_NUM_THREADS"))
    base_env.push_back("OMP_NUM_THREADS=" + std::to_string(std::max(1u, cores / static_cast<unsigned>(nproc))));
  base_env.push_back("WORLD_SIZE=" + std::to_string(nproc));
  base_env.push_back("LOCAL_WORLD_SIZE=" + std::to_string(nproc));
  base_env.push_back("MASTER_ADDR=127.0.0.1");
  base_env.push_back("MASTER_PORT=" + std::to_string(port));
  base_env.push_back(std::string(kLocalLaunchVariable) + "=1");

  std::vector<std::string> arg_copies = args;
  std::vector<char*> argv;
  for (auto& a : arg_copies) argv.push_back(a.data());
  argv.push_back(nullptr);

  auto previous_int = std::signal(SIGINT, on_launcher_signal);
  auto previous_term = std::signal(SIGTERM, on_launcher_signal);
  std::vector<pid_t> pids(static_cast<size_t>(nproc), -1);
  std::vector<int> statuses(static_cast<size_t>(nproc), 0);
  int running = 0;
  for (int rank = 0; rank < nproc; ++rank) {
    std::vector<std::string> env = base_env;
    env.push_back("RANK=" + std::to_string(rank));
    env.push_back("LOCAL_RANK=" + std::to_string(rank));
    std::vector<char*> envp;
    for (auto& v : env) envp.push_back(v.data());
    envp.push_back(nullptr);
    pid_t pid = -1;
    const int err = posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv.data(), envp.data());
    if (err != 0) {
      for (pid_t p : pids)
        if (p > 0) ::kill(p, SIGTERM);
      std::signal(SIGINT, previous_int);
      std::signal(SIGTERM, previous_term);
      throw std::runtime_error("--nproc: cannot start rank " + std::to_string(rank) + ": " + std::strerror(err));
    }
    pids[static_cast<size_t>(rank)] = pid;
    ++running;
  }

  int first_failure = -1;  // the rank whose end stopped the others
  bool forwarded = false;
  while (running > 0) {
    if (const int sig = g_forward_signal.load(); sig != 0 && !forwarded) {
      for (size_t r = 0; r < pids.size(); ++r)
        if (pids[r] > 0) ::kill(pids[r], sig);
      forwarded = true;
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    for (size_t r = 0; r < pids.size(); ++r) {
      if (pids[r] != pid) continue;
      pids[r] = -1;
      statuses[r] = status;
      --running;
      const bool failed = !(WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 130));
      if (failed && first_failure < 0) {
        first_failure = static_cast<int>(r);
        if (running > 0)
          std::cerr << "rank " << r << " of " << nproc << " (pid " << pid << ") ended with "
                    << describe(status) << "; stopping the other ranks\n";
        for (pid_t other : pids)
          if (other > 0) ::kill(other, SIGTERM);
      }
    }
  }
  std::signal(SIGINT, previous_int);
  std::signal(SIGTERM, previous_term);
  return exit_code_of(statuses[static_cast<size_t>(first_failure >= 0 ? first_failure : 0)]);
}

}  // namespace headlab::dist
