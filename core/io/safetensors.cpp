#include "io/safetensors.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
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

torch::Tensor decode(const std::string& source, const Entry& e, const char* data) {
  torch::Tensor out = torch::empty(e.shape, torch::kFloat32);
  float* dst = out.data_ptr<float>();
  const uint64_t n = static_cast<uint64_t>(out.numel());
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

}  // namespace

SafetensorsContents parse_safetensors(const std::string& bytes, const std::string& source) {
  if (bytes.size() < 8)
    fail(source, "too short for a safetensors file (" + std::to_string(bytes.size()) +
                     " bytes; the header length alone takes 8)");
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  if (header_len > kMaxSafetensorsHeaderBytes)
    fail(source, "header length " + std::to_string(header_len) + " is absurdly large (limit " +
                     std::to_string(kMaxSafetensorsHeaderBytes) + " bytes); not a safetensors file?");
  if (header_len > bytes.size() - 8)
    fail(source, "header length " + std::to_string(header_len) + " runs past the end of the file (" +
                     std::to_string(bytes.size()) + " bytes); the file is truncated");
  const char* header_begin = bytes.data() + 8;
  const nlohmann::json header = parse_header_json(source, header_begin, header_begin + header_len);
  if (!header.is_object()) fail(source, "header is not a JSON object");

  const uint64_t data_size = bytes.size() - 8 - header_len;
  SafetensorsContents contents;
  std::vector<Entry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (value.is_null()) continue;
      if (!value.is_object()) fail(source, "__metadata__ must be a JSON object of strings");
      for (const auto& [mkey, mvalue] : value.items()) {
        if (!mvalue.is_string()) fail(source, "metadata value for key '" + mkey + "' is not a string");
        contents.metadata[mkey] = mvalue.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(source, key, value));
    check_entry_bounds(source, entries.back(), data_size);
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  check_no_overlap(source, entries);

  const char* data = header_begin + header_len;
  contents.tensors.reserve(entries.size());
  for (const Entry& e : entries) contents.tensors.emplace_back(e.name, decode(source, e, data));
  return contents;
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
