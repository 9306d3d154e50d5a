#include "io/jsonl_tail.h"

#include <fstream>

#include "common/errors.h"
#include "common/json_file.h"

namespace headlab::io {
namespace fs = std::filesystem;

JsonlTail::Update JsonlTail::poll() {
  Update update;
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(file_, ec))) return update;
  require_regular_file(file_);
  const std::uintmax_t size = fs::file_size(file_, ec);
  if (ec) return update;  // gone between the two calls: next time
  if (size < offset_) {
    offset_ = 0;
    line_ = 0;
    update.restarted = true;
  }
  if (size == offset_) return update;
  std::ifstream in(file_, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset_));
  std::string chunk(static_cast<size_t>(size - offset_), '\0');
  in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
  chunk.resize(static_cast<size_t>(in.gcount()));
  size_t begin = 0;
  for (size_t end = chunk.find('\n'); end != std::string::npos; begin = end + 1, end = chunk.find('\n', begin)) {
    ++line_;
    const std::string line = chunk.substr(begin, end - begin);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object())
      throw InputError(file_.string() + ":" + std::to_string(line_) + ": a line must be a JSON object");
    update.records.push_back(std::move(j));
  }
  offset_ += begin;  // a torn last line stays unread until its '\n' arrives
  return update;
}

}  // namespace headlab::io
