#include "npy_reader.h"

#include <cctype>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "common/errors.h"

namespace headlab::testutil {
namespace fs = std::filesystem;

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr uint64_t kMaxHeaderBytes = 1 << 20;

std::string shape_repr(const std::vector<int64_t>& shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) out += ",";
  return out + ")";
}

[[noreturn]] void fail(const fs::path& path, const std::string& message) {
  throw InputError(path.string() + ": " + message);
}

// A reader for the one Python literal numpy writes: a dict of str -> str | bool | tuple of ints.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const fs::path& path) : s_(text), path_(path) {}

  void parse(std::string* descr, bool* fortran, std::vector<int64_t>* shape, bool* have_shape) {
    expect('{');
    while (true) {
      skip_ws();
      if (peek() == '}') break;
      const std::string key = parse_string();
      expect(':');
      skip_ws();
      if (key == "descr") {
        *descr = parse_string();
      } else if (key == "fortran_order") {
        *fortran = parse_bool();
      } else if (key == "shape") {
        *shape = parse_tuple();
        *have_shape = true;
      } else {
        fail(path_, "unexpected key '" + key + "' in the npy header");
      }
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') break;
      bad();
    }
  }

 private:
  [[noreturn]] void bad() {
    fail(path_, "malformed npy header near byte " + std::to_string(pos_) + ": " + s_);
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  void expect(char c) {
    skip_ws();
    if (peek() != c) bad();
    ++pos_;
  }
  std::string parse_string() {
    skip_ws();
    const char quote = peek();
    if (quote != '\'' && quote != '"') bad();
    const size_t end = s_.find(quote, pos_ + 1);
    if (end == std::string::npos) bad();
    std::string out = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return out;
  }
  bool parse_bool() {
    for (const bool value : {true, false}) {
      const std::string word = value ? "True" : "False";
      if (s_.compare(pos_, word.size(), word) == 0) {
        pos_ += word.size();
        return value;
      }
    }
    bad();
  }
  std::vector<int64_t> parse_tuple() {
    std::vector<int64_t> out;
    expect('(');
    while (true) {
      skip_ws();
      if (peek() == ')') break;
      if (!std::isdigit(static_cast<unsigned char>(peek()))) bad();
      uint64_t value = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        if (__builtin_mul_overflow(value, 10u, &value) ||
            __builtin_add_overflow(value, peek() - '0', &value) || value > static_cast<uint64_t>(INT64_MAX))
          fail(path_, "npy shape dimension is too large");
        ++pos_;
      }
      if (peek() == 'L') ++pos_;  // Python 2 long literal
      out.push_back(static_cast<int64_t>(value));
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != ')') bad();
    }
    ++pos_;
    if (out.size() > 32) fail(path_, "npy array has too many dimensions");
    return out;
  }

  const std::string& s_;
  const fs::path& path_;
  size_t pos_ = 0;
};

}  // namespace

at::Tensor read_npy(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail(path, "is a directory, not an npy file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, std::string("cannot open: ") + std::strerror(errno));
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail(path, "read error");

  if (bytes.size() < kMagicLen + 4 || bytes.compare(0, kMagicLen, kMagic, kMagicLen) != 0)
    fail(path, "not an npy file (missing the \\x93NUMPY magic)");
  const auto byte = [&](size_t i) { return static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])); };
  const uint64_t major = byte(kMagicLen);
  uint64_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = byte(8) | byte(9) << 8;
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail(path, "truncated npy header");
    header_len = byte(8) | byte(9) << 8 | byte(10) << 16 | byte(11) << 24;
    header_start = 12;
  } else {
    fail(path, "unsupported npy format version " + std::to_string(major));
  }
  if (header_len > kMaxHeaderBytes || header_len > bytes.size() - header_start)
    fail(path, "npy header length " + std::to_string(header_len) + " runs past the end of the file");

  std::string descr;
  bool fortran = false, have_shape = false;
  std::vector<int64_t> shape;
  const std::string header = bytes.substr(header_start, header_len);
  HeaderParser(header, path).parse(&descr, &fortran, &shape, &have_shape);
  if (!have_shape || descr.empty()) fail(path, "npy header lacks 'descr' or 'shape'");
  if (fortran) fail(path, "Fortran-order arrays are not supported (save with C order)");
  torch::ScalarType dtype;
  if (descr == "<f4") {
    dtype = torch::kFloat32;
  } else if (descr == "<i8") {
    dtype = torch::kInt64;
  } else {
    fail(path, "unsupported npy dtype '" + descr + "' (supported: '<f4', '<i8')");
  }

  // torch multiplies every dimension, zeros included, so the non-zero ones must fit together.
  uint64_t nonzero_product = 1;
  bool has_zero = false;
  for (int64_t d : shape) {
    has_zero = has_zero || d == 0;
    if (d > 0 && __builtin_mul_overflow(nonzero_product, static_cast<uint64_t>(d), &nonzero_product))
      fail(path, "npy shape " + shape_repr(shape) + " is too large");
  }
  if (nonzero_product > static_cast<uint64_t>(INT64_MAX) / 8)
    fail(path, "npy shape " + shape_repr(shape) + " is too large");
  const uint64_t nbytes = (has_zero ? 0 : nonzero_product) * (dtype == torch::kFloat32 ? 4 : 8);
  const uint64_t available = bytes.size() - header_start - header_len;
  if (available != nbytes)
    fail(path, "npy data is " + std::to_string(available) + " bytes but shape " + shape_repr(shape) +
                   " of '" + descr + "' needs " + std::to_string(nbytes) +
                   (available < nbytes ? " (truncated file)" : ""));
  torch::Tensor out = torch::empty(shape, dtype);
  if (nbytes > 0) std::memcpy(out.data_ptr(), bytes.data() + header_start + header_len, nbytes);
  return out;
}

}  // namespace headlab::testutil
