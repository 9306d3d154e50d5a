// Hugging Face folders (MODEL.md §7): HeadLab's export and import are each other's inverse for
// every architecture, modules inserted into an imported model start at identity, the export
// refuses what cannot fold, and the memory-mapped reader reads what the plain one reads.
// Exactness against transformers' own semantics: tests/cli/test_hf_models.sh.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "common/errors.h"
#include "common/json_file.h"
#include "io/hf_export.h"
#include "io/hf_import.h"
#include "io/model_io.h"
#include "io/safetensors.h"
#include "model/fold.h"
#include "model_test_utils.h"

using namespace headlab;
using namespace headlab::model;
namespace tu = headlab::testutil;
namespace fs = std::filesystem;

namespace {

struct Arch {
  const char* name;
  const char* expected;  // the architecture the export must choose
  ModelConfig config;
};

std::vector<Arch> architectures() {
  auto llama = tu::tiny_config(AttentionLayout::Gqa, 4, 2);
  llama.qk_norm = false;
  llama.rope_scaling = RopeScaling{8, 1, 4, 32};
  auto qwen2 = llama;
  qwen2.rope_scaling = {};
  qwen2.linear_bias = LinearBias::Qkv;
  qwen2.tie_embeddings = true;
  auto qwen3 = tu::tiny_config(AttentionLayout::Gqa, 4, 2);
  qwen3.head_dim = 16;  // n_heads * head_dim != d_model
  auto gpt2 = tu::tiny_config(AttentionLayout::Mha, 4, 4);
  tu::use_gpt2_options(gpt2);
  gpt2.tie_embeddings = true;
  return {{"llama", "LlamaForCausalLM", llama}, {"qwen2", "Qwen2ForCausalLM", qwen2},
          {"qwen3", "Qwen3ForCausalLM", qwen3}, {"gpt2", "GPT2LMHeadModel", gpt2}};
}

Transformer randomized(const ModelConfig& c) {
  auto m = tu::make_model(c);
  torch::NoGradGuard g;
  torch::manual_seed(9);
  for (auto& item : m->named_parameters()) item.value().add_(0.1 * torch::randn_like(item.value()));
  return m;
}

class HfFolder : public ::testing::Test {
 protected:
  fs::path dir = fs::temp_directory_path() / ("headlab_hf_" + std::to_string(::getpid()));
  void TearDown() override { fs::remove_all(dir); }
};

TEST_F(HfFolder, ExportThenImportIsTheSameFunctionForEveryArchitecture) {
  for (const auto& arch : architectures()) {
    auto m = randomized(arch.config);
    auto tokens = tu::sample_tokens(2, 12, arch.config.vocab_size);
    const auto before = tu::logits_of(m, tokens);
    const auto report = io::export_hf_model(m, dir);
    EXPECT_EQ(report.architecture, arch.expected);
    EXPECT_TRUE(is_hf_model_dir(dir)) << arch.name;
    const auto hf = read_json_file(dir / "config.json");
    EXPECT_EQ(hf["architectures"][0], arch.expected);
    auto imported = io::import_hf_model(dir);
    EXPECT_EQ(imported.architecture, arch.expected);
    EXPECT_LT(tu::max_rel_diff(tu::logits_of(imported.model, tokens), before), 1e-6) << arch.name;
    // load_model (every command's way in) takes the same route.
    auto loaded = io::load_model(dir);
    EXPECT_LT(tu::max_rel_diff(tu::logits_of(loaded, tokens), before), 1e-6);
    fs::remove_all(dir);
  }
}

TEST_F(HfFolder, ModulesInsertedIntoAnImportedModelStartAtIdentity) {
  for (const auto& arch : architectures()) {
    auto source = randomized(arch.config);
    io::export_hf_model(source, dir);
    auto m = io::import_hf_model(dir).model;
    fs::remove_all(dir);
    auto tokens = tu::sample_tokens(2, 40, arch.config.vocab_size);  // 80 rows: the fused path too
    const auto before = tu::logits_of(m, tokens);
    InsertOptions options;
    options.kha_modes = {KhaMode::Linear, KhaMode::Linear, KhaMode::Mlp};
    options.mea_group_norm = false;
    m->insert_module(ModuleKind::Kha, {0, 1}, options);
    m->insert_module(ModuleKind::Mea, {0, 1}, options);
    m->insert_module(ModuleKind::TalkingHeads, {1}, options);
    EXPECT_LT(tu::max_rel_diff(tu::logits_of(m, tokens), before), 1e-6) << arch.name;
  }
}

TEST_F(HfFolder, ExportFoldsLinearModulesAndRefusesWhatCannotFold) {
  auto c = architectures()[0].config;
  tu::enable_all_modules(c, KhaMode::Linear);
  c.interaction.talking_heads = false;
  c.interaction.mea.group_norm = false;
  auto m = randomized(c);
  tu::randomize_modules(m);
  auto tokens = tu::sample_tokens(1, 10, c.vocab_size);
  const auto before = tu::logits_of(m, tokens);
  const auto report = io::export_hf_model(m, dir);
  EXPECT_EQ(report.folded.size(), 2u * 5u);  // t_q, t_k, t_v, mix_k, mix_v in both layers
  auto imported = io::import_hf_model(dir).model;
  EXPECT_LT(tu::max_rel_diff(tu::logits_of(imported, tokens), before), 1e-5);
  fs::remove_all(dir);

  auto refused = tu::tiny_config();
  tu::enable_all_modules(refused, KhaMode::Mlp);  // a v mlp, talking heads and the group norm
  auto r = tu::make_model(refused);
  try {
    io::export_hf_model(r, dir);
    ADD_FAILURE() << "exported a model with unfoldable modules";
  } catch (const InputError& e) {
    const std::string what = e.what();
    for (const char* reason : {"KHA v mlp in layer 0", "talking heads in layer 1", "MEA group norm in layer 0"})
      EXPECT_NE(what.find(reason), std::string::npos) << what;
  }
  EXPECT_FALSE(fs::exists(dir));  // nothing written
  auto gta = tu::make_model(tu::tiny_config(AttentionLayout::Gta));
  EXPECT_THROW(io::export_hf_model(gta, dir), InputError);
}

TEST_F(HfFolder, AMissingOrForeignTensorIsNamed) {
  auto m = randomized(architectures()[1].config);
  io::export_hf_model(m, dir);
  io::SafetensorsContents contents = io::read_safetensors(dir / "model.safetensors");
  auto drop = contents.tensors;
  drop.erase(std::remove_if(drop.begin(), drop.end(), [](const auto& t) { return t.first == "model.layers.1.self_attn.k_proj.bias"; }),
             drop.end());
  io::write_safetensors(dir / "model.safetensors", drop, {{"format", "pt"}});
  try {
    io::import_hf_model(dir);
    ADD_FAILURE() << "a tensor was missing";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("layers.1.attn.wk.bias"), std::string::npos) << e.what();
  }
  auto extra = contents.tensors;
  extra.emplace_back("model.layers.0.self_attn.rotary_emb.inv_freq", torch::ones({4}));  // old checkpoints: ignored
  io::write_safetensors(dir / "model.safetensors", extra, {});
  EXPECT_NO_THROW(io::import_hf_model(dir));
  extra.emplace_back("model.layers.0.mystery.weight", torch::ones({4}));
  io::write_safetensors(dir / "model.safetensors", extra, {});
  EXPECT_THROW(io::import_hf_model(dir), InputError);
}

TEST(MappedSafetensors, ReadsWhatTheWholeFileReaderReadsAndRejectsTruncation) {
  const fs::path file = fs::temp_directory_path() / ("headlab_mapped_" + std::to_string(::getpid()) + ".safetensors");
  torch::manual_seed(1);
  io::NamedTensors tensors{{"a", torch::randn({3, 5})}, {"b", torch::randn({1000})}, {"c", torch::randn({2, 2, 2})}};
  io::write_safetensors(file, tensors, {{"k", "v"}});
  {
    io::MappedSafetensors mapped(file);
    EXPECT_EQ(mapped.metadata().at("k"), "v");
    EXPECT_EQ(mapped.names(), (std::vector<std::string>{"a", "b", "c"}));
    for (const auto& [name, t] : tensors) {
      EXPECT_TRUE(torch::equal(mapped.read(name), t)) << name;
      EXPECT_TRUE(torch::equal(mapped.read(name), t)) << name << " (again, after its pages were released)";
    }
    EXPECT_THROW(mapped.read("d"), InputError);
  }
  fs::resize_file(file, fs::file_size(file) - 7);
  try {
    io::MappedSafetensors truncated(file);
    ADD_FAILURE() << "a truncated file was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
  }
  fs::remove(file);
}

}  // namespace
