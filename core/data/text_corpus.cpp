// Text corpora: a file or a folder of .txt files, tokenized once and held in memory. The
// tail of the corpus is the validation split (rather than random chunks) so that train and
// validation windows can never overlap, whatever the window length.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/errors.h"
#include "common/json_file.h"
#include "common/read_file.h"
#include "data/config_reader.h"
#include "data/model_tokenizer.h"
#include "data/row_task.h"
#include "data/utf8.h"

namespace headlab::data {
namespace {

namespace fs = std::filesystem;

// The files of the corpus in name order: `path` itself, or the *.txt directly inside it.
std::vector<fs::path> corpus_files(const std::string& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return {fs::path(path)};
  if (!fs::is_directory(path, ec)) {
    throw InputError("data.path: " + path + " does not exist or is not a file or folder");
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".txt") files.push_back(entry.path());
  }
  if (ec) throw InputError("data.path: cannot list folder " + path + ": " + ec.message());
  if (files.empty()) throw InputError("data.path: folder " + path + " holds no .txt files");
  std::sort(files.begin(), files.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
  return files;
}

class TextCorpusTask final : public RowTask {
 public:
  TextCorpusTask(std::string path, std::string tokenizer_type, double val_fraction)
      : path_(std::move(path)), tokenizer_type_(std::move(tokenizer_type)), val_fraction_(val_fraction) {
    const std::vector<fs::path> files = corpus_files(path_);
    n_files_ = files.size();
    std::string text;
    for (const auto& file : files) {
      std::string content = read_file_bytes(file);
      validate_utf8(content, file.string());
      if (content.empty()) continue;
      // Keep files apart so the last word of one does not run into the first of the next.
      if (!text.empty() && text.back() != '\n') text += '\n';
      text += content;
    }
    if (text.empty()) {
      throw InputError("data.path: " + path_ + (files.size() == 1 ? " is empty" : ": every .txt file is empty"));
    }
    tokenize(text);
    const auto n = static_cast<int64_t>(tokens_.size());
    n_validation_ = static_cast<int64_t>(static_cast<double>(n) * val_fraction_);
    if (n_validation_ < 1 || n_validation_ >= n) {
      throw InputError("data.val_fraction (" + std::to_string(val_fraction_) + ") leaves an empty split of the " +
                       std::to_string(n) + " tokens of " + path_);
    }
  }

  const Tokenizer& tokenizer() const override { return *tokenizer_; }
  int64_t min_row_length() const override { return 2; }

  void check_row_length(int64_t length) const override {
    const int64_t shortest = std::min(n_train(), n_validation_);
    if (length > shortest) {
      throw InputError("data.path: corpus " + path_ + " is too short for seq_len " +
                       std::to_string(length - 1) + ": its " +
                       (n_train() <= n_validation_ ? "train" : "validation") + " split has " +
                       std::to_string(shortest) + " tokens, fewer than seq_len + 1");
    }
  }

  void fill_row(Split split, Rng& rng, int64_t length, Row& row) const override {
    const int64_t start = split == Split::Train ? 0 : n_train();
    const int64_t size = split == Split::Train ? n_train() : n_validation_;
    const int64_t offset = start + rng.between(0, size - length);
    for (int64_t j = 0; j < length; ++j) row.push(tokens_[static_cast<std::size_t>(offset + j)], j > 0);
  }

  // The start of the validation text: real, unseen prose, the same for every seed.
  void fill_probe_row(Rng&, int64_t length, Row& row) const override {
    const auto n = static_cast<int64_t>(tokens_.size());
    if (length > n) {
      throw InputError("data.path: corpus " + path_ + " has " + std::to_string(n) +
                       " tokens, fewer than the probe length " + std::to_string(length));
    }
    const int64_t offset = std::min(n_train(), n - length);
    for (int64_t j = 0; j < length; ++j) row.push(tokens_[static_cast<std::size_t>(offset + j)], j > 0);
  }

  std::string describe() const override {
    return "text: " + path_ + " (" + std::to_string(n_files_) + (n_files_ == 1 ? " file, " : " files, ") +
           std::to_string(tokens_.size()) +
           (tokenizer_type_ == "bytes" || tokenizer_type_ == "chars" ? " " + tokenizer_type_ + " tokens"
                                                                      : " tokens of the tokenizer of " + tokenizer_type_) +
           ", vocabulary " +
           std::to_string(tokenizer_->vocab_size()) + "), last " + std::to_string(n_validation_) +
           " tokens for validation";
  }

  nlohmann::json config() const override {
    // Resolved: the run's config.json must still find the corpus when resumed from elsewhere.
    std::error_code ec;
    const fs::path absolute = fs::absolute(path_, ec);
    return {{"task", "text"},
            {"path", ec ? path_ : absolute.lexically_normal().string()},
            {"tokenizer", tokenizer_type_},
            {"val_fraction", val_fraction_}};
  }

 private:
  int64_t n_train() const { return static_cast<int64_t>(tokens_.size()) - n_validation_; }

  // int32 ids: a quarter of the memory of int64 for corpora of hundreds of megabytes.
  void tokenize(const std::string& text) {
    if (tokenizer_type_ != "bytes" && tokenizer_type_ != "chars") {
      // A model directory: the text in its tokenizer's ids (fine-tuning a pretrained model).
      tokenizer_ = tokenizer_of_model_dir(tokenizer_type_);
      const std::vector<int64_t> ids = tokenizer_->encode(text);
      tokens_.assign(ids.begin(), ids.end());
      return;
    }
    if (tokenizer_type_ == "bytes") {
      tokenizer_ = std::make_unique<BytesTokenizer>();
      tokens_.assign(text.begin(), text.end());
      for (int32_t& t : tokens_) t &= 0xFF;  // char may be signed
      return;
    }
    auto chars = std::make_unique<CharsTokenizer>(CharsTokenizer::from_corpus(text));
    const std::u32string code_points = decode_utf8(text, path_);
    tokens_.resize(code_points.size());
    for (std::size_t i = 0; i < code_points.size(); ++i) {
      tokens_[i] = static_cast<int32_t>(chars->id_of(code_points[i]));
    }
    tokenizer_ = std::move(chars);
  }

  std::string path_, tokenizer_type_;
  double val_fraction_;
  std::size_t n_files_ = 0;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::vector<int32_t> tokens_;
  int64_t n_validation_ = 0;
};

}  // namespace

std::unique_ptr<RowTask> make_text_task(const nlohmann::json& config, uint64_t) {
  ConfigReader reader(config, "data", {"path", "tokenizer", "val_fraction"});
  std::string path = reader.required_string("path");
  // "bytes", "chars", or the directory of a model whose tokenizer reads the corpus ("model"
  // is init_from's directory, which the trainer writes in before the corpus is read).
  std::string tokenizer = config.contains("tokenizer") && config["tokenizer"].is_string() ? config["tokenizer"].get<std::string>() : "bytes";
  if (tokenizer == "model")
    throw InputError("data.tokenizer \"model\" means the tokenizer of the model the run starts from: give init_from too");
  if (tokenizer != "bytes" && tokenizer != "chars") {
    std::error_code ec;
    if (!fs::is_directory(tokenizer, ec))
      throw InputError("data.tokenizer must be bytes, chars, model or a model directory; " + tokenizer + " is none of them");
    tokenizer = fs::absolute(tokenizer, ec).lexically_normal().string();
  } else {
    tokenizer = reader.choice("tokenizer", "bytes", {"bytes", "chars"});
  }
  const double val_fraction = reader.fraction("val_fraction", 0.1, 0.0, 1.0);
  return std::make_unique<TextCorpusTask>(std::move(path), std::move(tokenizer), val_fraction);
}

}  // namespace headlab::data
