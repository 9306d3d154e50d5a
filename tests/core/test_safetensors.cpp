#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/errors.h"
#include "io/safetensors.h"
#include "io_test_util.h"

namespace fs = std::filesystem;
using headlab::InputError;
using headlab::io::NamedTensors;
using headlab::io::parse_safetensors;
using headlab::io::read_safetensors;
using headlab::io::serialize_safetensors;
using headlab::io::write_safetensors;
using headlab::test::read_bytes;
using headlab::test::ScratchDir;

namespace {

std::string u64_le(uint64_t v) {
  std::string out(8, '\0');
  std::memcpy(out.data(), &v, 8);
  return out;
}

// A safetensors file from a header written by hand: the way to produce every malformed case.
std::string file_with(const std::string& header, const std::string& data = "") {
  return u64_le(header.size()) + header + data;
}

template <typename T>
std::string raw_bytes(std::initializer_list<T> values) {
  std::string out;
  for (T v : values) out.append(reinterpret_cast<const char*>(&v), sizeof v);
  return out;
}

// Bit patterns, so that -0.0 vs 0.0 and NaN payloads count as differences.
std::vector<int32_t> bits_of(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  std::vector<int32_t> out(static_cast<size_t>(c.numel()));
  if (!out.empty()) std::memcpy(out.data(), c.data_ptr<float>(), out.size() * 4);
  return out;
}

std::vector<float> values_of(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// Asserts that `bytes` is rejected with an InputError whose message names the source and
// contains every phrase.
void expect_rejected(const std::string& bytes, std::initializer_list<const char*> phrases) {
  try {
    parse_safetensors(bytes, "bad.safetensors");
    ADD_FAILURE() << "accepted a malformed file";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("bad.safetensors: ", 0), 0u) << msg;
    for (const char* phrase : phrases)
      EXPECT_NE(msg.find(phrase), std::string::npos) << "'" << phrase << "' not in: " << msg;
  }
}

constexpr const char* kF32Entry = R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";

}  // namespace

TEST(Safetensors, RoundTripIsBitIdenticalWithMetadataAndOrder) {
  ScratchDir dir;
  torch::manual_seed(7);
  const torch::Tensor special = torch::tensor(
      {-0.0f, 1e-45f, std::numeric_limits<float>::max(), -std::numeric_limits<float>::min(), 1.0f / 3.0f});
  const NamedTensors tensors = {
      {"tok_emb.weight", torch::randn({7, 4})},
      {"layers.0.attn.wq.weight", torch::randn({4, 4})},
      {"special", special},
      {"scalar", torch::tensor(2.5f).reshape({})},
      {"empty", torch::zeros({0, 3})},
      {"norm.weight", torch::ones({4})},
  };
  const std::map<std::string, std::string> metadata = {
      {"headlab.config", R"({"format":"headlab-model/1","d_model":4})"}, {"note", "ünïcödé ✓"}};
  write_safetensors(dir / "m.safetensors", tensors, metadata);

  const auto loaded = read_safetensors(dir / "m.safetensors");
  EXPECT_EQ(loaded.metadata, metadata);
  ASSERT_EQ(loaded.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    SCOPED_TRACE(tensors[i].first);
    EXPECT_EQ(loaded.tensors[i].first, tensors[i].first) << "tensors come back in the order written";
    EXPECT_EQ(loaded.tensors[i].second.sizes(), tensors[i].second.sizes());
    EXPECT_EQ(loaded.tensors[i].second.dtype(), torch::kFloat32);
    EXPECT_EQ(bits_of(loaded.tensors[i].second), bits_of(tensors[i].second));
  }

  // Layout: header padded with spaces to 8 bytes, __metadata__ first.
  const std::string bytes = read_bytes(dir / "m.safetensors");
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  EXPECT_EQ(header_len % 8, 0u);
  EXPECT_EQ(bytes.compare(8, 16, R"({"__metadata__":)"), 0);
  EXPECT_EQ(bytes.size(), 8 + header_len + 4 * (28 + 16 + 5 + 1 + 0 + 4));
}

TEST(Safetensors, WriterConvertsToContiguousFloat32) {
  const torch::Tensor base = torch::arange(6, torch::kFloat64).reshape({2, 3}) / 4;
  const NamedTensors tensors = {{"transposed", base.t()}, {"half", base.to(torch::kFloat16)}};
  const auto loaded = parse_safetensors(serialize_safetensors(tensors, {}), "mem");
  ASSERT_EQ(loaded.tensors.size(), 2u);
  EXPECT_EQ(loaded.tensors[0].second.sizes(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(values_of(loaded.tensors[0].second), (std::vector<float>{0, 0.75f, 0.25f, 1, 0.5f, 1.25f}));
  EXPECT_EQ(values_of(loaded.tensors[1].second), (std::vector<float>{0, 0.25f, 0.5f, 0.75f, 1, 1.25f}));
  EXPECT_TRUE(loaded.metadata.empty());
}

TEST(Safetensors, WriterRefusesWhatNoReaderWouldAccept) {
  EXPECT_THROW(serialize_safetensors({{"ids", torch::arange(3)}}, {}), std::invalid_argument);
  EXPECT_THROW(serialize_safetensors({{"a", torch::ones({1})}, {"a", torch::ones({1})}}, {}),
               std::invalid_argument);
  EXPECT_THROW(serialize_safetensors({{"__metadata__", torch::ones({1})}}, {}), std::invalid_argument);
  try {
    serialize_safetensors({{"w", torch::tensor({1.0f, NAN})}}, {});
    ADD_FAILURE() << "wrote a NaN";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("'w'"), std::string::npos) << e.what();
  }
}

TEST(Safetensors, WriterMatchesPythonPackageBytes) {
  const NamedTensors tensors = {{"a.weight", torch::tensor({0.5f, -1.25f, 3.0f})},
                                {"b.weight", torch::arange(1, 5, torch::kFloat32).reshape({2, 2}) / 8}};
  const std::string expected = read_bytes(fs::path(HEADLAB_TEST_DATA_DIR) / "python_written_f32.safetensors");
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(serialize_safetensors(tensors, {{"format", "pt"}}), expected);
}

TEST(Safetensors, ReadsF16) {
  // 1, -2, 0.5, 65504 (max), 2^-24 (smallest subnormal), -0, 0x3555 = 0.333251953125
  const std::string data = raw_bytes<uint16_t>({0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x8000, 0x3555});
  const auto loaded =
      parse_safetensors(file_with(R"({"h":{"dtype":"F16","shape":[7],"data_offsets":[0,14]}})", data), "h");
  ASSERT_EQ(loaded.tensors.size(), 1u);
  const torch::Tensor t = loaded.tensors[0].second;
  EXPECT_EQ(t.dtype(), torch::kFloat32);
  const std::vector<float> expected = {1.0f,  -2.0f,          0.5f, 65504.0f, std::ldexp(1.0f, -24),
                                       -0.0f, 0.333251953125f};
  EXPECT_EQ(bits_of(t), bits_of(torch::tensor(expected)));
}

TEST(Safetensors, ReadsBF16) {
  // 1, -2.5, 3.140625, 2^-133 (subnormal), -0
  const std::string data = raw_bytes<uint16_t>({0x3F80, 0xC020, 0x4049, 0x0001, 0x8000, 0x0000});
  const auto loaded = parse_safetensors(
      file_with(R"({"b":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]}})", data), "b");
  const torch::Tensor t = loaded.tensors.at(0).second;
  EXPECT_EQ(t.sizes(), (std::vector<int64_t>{2, 3}));
  const std::vector<float> expected = {1.0f, -2.5f, 3.140625f, std::ldexp(1.0f, -133), -0.0f, 0.0f};
  EXPECT_EQ(bits_of(t), bits_of(torch::tensor(expected)));
}

TEST(Safetensors, ReturnsTensorsInDataOffsetOrderAndAllowsZeroSized) {
  const std::string header =
      R"({"z":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"e":{"dtype":"F16","shape":[0,5],"data_offsets":[4,4]},)"
      R"("a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"__metadata__":null})";
  const auto loaded = parse_safetensors(file_with(header, raw_bytes<float>({1.5f, 9.0f, -3.0f})), "order");
  ASSERT_EQ(loaded.tensors.size(), 3u);
  EXPECT_EQ(loaded.tensors[0].first, "a");
  EXPECT_EQ(loaded.tensors[0].second.dim(), 0);
  EXPECT_EQ(loaded.tensors[0].second.item<float>(), 1.5f);
  EXPECT_EQ(loaded.tensors[1].first, "e");
  EXPECT_EQ(loaded.tensors[1].second.sizes(), (std::vector<int64_t>{0, 5}));
  EXPECT_EQ(loaded.tensors[2].first, "z");
  EXPECT_EQ(loaded.tensors[2].second.item<float>(), -3.0f);  // a gap (bytes 4..8) is tolerated
}

TEST(Safetensors, ReadsFileInPythonPackageLayout) {
  const fs::path data_dir = HEADLAB_TEST_DATA_DIR;
  const auto loaded = read_safetensors(data_dir / "python_written.safetensors");
  const auto expected = nlohmann::json::parse(read_bytes(data_dir / "python_written.expected.json"));
  EXPECT_EQ(loaded.metadata, (expected.at("metadata").get<std::map<std::string, std::string>>()));
  EXPECT_EQ(nlohmann::json::parse(loaded.metadata.at("headlab.config")).at("format"), "headlab-model/1");
  const auto& want = expected.at("tensors");
  ASSERT_EQ(loaded.tensors.size(), want.size());
  std::set<std::string> dtypes;
  for (size_t i = 0; i < want.size(); ++i) {
    const std::string name = want[i].at("name");
    SCOPED_TRACE(name);
    dtypes.insert(want[i].at("dtype").get<std::string>());
    EXPECT_EQ(loaded.tensors[i].first, name);
    EXPECT_EQ(loaded.tensors[i].second.sizes().vec(), want[i].at("shape").get<std::vector<int64_t>>());
    std::vector<float> values;
    for (double v : want[i].at("values")) values.push_back(static_cast<float>(v));
    EXPECT_EQ(bits_of(loaded.tensors[i].second),
              bits_of(torch::tensor(values).reshape(loaded.tensors[i].second.sizes())));
  }
  EXPECT_EQ(dtypes, (std::set<std::string>{"F32", "F16", "BF16"}));
  EXPECT_EQ(loaded.tensors.front().first, "layers.0.attn.wq.weight");
}

TEST(Safetensors, RejectsTruncatedHeaderLength) {
  expect_rejected("", {"too short", "0 bytes"});
  expect_rejected("abcdefg", {"too short", "7 bytes"});
}

TEST(Safetensors, RejectsHeaderLengthPastEndOfFile) {
  expect_rejected(u64_le(100) + "{}", {"header length 100", "runs past the end of the file"});
  expect_rejected(u64_le(~uint64_t{0}) + "{}", {"absurdly large"});
}

TEST(Safetensors, RejectsAbsurdHeaderLength) {
  expect_rejected(u64_le(200'000'000) + std::string(64, ' '), {"header length 200000000", "absurdly large"});
}

TEST(Safetensors, RejectsHeaderThatIsNotAJsonObject) {
  expect_rejected(file_with(R"({"w":{"dtype":)"), {"header is not valid JSON"});
  expect_rejected(file_with("\xff\xfe"), {"header is not valid JSON"});
  expect_rejected(file_with("[1,2]"), {"header is not a JSON object"});
  expect_rejected(file_with("\"just a string\""), {"header is not a JSON object"});
  expect_rejected(file_with(std::string(100000, '[')), {"nested too deeply"});
  expect_rejected(file_with(R"({"w":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"w":{}})", "abcd"),
                  {"'w' twice"});
}

TEST(Safetensors, RejectsEntryWithMissingField) {
  expect_rejected(
      file_with(R"({"layers.0.attn.wq.weight":{"shape":[2],"data_offsets":[0,8]}})", std::string(8, '\0')),
      {"tensor 'layers.0.attn.wq.weight'", "missing field 'dtype'"});
  expect_rejected(file_with(R"({"w":{"dtype":"F32","data_offsets":[0,8]}})"),
                  {"tensor 'w'", "missing field 'shape'"});
  expect_rejected(file_with(R"({"w":{"dtype":"F32","shape":[2]}})"),
                  {"tensor 'w'", "missing field 'data_offsets'"});
}

TEST(Safetensors, RejectsEntryFieldsOfWrongJsonType) {
  expect_rejected(file_with(R"({"w":[1,2]})"), {"tensor 'w'", "must be a JSON object"});
  expect_rejected(file_with(R"({"w":{"dtype":32,"shape":[2],"data_offsets":[0,8]}})"),
                  {"tensor 'w'", "'dtype' must be a string"});
  expect_rejected(file_with(R"({"w":{"dtype":"F32","shape":"2","data_offsets":[0,8]}})"),
                  {"tensor 'w'", "'shape' must be an array"});
  expect_rejected(file_with(R"({"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})"),
                  {"tensor 'w'", "'shape' must be an array"});
  expect_rejected(file_with(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}})"),
                  {"tensor 'w'", "'data_offsets' must be"});
  expect_rejected(file_with(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}})"),
                  {"tensor 'w'", "'data_offsets' must be"});
  expect_rejected(file_with(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":"0-8"}})"),
                  {"tensor 'w'", "'data_offsets' must be"});
}

TEST(Safetensors, RejectsUnsupportedDtypeNamingTheSupportedOnes) {
  expect_rejected(
      file_with(R"({"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", std::string(8, '\0')),
      {"tensor 'w'", "unsupported dtype 'F64'", "F32, F16, BF16"});
  expect_rejected(file_with(R"({"w":{"dtype":"Q4_K","shape":[1],"data_offsets":[0,1]}})", "x"),
                  {"tensor 'w'", "unknown dtype 'Q4_K'", "F32, F16, BF16"});
}

TEST(Safetensors, RejectsNegativeDimension) {
  expect_rejected(
      file_with(R"({"w":{"dtype":"F32","shape":[-1,2],"data_offsets":[0,8]}})", std::string(8, '\0')),
      {"tensor 'w'", "negative dimension -1"});
}

TEST(Safetensors, RejectsByteSizeThatDisagreesWithShape) {
  expect_rejected(
      file_with(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", std::string(24, '\0')),
      {"tensor 'w'", "span 20 bytes", "needs 24 bytes"});
  expect_rejected(
      file_with(R"({"w":{"dtype":"BF16","shape":[2],"data_offsets":[0,8]}})", std::string(8, '\0')),
      {"tensor 'w'", "BF16", "needs 4 bytes"});
  // Element counts that overflow 64 bits must not wrap around to a "matching" size.
  expect_rejected(
      file_with(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,0]}})"),
      {"tensor 'w'", "too large"});
  expect_rejected(
      file_with(R"({"w":{"dtype":"F32","shape":[0,4611686018427387904,16],"data_offsets":[0,0]}})"),
      {"tensor 'w'", "too large"});
}

TEST(Safetensors, RejectsOffsetsOutsideTheDataSection) {
  expect_rejected(
      file_with(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", std::string(8, '\0')),
      {"tensor 'w'", "begin 8 is after end 4"});
  expect_rejected(
      file_with(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", std::string(12, '\0')),
      {"tensor 'w'", "end 16 is beyond the end of the data section (12 bytes"});
  expect_rejected(
      file_with(
          R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551612,18446744073709551616]}})"),
      {"tensor 'w'", "'data_offsets' must be"});  // 2^64 does not parse as an integer
}

TEST(Safetensors, RejectsOverlappingTensorsNamingBoth) {
  const std::string header = R"({"attn.wq":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                             R"("attn.wk":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})";
  expect_rejected(file_with(header, std::string(24, '\0')), {"'attn.wq' and 'attn.wk'", "overlapping"});
  const std::string nested =  // one range inside another, listed after a third tensor
      R"({"a":{"dtype":"F32","shape":[8],"data_offsets":[0,32]},"b":{"dtype":"F32","shape":[1],"data_offsets":[32,36]},)"
      R"("c":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  expect_rejected(file_with(nested, std::string(36, '\0')), {"'a' and 'c'", "overlapping"});
}

TEST(Safetensors, RejectsNonStringMetadata) {
  expect_rejected(
      file_with(std::string(R"({"__metadata__":{"step":5},)") + kF32Entry + "}", std::string(8, '\0')),
      {"metadata value for key 'step' is not a string"});
  expect_rejected(file_with(std::string(R"({"__metadata__":["a"],)") + kF32Entry + "}", std::string(8, '\0')),
                  {"__metadata__ must be a JSON object"});
}

TEST(Safetensors, RejectsNonFiniteValuesNamingTheTensor) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const std::string f32 = R"({"layers.0.mlp.w_up.weight":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})";
  expect_rejected(file_with(f32, raw_bytes<float>({1.0f, 2.0f, nan})),
                  {"tensor 'layers.0.mlp.w_up.weight'", "non-finite", "element 2"});
  expect_rejected(file_with(f32, raw_bytes<float>({-inf, 2.0f, 3.0f})), {"non-finite", "element 0"});
  expect_rejected(file_with(R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})",
                            raw_bytes<uint16_t>({0x3C00, 0x7C00})),
                  {"tensor 'h'", "non-finite", "element 1"});
  expect_rejected(
      file_with(R"({"b":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}})", raw_bytes<uint16_t>({0x7FC0})),
      {"tensor 'b'", "non-finite"});
}

TEST(Safetensors, ReadNamesTheFileThatCannotBeOpened) {
  ScratchDir dir;
  try {
    read_safetensors(dir / "missing.safetensors");
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.safetensors"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_safetensors(dir.path()), InputError);
}

// Damaged files must fail cleanly: every truncation, and a few hundred random byte flips.
TEST(Safetensors, FuzzedFilesParseOrThrowInputErrorNeverCrash) {
  torch::manual_seed(3);
  const std::string valid = serialize_safetensors({{"layers.0.attn.wq.weight", torch::randn({3, 4})},
                                                   {"empty", torch::zeros({0})},
                                                   {"norm.weight", torch::ones({5})}},
                                                  {{"headlab.config", R"({"d_model":4})"}});
  ASSERT_EQ(parse_safetensors(valid, "valid").tensors.size(), 3u);
  uint64_t header_len = 0;
  std::memcpy(&header_len, valid.data(), 8);

  for (size_t len = 0; len < valid.size(); ++len) {
    EXPECT_THROW(parse_safetensors(valid.substr(0, len), "truncated"), InputError) << "length " << len;
  }

  std::mt19937 rng(20240607);
  int parsed = 0, rejected = 0;
  for (int round = 0; round < 400; ++round) {
    std::string bytes = valid;
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int f = 0; f < flips; ++f) {
      // Mostly the length and header, where the parsing logic lives; sometimes the data.
      const size_t span = (round % 4 == 0) ? bytes.size() : 8 + header_len;
      bytes[rng() % span] = static_cast<char>(rng() & 0xff);
    }
    try {
      parse_safetensors(bytes, "fuzzed");
      ++parsed;
    } catch (const InputError&) {
      ++rejected;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "round " << round << ": not an InputError: " << e.what();
    }
  }
  EXPECT_GT(rejected, 100);  // the flips did damage
  EXPECT_EQ(parsed + rejected, 400);
}
