// tokenize: a model's tokenizer on a text, ids out as JSON (and back with --decode), so that
// HeadLab's C++ tokenizers can be held against any other implementation.
#include <iostream>
#include <memory>

#include "cli_common.h"
#include "common/errors.h"
#include "common/read_file.h"
#include "data/model_tokenizer.h"
#include "io/model_io.h"

namespace headlab::cli {
void add_tokenize_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("tokenize", "Print the ids of a text under a model's tokenizer as JSON");
  auto model_dir = std::make_shared<std::string>(), text = std::make_shared<std::string>(),
       text_file = std::make_shared<std::string>(), decode = std::make_shared<std::string>();
  cmd->add_option("--model", *model_dir, "Model directory (HeadLab or Hugging Face)")->required();
  cmd->add_option("--text", *text, "The text");
  cmd->add_option("--text-file", *text_file, "A UTF-8 text file");
  cmd->add_option("--decode", *decode, "Comma-separated ids to turn back into text instead");
  cmd->callback([=] {
    if ((!text->empty()) + (!text_file->empty()) + (!decode->empty()) != 1)
      throw InputError("give exactly one of --text, --text-file and --decode");
    // The config alone: tokenizing needs no weights.
    const auto config = io::load_model_config(*model_dir);
    if (config.tokenizer.is_null()) throw InputError(*model_dir + ": the model has no tokenizer (its ids are all it reads)");
    const auto tokenizer = data::shared_model_tokenizer(config.tokenizer, config.files_dir);
    nlohmann::json out = {{"tokenizer", config.tokenizer}, {"vocab_size", tokenizer->vocab_size()}};
    if (!decode->empty()) {
      out["text"] = tokenizer->decode(parse_token_list(*decode));
    } else {
      const auto ids = tokenizer->encode(text_file->empty() ? *text : read_file_bytes(*text_file));
      out["count"] = ids.size();
      out["ids"] = ids;
    }
    // Replacement characters rather than an exception for bytes that a decode left broken.
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  });
}

}  // namespace headlab::cli
