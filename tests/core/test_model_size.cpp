// Absurd sizes are refused from the config, before anything is allocated.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "common/errors.h"
#include "common/json_file.h"
#include "io/model_io.h"
#include "model/model_size.h"
#include "model/transformer.h"
#include "train/trainer.h"
#include "train_test_util.h"

using namespace headlab;
namespace tu = headlab::testutil;
namespace fs = std::filesystem;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ModelSize, LowerBoundIsCloseBelowTheRealCount) {
  for (const char* layout : {"mha", "gqa", "mqa", "gta"}) {
    auto j = nlohmann::json{{"format", "headlab-model/1"}, {"vocab_size", 50}, {"d_model", 32}, {"n_layers", 3}, {"n_heads", 4}, {"n_kv_heads", 2},
                            {"head_dim", 8},    {"d_ff", 64},    {"attention", layout}};
    const auto config = model::ModelConfig::from_json(j);
    model::Transformer m(config);
    double real = 0;
    for (const auto& [name, p] : m->named_tensors()) real += static_cast<double>(p.numel());
    const double bound = model::parameter_count_lower_bound(config);
    EXPECT_LE(bound, real) << layout;
    EXPECT_GE(bound, 0.85 * real) << layout;
  }
}

TEST(ModelSize, HumanBytesAndTheMachine) {
  EXPECT_EQ(model::human_bytes(512), "512 B");
  EXPECT_EQ(model::human_bytes(1.5e9), "1.5 GB");
  EXPECT_EQ(model::human_bytes(4e15), "4.0 PB");
  EXPECT_GT(model::machine_memory_bytes(), 1e8);
  EXPECT_NO_THROW(model::check_fits_in_memory(1e6, "x"));
  EXPECT_NE(error_of([] { model::check_fits_in_memory(1e18, "the thing"); }).find("the thing needs about 1.0 EB"),
            std::string::npos);
}

TEST(ModelSize, AConfigThatDoesNotMatchItsWeightsIsRefusedBeforeAllocating) {
  const auto dir = tu::scratch_dir("size");
  train::Trainer t(tu::experiment(tu::tiny_experiment("sort", 1)));
  io::save_model(t.model(), dir / "model");
  const auto original = read_json_file(dir / "model" / "config.json");
  for (const auto& [field, value] : std::vector<std::pair<std::string, double>>{
           {"d_ff", 1099511627776.0}, {"n_layers", 1e9}, {"d_model", 1e7}, {"head_dim", 1e8}}) {
    auto config = original;
    config[field] = static_cast<int64_t>(value);
    std::ofstream(dir / "model" / "config.json") << config.dump();
    const auto started = std::chrono::steady_clock::now();
    const std::string message = error_of([&] { io::load_model(dir / "model"); });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_NE(message.find("do not belong together"), std::string::npos) << field << ": " << message;
    EXPECT_LT(seconds, 5.0) << field << " allocated before refusing";  // a generous bound, not a benchmark
  }
  // vocab_size is checked against the tokenizer even before that.
  auto config = original;
  config["vocab_size"] = 1000000000000LL;
  std::ofstream(dir / "model" / "config.json") << config.dump();
  EXPECT_NE(error_of([&] { io::load_model(dir / "model"); }).find("vocab_size (1000000000000)"), std::string::npos);
  fs::remove_all(dir);
}

TEST(ModelSize, ARunLargerThanTheMachineIsRefusedWithItsEstimate) {
  auto huge_batch = tu::tiny_experiment("sort", 1);
  huge_batch["train"]["batch_size"] = 1000000000;
  const auto message = error_of([&] { train::Trainer t(tu::experiment(huge_batch)); });
  EXPECT_NE(message.find("this run (weights, gradients, optimizer state, activations) needs about"), std::string::npos)
      << message;
  auto deep = tu::tiny_experiment("sort", 1);
  deep["model"]["n_layers"] = 1000000;
  deep["model"]["interaction"] = nlohmann::json::object();
  EXPECT_NE(error_of([&] { train::Trainer t(tu::experiment(deep)); }).find("more than this machine's memory"),
            std::string::npos);
  auto long_context = tu::tiny_experiment("sort", 1);
  long_context["model"]["max_seq_len"] = 1000000000000LL;
  EXPECT_NE(error_of([&] { train::Trainer t(tu::experiment(long_context)); }).find("max_seq_len"), std::string::npos);
}
