#pragma once
// The tokenizer of a model directory: MODEL.md §5's tokenizer object, whose "hf" and
// "sentencepiece" types name a file that lives next to the model config. Apart from
// Tokenizer::from_json because only these two types touch the file system and link
// PCRE2, ICU and libsentencepiece.
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "data/tokenizer.h"

namespace headlab::data {

// {"type": "hf", "file": F} loads model_dir / F as a Hugging Face tokenizer.json,
// {"type": "sentencepiece", "file": F} as a SentencePiece tokenizer.model; "bytes" and
// "chars" go to Tokenizer::from_json. F must be a plain file name (no directory part, no
// "..": a config must not reach outside its model directory). InputError naming
// "tokenizer.<field>" or the file otherwise.
std::unique_ptr<Tokenizer> load_model_tokenizer(const nlohmann::json& tokenizer_json,
                                                const std::filesystem::path& model_dir);

// The tokenizer of the model in `dir` (a HeadLab model directory or a Hugging Face folder);
// InputError when it has none.
std::unique_ptr<Tokenizer> tokenizer_of_model_dir(const std::filesystem::path& dir);

// The same, shared and kept: a pretrained model's tokenizer.json takes up to a second to read,
// and probes, samples and evaluations ask for it again and again. Entries are keyed by the
// file and its size and modification time (an edited file is read anew); a file that has gone
// since (a rotated checkpoint) keeps serving what it held.
std::shared_ptr<const Tokenizer> shared_model_tokenizer(const nlohmann::json& tokenizer_json,
                                                        const std::filesystem::path& model_dir);

}  // namespace headlab::data
