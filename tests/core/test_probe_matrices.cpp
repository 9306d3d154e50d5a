// Summary numbers of module matrices, and their collection from a model.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <map>

#include "common/errors.h"
#include "model_test_utils.h"
#include "probe/matrix_summary.h"

using namespace headlab;
using namespace headlab::probe;
namespace tu = headlab::testutil;

namespace {

PlainMatrix identity(int rows, int cols) {
  PlainMatrix m{rows, cols, std::vector<float>(static_cast<size_t>(rows) * cols, 0.0f)};
  for (int i = 0; i < std::min(rows, cols); ++i) m.values[static_cast<size_t>(i) * cols + i] = 1.0f;
  return m;
}

TEST(MatrixSummary, IdentityIsAtDistanceZeroWithFullRank) {
  for (int n : {1, 3, 8}) {
    auto s = summarize_matrix(identity(n, n));
    EXPECT_EQ(s.distance_from_identity, 0.0f);
    EXPECT_EQ(s.off_diagonal_mass, 0.0f);
    EXPECT_NEAR(s.effective_rank, n, 1e-5);
  }
  // Non-square: I = eye(rows, cols).
  auto wide = summarize_matrix(identity(2, 3));
  EXPECT_EQ(wide.distance_from_identity, 0.0f);
  EXPECT_NEAR(wide.effective_rank, 2.0, 1e-5);
}

TEST(MatrixSummary, HandComputedTwoByTwo) {
  // [[1, 2], [0, 1]]: M^T M = [[1, 2], [2, 5]] has eigenvalues 3 +- 2 sqrt 2, so the singular
  // values are sqrt 2 + 1 and sqrt 2 - 1 (sum 2 sqrt 2).
  auto s = summarize_matrix(PlainMatrix{2, 2, {1, 2, 0, 1}});
  EXPECT_FLOAT_EQ(s.distance_from_identity, 2.0f);
  EXPECT_FLOAT_EQ(s.off_diagonal_mass, 0.5f);
  const double r2 = std::sqrt(2.0), p1 = (r2 + 1) / (2 * r2), p2 = (r2 - 1) / (2 * r2);
  EXPECT_NEAR(s.effective_rank, std::exp(-(p1 * std::log(p1) + p2 * std::log(p2))), 1e-6);
  // A rank-one matrix with a negative entry: |.| in the mass, one singular value.
  auto rank_one = summarize_matrix(PlainMatrix{2, 2, {1, -1, 1, -1}});
  EXPECT_FLOAT_EQ(rank_one.off_diagonal_mass, 0.5f);
  EXPECT_FLOAT_EQ(rank_one.distance_from_identity, std::sqrt(0.0f + 1 + 1 + 4));
  EXPECT_NEAR(rank_one.effective_rank, 1.0, 1e-6);
}

TEST(MatrixSummary, ZeroMatrixAndBadInput) {
  auto s = summarize_matrix(PlainMatrix{3, 2, std::vector<float>(6, 0.0f)});
  EXPECT_FLOAT_EQ(s.distance_from_identity, std::sqrt(2.0f));
  EXPECT_EQ(s.off_diagonal_mass, 0.0f);
  EXPECT_EQ(s.effective_rank, 0.0f);
  EXPECT_THROW(summarize_matrix(PlainMatrix{2, 2, {1, 2, 3}}), InputError);
}

std::string tensor_name(const ModuleMatrix& m) {
  const std::string module = m.module == "talking_heads" ? "talking" : m.module;
  return "layers." + std::to_string(m.layer) + ".attn." + module + "." + m.name;
}

TEST(MatrixSummary, CollectedMatricesAreTheModelsParameters) {
  for (auto v_mode : {model::KhaMode::Linear, model::KhaMode::Mlp}) {
    auto cfg = tu::tiny_config();
    tu::enable_all_modules(cfg, v_mode);
    auto m = tu::make_model(cfg);
    tu::randomize_modules(m);
    m->set_module_state(1, model::ModuleKind::Mea, model::ModuleState::Bypassed);
    m->set_module_state(0, model::ModuleKind::TalkingHeads, model::ModuleState::Frozen);
    auto matrices = collect_module_matrices(m);
    const std::vector<std::string> kha_names = v_mode == model::KhaMode::Linear
                                                   ? std::vector<std::string>{"t_q", "t_k", "t_v"}
                                                   : std::vector<std::string>{"t_q", "t_k", "v_up", "v_gate", "v_down"};
    std::vector<std::string> expected;
    for (int l = 0; l < 2; ++l) {
      for (const auto& n : kha_names) expected.push_back("layers." + std::to_string(l) + ".attn.kha." + n);
      for (const char* n : {"mix_k", "mix_v"}) expected.push_back("layers." + std::to_string(l) + ".attn.mea." + n);
      for (const char* n : {"pre", "post"}) expected.push_back("layers." + std::to_string(l) + ".attn.talking." + n);
    }
    ASSERT_EQ(matrices.size(), expected.size());
    std::map<std::string, torch::Tensor> params;
    for (const auto& [name, t] : m->named_tensors()) params[name] = t;
    for (size_t i = 0; i < matrices.size(); ++i) {
      const auto& mm = matrices[i];
      ASSERT_EQ(tensor_name(mm), expected[i]);
      const auto& p = params.at(expected[i]);
      ASSERT_EQ(mm.matrix.rows, p.size(0));
      ASSERT_EQ(mm.matrix.cols, p.size(1));
      auto plain = torch::tensor(mm.matrix.values).view({mm.matrix.rows, mm.matrix.cols});
      EXPECT_TRUE(torch::equal(plain, p)) << expected[i];
      const auto s = summarize_matrix(mm.matrix);
      EXPECT_EQ(mm.distance_from_identity, s.distance_from_identity);
      EXPECT_EQ(mm.off_diagonal_mass, s.off_diagonal_mass);
      EXPECT_EQ(mm.effective_rank, s.effective_rank);
      EXPECT_GT(mm.distance_from_identity, 0.0f);  // randomized away from identity
    }
    EXPECT_EQ(matrices[kha_names.size()].state, "active");                            // mea@0
    EXPECT_EQ(matrices[kha_names.size() + 2].state, "frozen");                        // talking_heads@0
    EXPECT_EQ(matrices[kha_names.size() + 4 + kha_names.size()].state, "bypassed");  // mea@1
    EXPECT_EQ(matrices[kha_names.size() + 4 + kha_names.size()].module, "mea");
  }
}

TEST(MatrixSummary, ModelWithoutModulesHasNoMatrices) {
  auto m = tu::make_model(tu::tiny_config());
  EXPECT_TRUE(collect_module_matrices(m).empty());
}

}  // namespace
