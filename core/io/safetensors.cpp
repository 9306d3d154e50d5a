#include "io/safetensors.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>

#include "common/errors.h"
#include "common/json_file.h"
#include "io/atomic_file.h"

namespace headlab::io {
namespace fs = std::filesystem;

namespace {

// Tensor bytes are copied with memcpy, which is only right on a little-endian host (all the
// machines this targets). A big-endian port would byte-swap here.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes a little-endian host");

// Deeper nesting than this is no safetensors header; refusing it early bounds the work and
// the stack used on hostile input.
constexpr int kMaxJsonDepth = 16;
// More dimensions than any model tensor has; keeps torch's own shape arithmetic away from
// absurd inputs.
constexpr size_t kMaxDims = 32;

enum class Dtype { kF32, kF16, kBF16 };

struct Entry {
  std::string name;
  Dtype dtype = Dtype::kF32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

uint64_t item_size(Dtype dtype) { return dtype == Dtype::kF32 ? 4 : 2; }

const char* dtype_name(Dtype dtype) {
  switch (dtype) {
    case Dtype::kF32:
      return "F32";
    case Dtype::kF16:
      return "F16";
    case Dtype::kBF16:
      return "BF16";
  }
  return "?";
}

[[noreturn]] void fail(const std::string& source, const std::string& message) {
  throw InputError(source + ": " + message);
}

[[noreturn]] void fail_tensor(const std::string& source, const std::string& tensor,
                              const std::string& message) {
  throw InputError(source + ": tensor '" + tensor + "': " + message);
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

// Non-negative JSON integer; false for anything else (negative, float, string, ...).
bool as_u64(const nlohmann::json& value, uint64_t* out) {
  if (!value.is_number_unsigned()) return false;
  *out = value.get<uint64_t>();
  return true;
}

const nlohmann::json& field(const std::string& source, const std::string& tensor, const nlohmann::json& entry,
                            const char* key) {
  const auto it = entry.find(key);
  if (it == entry.end()) fail_tensor(source, tensor, std::string("missing field '") + key + "'");
  return *it;
}

Dtype parse_dtype(const std::string& source, const std::string& tensor, const nlohmann::json& value) {
  if (!value.is_string()) fail_tensor(source, tensor, "field 'dtype' must be a string");
  const std::string name = value.get<std::string>();
  if (name == "F32") return Dtype::kF32;
  if (name == "F16") return Dtype::kF16;
  if (name == "BF16") return Dtype::kBF16;
  static const std::set<std::string> kKnown = {"BOOL", "U8",  "I8",  "F8_E5M2", "F8_E4M3", "I16",
                                               "U16",  "I32", "U32", "F64",     "I64",     "U64"};
  fail_tensor(source, tensor,
              std::string(kKnown.count(name) ? "unsupported" : "unknown") + " dtype '" + name +
                  "' (supported: F32, F16, BF16)");
}

Entry parse_entry(const std::string& source, const std::string& name, const nlohmann::json& value) {
  if (!value.is_object())
    fail_tensor(source, name, "header entry must be a JSON object with dtype, shape, data_offsets");
  Entry entry;
  entry.name = name;
  entry.dtype = parse_dtype(source, name, field(source, name, value, "dtype"));

  const nlohmann::json& shape = field(source, name, value, "shape");
  if (!shape.is_array()) fail_tensor(source, name, "field 'shape' must be an array of integers");
  if (shape.size() > kMaxDims)
    fail_tensor(source, name,
                "shape has " + std::to_string(shape.size()) + " dimensions (at most " +
                    std::to_string(kMaxDims) + " supported)");
  // torch multiplies all dimensions, zeros included, so even a zero-sized tensor needs the
  // product of its non-zero dimensions (times the float32 size) to fit in int64.
  uint64_t nonzero_product = 1;
  for (const nlohmann::json& dim : shape) {
    if (dim.is_number_integer() && !dim.is_number_unsigned() && dim.get<int64_t>() < 0)
      fail_tensor(source, name, "negative dimension " + std::to_string(dim.get<int64_t>()) + " in shape");
    uint64_t d = 0;
    if (!as_u64(dim, &d)) fail_tensor(source, name, "field 'shape' must be an array of integers");
    if (d > 0 && __builtin_mul_overflow(nonzero_product, d, &nonzero_product))
      fail_tensor(source, name, "shape is too large (element count overflows)");
    entry.shape.push_back(static_cast<int64_t>(std::min<uint64_t>(d, std::numeric_limits<int64_t>::max())));
  }
  if (nonzero_product > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / 4)
    fail_tensor(source, name, "shape " + shape_text(entry.shape) + " is too large");

  const nlohmann::json& offsets = field(source, name, value, "data_offsets");
  if (!offsets.is_array() || offsets.size() != 2 || !as_u64(offsets[0], &entry.begin) ||
      !as_u64(offsets[1], &entry.end))
    fail_tensor(source, name,
                "field 'data_offsets' must be an array of two non-negative integers [begin, end]");
  return entry;
}

void check_entry_bounds(const std::string& source, const Entry& e, uint64_t data_size) {
  if (e.begin > e.end)
    fail_tensor(source, e.name,
                "data_offsets begin " + std::to_string(e.begin) + " is after end " + std::to_string(e.end));
  if (e.end > data_size)
    fail_tensor(source, e.name,
                "data_offsets end " + std::to_string(e.end) + " is beyond the end of the data section (" +
                    std::to_string(data_size) + " bytes; the file is truncated or the header is wrong)");
  uint64_t numel = 1, nbytes = 0;
  for (int64_t d : e.shape) numel *= static_cast<uint64_t>(d);  // cannot overflow: checked above
  nbytes = numel * item_size(e.dtype);
  if (nbytes != e.end - e.begin)
    fail_tensor(source, e.name,
                "data_offsets span " + std::to_string(e.end - e.begin) + " bytes but " + dtype_name(e.dtype) +
                    " with shape " + shape_text(e.shape) + " needs " + std::to_string(nbytes) + " bytes");
}

// Two tensors may not share bytes. Empty ranges share nothing.
void check_no_overlap(const std::string& source, const std::vector<Entry>& sorted) {
  const Entry* furthest = nullptr;
  for (const Entry& e : sorted) {
    if (e.begin == e.end) continue;
    if (furthest && e.begin < furthest->end)
      fail(source, "tensors '" + furthest->name + "' and '" + e.name + "' have overlapping data ranges [" +
                       std::to_string(furthest->begin) + ", " + std::to_string(furthest->end) + ") and [" +
                       std::to_string(e.begin) + ", " + std::to_string(e.end) + ")");
    if (!furthest || e.end > furthest->end) furthest = &e;
  }
}

float bits_to_float(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24, exact in float
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31) return bits_to_float(sign | 0x7f800000u | (mantissa << 13));
  return bits_to_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

// Decodes one tensor's bytes (from `data`, the start of the data section) into e.numel floats.
void decode_into(const std::string& source, const Entry& e, const char* data, float* dst) {
  uint64_t n = 1;
  for (int64_t dim : e.shape) n *= static_cast<uint64_t>(dim);
  const char* src = data + e.begin;
  auto non_finite = [&](uint64_t i) {
    fail_tensor(source, e.name, "holds a non-finite value (NaN or Inf) at element " + std::to_string(i));
  };
  for (uint64_t i = 0; i < n; ++i) {
    if (e.dtype == Dtype::kF32) {
      uint32_t bits;
      std::memcpy(&bits, src + 4 * i, 4);
      if ((bits & 0x7f800000u) == 0x7f800000u) non_finite(i);
      dst[i] = bits_to_float(bits);
    } else {
      uint16_t bits;
      std::memcpy(&bits, src + 2 * i, 2);
      if (e.dtype == Dtype::kF16) {
        if ((bits & 0x7c00u) == 0x7c00u) non_finite(i);
        dst[i] = half_to_float(bits);
      } else {
        if ((bits & 0x7f80u) == 0x7f80u) non_finite(i);
        dst[i] = bits_to_float(static_cast<uint32_t>(bits) << 16);  // bf16 is the top half of f32
      }
    }
  }
}

torch::Tensor decode(const std::string& source, const Entry& e, const char* data) {
  torch::Tensor out = torch::empty(e.shape, torch::kFloat32);
  decode_into(source, e, data, out.data_ptr<float>());
  return out;
}

nlohmann::json parse_header_json(const std::string& source, const char* begin, const char* end) {
  std::set<std::string> top_keys;
  auto guard = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (depth > kMaxJsonDepth) fail(source, "header JSON is nested too deeply");
    // The JSON parser keeps the last of two equal keys; a silently dropped tensor is worse.
    if (depth == 1 && event == nlohmann::json::parse_event_t::key &&
        !top_keys.insert(parsed.get<std::string>()).second)
      fail(source, "header names '" + parsed.get<std::string>() + "' twice");
    return true;
  };
  try {
    return nlohmann::json::parse(begin, end, guard);
  } catch (const nlohmann::json::exception& e) {
    fail(source, "header is not valid JSON (" + json_error_text(e) + ")");
  }
}

// The validated header of a file of `size` bytes starting at `bytes` (only the header needs
// to be readable): entries in data order, the metadata, and where the data section starts.
struct Layout {
  std::vector<Entry> entries;
  std::map<std::string, std::string> metadata;
  uint64_t data_offset = 0;
};

Layout parse_layout(const char* bytes, uint64_t size, const std::string& source) {
  if (size < 8)
    fail(source, "too short for a safetensors file (" + std::to_string(size) +
                     " bytes; the header length alone takes 8)");
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes, 8);
  if (header_len > kMaxSafetensorsHeaderBytes)
    fail(source, "header length " + std::to_string(header_len) + " is absurdly large (limit " +
                     std::to_string(kMaxSafetensorsHeaderBytes) + " bytes); not a safetensors file?");
  if (header_len > size - 8)
    fail(source, "header length " + std::to_string(header_len) + " runs past the end of the file (" +
                     std::to_string(size) + " bytes); the file is truncated");
  const char* header_begin = bytes + 8;
  const nlohmann::json header = parse_header_json(source, header_begin, header_begin + header_len);
  if (!header.is_object()) fail(source, "header is not a JSON object");

  const uint64_t data_size = size - 8 - header_len;
  Layout layout;
  layout.data_offset = 8 + header_len;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (value.is_null()) continue;
      if (!value.is_object()) fail(source, "__metadata__ must be a JSON object of strings");
      for (const auto& [mkey, mvalue] : value.items()) {
        if (!mvalue.is_string()) fail(source, "metadata value for key '" + mkey + "' is not a string");
        layout.metadata[mkey] = mvalue.get<std::string>();
      }
      continue;
    }
    layout.entries.push_back(parse_entry(source, key, value));
    check_entry_bounds(source, layout.entries.back(), data_size);
  }
  std::sort(layout.entries.begin(), layout.entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  check_no_overlap(source, layout.entries);
  return layout;
}

}  // namespace

SafetensorsContents parse_safetensors(const std::string& bytes, const std::string& source) {
  const Layout layout = parse_layout(bytes.data(), bytes.size(), source);
  SafetensorsContents contents;
  contents.metadata = layout.metadata;
  const char* data = bytes.data() + layout.data_offset;
  contents.tensors.reserve(layout.entries.size());
  for (const Entry& e : layout.entries) contents.tensors.emplace_back(e.name, decode(source, e, data));
  return contents;
}

struct MappedSafetensors::Impl {
  std::string source;
  const char* base = nullptr;
  uint64_t size = 0;
  Layout layout;
  std::map<std::string, size_t> index;  // name -> entry

  const Entry& entry(const std::string& name) const {
    auto it = index.find(name);
    if (it == index.end()) fail(source, "has no tensor '" + name + "'");
    return layout.entries[it->second];
  }
};

MappedSafetensors::MappedSafetensors(const fs::path& path) : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.source = path.string();
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail(m.source, "is a directory, not a safetensors file");
  require_regular_file(path);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(m.source, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    fail(m.source, std::string("cannot stat: ") + std::strerror(err));
  }
  m.size = static_cast<uint64_t>(st.st_size);
  if (m.size < 8) {
    ::close(fd);
    fail(m.source, "too short for a safetensors file (" + std::to_string(m.size) + " bytes; the header length alone takes 8)");
  }
  void* p = ::mmap(nullptr, m.size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int err = errno;
  ::close(fd);  // the mapping keeps the file
  if (p == MAP_FAILED) fail(m.source, std::string("cannot map: ") + std::strerror(err));
  m.base = static_cast<const char*>(p);
  try {
    m.layout = parse_layout(m.base, m.size, m.source);
  } catch (...) {
    ::munmap(const_cast<char*>(m.base), m.size);
    throw;
  }
  for (size_t i = 0; i < m.layout.entries.size(); ++i) m.index[m.layout.entries[i].name] = i;
}

MappedSafetensors::~MappedSafetensors() {
  if (impl_ && impl_->base) ::munmap(const_cast<char*>(impl_->base), impl_->size);
}

const std::string& MappedSafetensors::source() const { return impl_->source; }
const std::map<std::string, std::string>& MappedSafetensors::metadata() const { return impl_->layout.metadata; }

std::vector<std::string> MappedSafetensors::names() const {
  std::vector<std::string> out;
  for (const auto& e : impl_->layout.entries) out.push_back(e.name);
  return out;
}

bool MappedSafetensors::contains(const std::string& name) const { return impl_->index.count(name) > 0; }

std::vector<int64_t> MappedSafetensors::shape(const std::string& name) const { return impl_->entry(name).shape; }

void MappedSafetensors::read_into(const std::string& name, torch::Tensor& out) const {
  const auto& m = *impl_;
  const Entry& e = m.entry(name);
  uint64_t n = 1;
  for (int64_t dim : e.shape) n *= static_cast<uint64_t>(dim);
  if (!out.is_contiguous() || out.scalar_type() != torch::kFloat32 || !out.device().is_cpu() ||
      static_cast<uint64_t>(out.numel()) != n)
    throw std::invalid_argument("MappedSafetensors::read_into: the destination of '" + name + "' does not fit");
  decode_into(m.source, e, m.base + m.layout.data_offset, out.data_ptr<float>());
  // Read once: the pages may go (the mapping is private and read-only, so they are only dropped).
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t from = (m.layout.data_offset + e.begin) / page * page, to = m.layout.data_offset + e.end;
  if (to > from) ::madvise(const_cast<char*>(m.base) + from, to - from, MADV_DONTNEED);
}

torch::Tensor MappedSafetensors::read(const std::string& name) const {
  torch::Tensor out = torch::empty(impl_->entry(name).shape, torch::kFloat32);
  read_into(name, out);
  return out;
}

SafetensorsContents read_safetensors(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail(path.string(), "is a directory, not a safetensors file");
  require_regular_file(path);  // a FIFO or /dev/zero would block or never end
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path.string(), std::string("cannot open: ") + std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail(path.string(), "read error");
  return parse_safetensors(bytes, path.string());
}

std::string serialize_safetensors(const NamedTensors& tensors,
                                  const std::map<std::string, std::string>& metadata) {
  // Insertion-ordered JSON: __metadata__ first, then the tensors in file order, like the
  // Python writer.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  nlohmann::ordered_json meta = nlohmann::ordered_json::object();
  for (const auto& [key, value] : metadata) meta[key] = value;
  header["__metadata__"] = meta;

  std::vector<torch::Tensor> prepared;
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__") throw std::invalid_argument("'__metadata__' cannot be a tensor name");
    if (!names.insert(name).second) throw std::invalid_argument("tensor '" + name + "' given twice");
    if (!tensor.defined()) throw std::invalid_argument("tensor '" + name + "' is undefined");
    if (!tensor.is_floating_point())
      throw std::invalid_argument("tensor '" + name +
                                  "' is not floating point; safetensors is written as F32");
    torch::Tensor t = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    if (!torch::isfinite(t).all().item<bool>())
      throw std::runtime_error("refusing to save tensor '" + name + "': it holds NaN or Inf values");
    const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * 4;
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    entry["dtype"] = "F32";
    entry["shape"] = t.sizes().vec();
    entry["data_offsets"] = {offset, offset + nbytes};
    header[name] = std::move(entry);
    offset += nbytes;
    prepared.push_back(std::move(t));
  }

  std::string json;
  try {
    json = header.dump();
  } catch (const nlohmann::json::exception& e) {  // e.g. a name that is not valid UTF-8
    throw std::invalid_argument("cannot encode the safetensors header: " + json_error_text(e));
  }
  json.append((8 - json.size() % 8) % 8, ' ');  // tensor data starts 8-byte aligned

  std::string out;
  out.reserve(8 + json.size() + offset);
  const uint64_t header_len = json.size();
  out.append(reinterpret_cast<const char*>(&header_len), 8);
  out += json;
  for (const torch::Tensor& t : prepared)
    out.append(reinterpret_cast<const char*>(t.data_ptr<float>()), static_cast<size_t>(t.numel()) * 4);
  return out;
}

void write_safetensors(const fs::path& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  write_file_atomic(path, serialize_safetensors(tensors, metadata));
}

}  // namespace headlab::io
