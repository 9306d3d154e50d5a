#pragma once
// Byte-level BPE from a Hugging Face tokenizer.json (MODEL.md §5's {"type": "hf"}): the
// tokenizers of GPT-2, Llama 3 and Qwen 2/2.5/3 and the many models that copy them. We
// reimplement the `tokenizers` crate's encode path instead of linking it because it is Rust
// with no Debian C/C++ package; tests/tokenizer/compare_with_hf_js.sh checks the ids against
// Hugging Face's own JavaScript implementation on real tokenizer files.
//
// encode() is `tokenizer.encode(text, add_special_tokens=False)`: normalizer, added tokens
// (special ones too: "<|endoftext|>" in the text becomes its id), pre-tokenizer and BPE,
// without the post-processor's BOS. decode() is the ByteLevel decoder without any clean-up.
#include <filesystem>
#include <memory>
#include <string>

#include "data/tokenizer.h"

namespace headlab::data {

class HfBpeTokenizer final : public Tokenizer {
 public:
  // Reads `file`. InputError naming the file (and the field at fault) when it cannot be
  // read, is not JSON, or is not a byte-level BPE tokenizer.json this class implements.
  explicit HfBpeTokenizer(const std::filesystem::path& file);
  // From an already parsed tokenizer.json. `where` names it in messages; `file_name` is
  // what to_json() reports.
  HfBpeTokenizer(const nlohmann::json& json, const std::string& where, std::string file_name);
  ~HfBpeTokenizer() override;

  int64_t vocab_size() const override;
  std::vector<int64_t> encode(std::string_view utf8) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  // "␣the" for "Ġthe", "\n" escaped, a lone byte of a split character as "0xe6", added
  // tokens as written ("<|endoftext|>").
  std::string token_label(int64_t id) const override;
  // {"type": "hf", "file": <the file name it was loaded from>}.
  nlohmann::json to_json() const override;

  // The id of `token` spelled as in tokenizer.json (the byte-level alphabet for model tokens,
  // "Ġthe"; the content for added tokens), or -1 when there is none.
  int64_t token_to_id(std::string_view token) const;

  struct Impl;

 private:
  std::unique_ptr<const Impl> impl_;
};

}  // namespace headlab::data
