#include "common/json_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "common/errors.h"
#include "common/read_file.h"

namespace headlab {

nlohmann::json parse_json_text(const std::string& text, const std::string& source_name) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann reports a byte offset; people want line and column.
    size_t line = 1, column = 1;
    const size_t end = std::min(text.size(), e.byte > 0 ? e.byte - 1 : 0);
    for (size_t i = 0; i < end; ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    throw InputError(source_name + ":" + std::to_string(line) + ":" + std::to_string(column) +
                     ": invalid JSON: " + json_error_text(e));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(source_name + ": invalid JSON: " + json_error_text(e));  // e.g. 1e999
  }
}

std::string json_error_text(const nlohmann::json::exception& e) {
  std::string what = e.what();
  // "; last read: '...'" quotes the raw bytes around the error: garbage (or terminal control
  // bytes) when the file is corrupt, and the position is said anyway.
  const auto last_read = what.find("; last read:");
  if (last_read != std::string::npos) what.erase(last_read, what.find("; expected", last_read) - last_read);
  const auto syntax = what.find("syntax error");
  if (syntax != std::string::npos) return what.substr(syntax);
  const auto bracket = what.find("] ");
  return bracket == std::string::npos ? what : what.substr(bracket + 2);
}

void require_regular_file(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) throw InputError(path.string() + ": no such file");
    throw InputError(path.string() + ": cannot be read: " + std::strerror(err));  // ELOOP, EACCES, ...
  }
  if (S_ISREG(st.st_mode)) return;
  const char* what = S_ISDIR(st.st_mode)    ? "a directory"
                     : S_ISFIFO(st.st_mode) ? "a FIFO (named pipe)"
                     : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                     : S_ISSOCK(st.st_mode) ? "a socket"
                                            : "not a regular file";
  throw InputError(path.string() + " is " + what + ", not a regular file");
}

nlohmann::json read_json_file(const std::filesystem::path& path) {
  return parse_json_text(read_file_bytes(path), path.string());
}

void apply_override(nlohmann::json& target, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw InputError("--set '" + assignment + "': expected key=value, e.g. train.lr=1e-3");
  const std::string key = assignment.substr(0, eq), value_text = assignment.substr(eq + 1);
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(value_text);
  } catch (const nlohmann::json::parse_error&) {
    value = value_text;
  }
  nlohmann::json* node = &target;
  std::stringstream parts(key);
  std::string part;
  std::vector<std::string> path;
  while (std::getline(parts, part, '.')) path.push_back(part);
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    if (path[i].empty()) throw InputError("--set '" + assignment + "': empty key part");
    if (!node->is_object()) throw InputError("--set '" + assignment + "': '" + path[i] + "' is not an object");
    node = &(*node)[path[i]];
    if (node->is_null()) *node = nlohmann::json::object();
  }
  if (!node->is_object()) throw InputError("--set '" + assignment + "': parent of '" + path.back() + "' is not an object");
  (*node)[path.back()] = value;
}

}  // namespace headlab
