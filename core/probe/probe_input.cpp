#include "probe/probe_input.h"

#include <algorithm>
#include <memory>

#include "common/errors.h"
#include "data/tokenizer.h"
#include "data/model_tokenizer.h"

namespace headlab::probe {

ProbeInput resolve_probe_input(const model::ModelConfig& cfg, const data::DataSource* data, int64_t seq_len,
                               const std::string& text) {
  std::shared_ptr<const data::Tokenizer> tokenizer;
  if (!cfg.tokenizer.is_null()) tokenizer = data::shared_model_tokenizer(cfg.tokenizer, cfg.files_dir);
  ProbeInput in;
  if (!text.empty()) {
    if (!tokenizer) throw InputError("this model has no tokenizer: a probe text needs one (probe token ids instead)");
    in.tokens = tokenizer->encode(text);
    if (in.tokens.size() < 2) throw InputError("the probe text needs at least two tokens");
    if (static_cast<int64_t>(in.tokens.size()) > cfg.max_seq_len) {
      in.tokens.resize(static_cast<size_t>(cfg.max_seq_len));
      in.truncated = true;
    }
  } else {
    const int64_t length = std::min({kDefaultProbeTokens, seq_len > 0 ? seq_len : cfg.max_seq_len, cfg.max_seq_len});
    if (data) {
      in.tokens = data->probe_tokens(length);
    } else if (tokenizer && cfg.tokenizer.value("type", "") == "bytes") {
      const std::string sample = "the cat sat on the mat. the cat sat on the mat.";
      in.tokens = tokenizer->encode(sample.substr(0, static_cast<size_t>(std::min<int64_t>(length, sample.size()))));
    } else {
      const int64_t half = std::max<int64_t>(2, length / 2), V = cfg.vocab_size;
      for (int64_t i = 0; i < half; ++i) in.tokens.push_back((i * 7 + 3) % V);
      for (int64_t i = 0; i < half && static_cast<int64_t>(in.tokens.size()) < length; ++i)
        in.tokens.push_back(in.tokens[static_cast<size_t>(i)]);
    }
  }
  in.labels.reserve(in.tokens.size());
  for (int64_t id : in.tokens) in.labels.push_back(tokenizer ? tokenizer->token_label(id) : std::to_string(id));
  return in;
}

}  // namespace headlab::probe
