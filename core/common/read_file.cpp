#include "common/read_file.h"

#include <fstream>
#include <sstream>

#include "common/errors.h"
#include "common/json_file.h"

namespace headlab {

std::string read_file_bytes(const std::filesystem::path& path) {
  require_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open for reading");
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) throw InputError(path.string() + ": read error");
  return content.str();
}

}  // namespace headlab
