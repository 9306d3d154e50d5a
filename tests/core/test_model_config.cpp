#include <gtest/gtest.h>

#include "common/errors.h"
#include "model/model_config.h"

using headlab::InputError;
using headlab::model::ModelConfig;
using nlohmann::json;

namespace {

// The example of MODEL.md §5.
json spec_example() {
  return json::parse(R"({
    "format": "headlab-model/1",
    "vocab_size": 256, "d_model": 128, "n_layers": 4,
    "n_heads": 8, "n_kv_heads": 8, "head_dim": 16, "d_ff": 384,
    "attention": "gqa", "rope_dim": 8, "rope_theta": 10000.0,
    "max_seq_len": 256, "qk_norm": true, "norm_eps": 1e-6, "tie_embeddings": false,
    "interaction": {
      "layers": [0, 1, 2, 3],
      "kha": {"q": "linear", "k": "linear", "v": "mlp"},
      "mea": {"enabled": true, "group_norm": true, "virtual_kv_heads": 0},
      "talking_heads": {"enabled": false},
      "bypassed": []
    },
    "tokenizer": {"type": "bytes"}
  })");
}

std::string error_of(const json& j) {
  try {
    ModelConfig::from_json(j);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ModelConfig, ParsesSpecExample) {
  auto c = ModelConfig::from_json(spec_example());
  EXPECT_EQ(c.n_heads, 8);
  EXPECT_EQ(c.kv_heads(), 8);
  EXPECT_EQ(c.interaction.kha.v, headlab::model::KhaMode::Mlp);
  EXPECT_TRUE(c.interaction.mea.enabled);
  EXPECT_FALSE(c.interaction.talking_heads);
  EXPECT_TRUE(c.has_module(3, headlab::model::ModuleKind::Kha));
  EXPECT_FALSE(c.has_module(3, headlab::model::ModuleKind::TalkingHeads));
  EXPECT_EQ(c.kv_cache_bytes_per_token(), 4 * 2 * 8 * 16 * 4);
}

TEST(ModelConfig, RoundTripsThroughJson) {
  auto c = ModelConfig::from_json(spec_example());
  auto again = ModelConfig::from_json(c.to_json());
  EXPECT_EQ(again.to_json(), c.to_json());
}

TEST(ModelConfig, AliasesFixTheKvHeads) {
  auto j = spec_example();
  j["attention"] = "mqa";
  EXPECT_EQ(ModelConfig::from_json(j).kv_heads(), 1);
  j["attention"] = "mha";
  j["n_kv_heads"] = 2;
  EXPECT_EQ(ModelConfig::from_json(j).kv_heads(), 8);
}

TEST(ModelConfig, MessagesNameTheField) {
  auto j = spec_example();
  j["n_heads"] = 6;
  j["n_kv_heads"] = 4;
  EXPECT_NE(error_of(j).find("n_heads (6) is not a multiple of n_kv_heads (4)"), std::string::npos) << error_of(j);

  j = spec_example();
  j["attention"] = "gta";
  j["rope_dim"] = 5;
  EXPECT_NE(error_of(j).find("rope_dim (5) must be even"), std::string::npos) << error_of(j);
  j["rope_dim"] = 32;
  EXPECT_NE(error_of(j).find("rope_dim (32)"), std::string::npos) << error_of(j);

  j = spec_example();
  j["format"] = "other/2";
  EXPECT_NE(error_of(j).find("unknown format 'other/2'"), std::string::npos);

  j = spec_example();
  j["d_modle"] = 3;
  EXPECT_NE(error_of(j).find("unknown field 'd_modle'"), std::string::npos);

  j = spec_example();
  j.erase("d_ff");
  EXPECT_NE(error_of(j).find("'d_ff'"), std::string::npos);

  j = spec_example();
  j["n_layers"] = "four";
  EXPECT_NE(error_of(j).find("n_layers must be an integer"), std::string::npos);

  j = spec_example();
  j["interaction"]["kha"]["q"] = "mlp";
  EXPECT_NE(error_of(j).find("interaction.kha.q"), std::string::npos) << error_of(j);

  j = spec_example();
  j["interaction"]["bypassed"] = {"talking_heads@1"};
  EXPECT_NE(error_of(j).find("'talking_heads@1' names a module that the model does not have"), std::string::npos)
      << error_of(j);

  j = spec_example();
  j["interaction"]["layers"] = {0, 7};
  EXPECT_NE(error_of(j).find("interaction.layers entry 7"), std::string::npos);

  j = spec_example();
  j["interaction"]["mea"]["virtual_kv_heads"] = 9;
  EXPECT_NE(error_of(j).find("virtual_kv_heads (9) exceeds"), std::string::npos);

  j = spec_example();
  j["vocab_size"] = 300;
  EXPECT_NE(error_of(j).find("vocab_size (300) must be 256"), std::string::npos);

  j = spec_example();
  j["tokenizer"] = {{"type", "chars"}, {"alphabet", "ab\xc3\xa9"}};  // 3 code points
  j["vocab_size"] = 3;
  EXPECT_EQ(error_of(j), "(no error)");
}

TEST(ModelConfig, MissingInteractionMeansNoModules) {
  auto j = spec_example();
  j.erase("interaction");
  auto c = ModelConfig::from_json(j);
  EXPECT_TRUE(c.interaction.layers.empty());
  EXPECT_FALSE(c.has_module(0, headlab::model::ModuleKind::Kha));
}

}  // namespace

TEST(ModelConfigBypassed, OnlyTheCanonicalSpellingIsAccepted) {
  auto j = nlohmann::json::parse(R"({"format": "headlab-model/1", "vocab_size": 16, "d_model": 16, "n_layers": 2,
    "n_heads": 2, "n_kv_heads": 2, "head_dim": 8, "d_ff": 32, "max_seq_len": 16,
    "interaction": {"kha": {"q": "linear"}, "talking_heads": {"enabled": true}, "bypassed": ["talking_heads@1"]}})");
  EXPECT_NO_THROW(headlab::model::ModelConfig::from_json(j));
  for (const char* entry : {"talking@1", "kha@01", "kha@+1", "kha@ 1"}) {
    j["interaction"]["bypassed"] = {entry};
    try {
      headlab::model::ModelConfig::from_json(j);
      ADD_FAILURE() << entry << " was accepted (and would bypass nothing)";
    } catch (const headlab::InputError& e) {
      EXPECT_NE(std::string(e.what()).find("must be written"), std::string::npos) << e.what();
    }
  }
}

// A chars alphabet is checked as the tokenizer checks it, so no command accepts a config that
// another one refuses.
TEST(ModelConfig, CharsAlphabetWithADuplicateOrBadUtf8IsRefused) {
  auto j = spec_example();
  j["vocab_size"] = 4;
  j["tokenizer"] = {{"type", "chars"}, {"alphabet", "abca"}};
  EXPECT_NE(error_of(j).find("tokenizer.alphabet repeats"), std::string::npos) << error_of(j);
  j["tokenizer"]["alphabet"] = std::string("ab\xff" "c");
  EXPECT_NE(error_of(j).find("tokenizer.alphabet"), std::string::npos) << error_of(j);
  j["tokenizer"]["alphabet"] = "abcé";
  EXPECT_EQ(error_of(j), "(no error)");
}
