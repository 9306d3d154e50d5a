#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "data/data_source.h"
#include "data_test_util.h"

using namespace headlab::data;
using headlab::data::test_util::expect_input_error;
using headlab::data::test_util::full_row;
using J = nlohmann::json;
namespace fs = std::filesystem;

namespace {

class CorpusText : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("headlab_corpus_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& content) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }
  J text_config(const std::string& path, const char* tokenizer = "bytes", double val_fraction = 0.1) {
    return {{"task", "text"}, {"path", path}, {"tokenizer", tokenizer}, {"val_fraction", val_fraction}};
  }

  fs::path dir_;
};

}  // namespace

TEST_F(CorpusText, InvalidUtf8NamesTheFileAndOffset) {
  write("a_good.txt", "fine");
  write("b_bad.txt", "hello\xFFworld");
  expect_input_error([&] { make_data_source(text_config(dir_.string()), 1); }, "b_bad.txt: invalid UTF-8 at byte offset 5");
}

TEST_F(CorpusText, EmptyOrMissingInputsAreRejected) {
  const std::string empty = write("empty.txt", "");
  expect_input_error([&] { make_data_source(text_config(empty), 1); }, "empty.txt is empty");
  expect_input_error([&] { make_data_source(text_config((dir_ / "nope.txt").string()), 1); }, "does not exist");
  fs::create_directories(dir_ / "sub");
  write("sub/notes.md", "not a txt file");
  expect_input_error([&] { make_data_source(text_config((dir_ / "sub").string()), 1); }, "holds no .txt files");
}

TEST_F(CorpusText, ValidationIsTheDisjointTailOfTheCorpus) {
  const std::string path = write("ab.txt", std::string(900, 'a') + std::string(100, 'b'));
  const auto source = make_data_source(text_config(path, "chars"), 5);
  EXPECT_EQ(source->tokenizer().to_json(), J({{"type", "chars"}, {"alphabet", "ab"}}));
  const int64_t a = 0, b = 1;
  for (uint64_t index = 0; index < 4; ++index) {
    const Batch train = source->batch(Split::Train, index, 8, 63);
    const Batch validation = source->batch(Split::Validation, index, 8, 63);
    EXPECT_TRUE(train.inputs.eq(a).all().item<bool>());
    EXPECT_TRUE(train.targets.eq(a).all().item<bool>());
    EXPECT_TRUE(validation.inputs.eq(b).all().item<bool>());
    EXPECT_TRUE(validation.targets.eq(b).all().item<bool>());
    EXPECT_TRUE(train.loss_mask.eq(1.0f).all().item<bool>());  // every position scored
  }
  // The validation split holds 100 tokens: a window of 101 no longer fits.
  EXPECT_NO_THROW(source->batch(Split::Validation, 0, 1, 99));
  expect_input_error([&] { source->batch(Split::Train, 0, 1, 100); }, "too short for seq_len 100");
}

TEST_F(CorpusText, FolderIsConcatenatedInNameOrder) {
  write("b.txt", "world");
  write("a.txt", "hello");
  write("c.md", "ignored");
  const auto source = make_data_source(text_config(dir_.string(), "bytes", 0.5), 1);
  // "hello\nworld": 11 tokens, the last 5 are validation.
  const Batch validation = source->batch(Split::Validation, 0, 2, 4);
  EXPECT_EQ(source->tokenizer().decode(full_row(validation, 0).tokens), "world");
  const Batch train = source->batch(Split::Train, 0, 8, 4);
  for (int64_t r = 0; r < 8; ++r) {
    const std::string text = source->tokenizer().decode(full_row(train, r).tokens);
    EXPECT_TRUE(text == "hello" || text == "ello\n") << text;
  }
  EXPECT_NE(source->describe().find("2 files"), std::string::npos) << source->describe();
  EXPECT_EQ(source->config(), text_config(dir_.string(), "bytes", 0.5));
  EXPECT_EQ(source->tokenizer().decode(source->probe_tokens(5)), "world");
}

TEST_F(CorpusText, CharsTokenizerKeepsMultiByteCharacters) {
  std::string text;
  for (int i = 0; i < 40; ++i) text += "caf\xC3\xA9 \xE6\x97\xA5 ";  // "café 日 "
  const auto source = make_data_source(text_config(write("u.txt", text), "chars"), 2);
  EXPECT_EQ(source->tokenizer().vocab_size(), 6);  // space a c f é 日
  const Batch batch = source->batch(Split::Train, 0, 2, 24);
  const std::string window = source->tokenizer().decode(full_row(batch, 0).tokens);
  EXPECT_NE(text.find(window), std::string::npos) << window;
  const uint64_t h = batch_hash(batch);
  EXPECT_EQ(h, batch_hash(make_data_source(text_config(write("u.txt", text), "chars"), 2)->batch(Split::Train, 0, 2, 24)));
}

TEST_F(CorpusText, ARelativePathIsStoredResolved) {
  std::string text;
  for (int i = 0; i < 300; ++i) text += "the cat sat on the mat. ";
  const fs::path file = write("corpus.txt", text);
  const fs::path relative = fs::relative(file, fs::current_path());
  ASSERT_TRUE(relative.is_relative());
  const auto source = make_data_source(text_config(relative.string()), 1);
  // The run's config.json keeps this, so a resume from another folder still finds the corpus.
  EXPECT_EQ(source->config()["path"], fs::absolute(file).lexically_normal().string());
}
