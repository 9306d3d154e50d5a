// The Sample command: text from the live model between two steps, published as a plain
// SampleResult. Generation never touches the trainer's state (its own RNG, no grad), so a
// sample in the middle of a run leaves the run bit-identical to one without it.
#include <algorithm>

#include "common/errors.h"
#include "data/tokenizer.h"
#include "data/model_tokenizer.h"
#include "data/utf8.h"
#include "session/session_impl.h"
#include "train/sampler.h"

namespace headlab::session {
namespace {

// A token's own text when it is valid UTF-8 by itself (every chars token, ASCII bytes),
// else its printable label ("0xe2" for a piece of a multi-byte character).
std::string token_text(const data::Tokenizer& tokenizer, int64_t id) {
  std::string text = tokenizer.decode({id});
  std::size_t pos = 0;
  char32_t cp = 0;
  const char* reason = nullptr;
  while (pos < text.size())
    if (!data::next_code_point(text, pos, cp, &reason)) return tokenizer.token_label(id);
  return text;
}

}  // namespace

void Session::Impl::sample(const cmd::Sample& c) {
  auto result = std::make_shared<SampleResult>();
  result->request_id = c.options.id;
  result->step = current_step();
  result->prompt = c.prompt;
  try {
    auto& m = live_model();
    const auto& cfg = m->config();
    if (cfg.tokenizer.is_null()) throw InputError("this model has no tokenizer: it cannot read a text prompt");
    const auto tokenizer = data::shared_model_tokenizer(cfg.tokenizer, cfg.files_dir);
    const auto prompt = tokenizer->encode(c.prompt);
    if (prompt.empty()) throw InputError("the prompt is empty: type at least one character the model knows");
    if (c.options.max_tokens < 1 || c.options.max_tokens > 10000)
      throw InputError("max tokens must be between 1 and 10000");
    train::SampleOptions options;
    options.max_tokens = c.options.max_tokens;
    options.temperature = c.options.temperature;
    options.top_k = c.options.top_k;
    options.seed = c.options.seed;
    const auto tokens = train::sample(m, prompt, options);  // no dropout: no mode switch needed
    for (const auto& t : tokens) {
      result->ids.push_back(t.id);
      result->tokens.push_back(token_text(*tokenizer, t.id));
      result->probabilities.push_back(std::clamp(t.probability, 0.0f, 1.0f));
    }
  } catch (const InputError& e) {
    // Shown in the sample view, where the user typed the prompt.
    result->error = e.what();
  }
  {
    std::lock_guard<std::mutex> lock(publish_mutex);
    newest_sample = result;
  }
  publish();
}

}  // namespace headlab::session
