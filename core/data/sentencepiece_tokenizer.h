#pragma once
// SentencePiece models (MODEL.md §5's {"type": "sentencepiece"}): Llama 1/2, Mistral,
// Gemma and the other models that ship a tokenizer.model. A thin wrapper over Debian's
// libsentencepiece, so the ids are the reference implementation's own. The library is reached
// through the headlab_sentencepiece module (plugins/sentencepiece), loaded on first use: linked
// into a program that also loads LibTorch, Debian's build of it breaks protobuf for one of them.
//
// encode() adds neither BOS nor EOS (SentencePiece's Encode never does; the model's
// template would). decode() is SentencePiece's: a byte-fallback sequence that is not valid
// UTF-8 comes back as U+FFFD, not as the raw bytes.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "data/tokenizer.h"

namespace headlab::data {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  // InputError naming `file` when it cannot be read or is not a SentencePiece model.
  explicit SentencePieceTokenizer(const std::filesystem::path& file);
  struct Module;  // the dlopen'ed C interface of plugins/sentencepiece
  ~SentencePieceTokenizer() override;

  int64_t vocab_size() const override;
  std::vector<int64_t> encode(std::string_view utf8) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  // "␣the" for "▁the", byte pieces like the bytes tokenizer ("0xe6", "\n"), control and
  // unknown pieces as written ("<s>", "<unk>").
  std::string token_label(int64_t id) const override;
  // {"type": "sentencepiece", "file": <the file name it was loaded from>}.
  nlohmann::json to_json() const override;

 private:
  void check_id(int64_t id) const;

  std::string where_;
  std::string file_name_;
  const Module* module_ = nullptr;
  void* processor_ = nullptr;
  std::vector<std::string> pieces_;  // every piece, read once
  std::vector<int> kinds_;           // 0 normal, 1 byte, 2 control, 3 unknown
};

}  // namespace headlab::data
