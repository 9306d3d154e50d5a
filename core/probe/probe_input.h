#pragma once
// What a probe reads: the token ids and their labels. One rule for every front end (the CLI's
// probes.jsonl, the live session, the GUI's probe of a run directory, compare):
// - text given (probe.text, or typed by the user): encoded with the model's tokenizer; at
//   least two tokens; cut to the model's max_seq_len;
// - no text: the first min(kDefaultProbeTokens, length) tokens of the task's probe sample,
//   where length is the run's seq_len (cut to max_seq_len); a model without data gets a
//   sequence that repeats its first half, which shows induction heads.
#include <cstdint>
#include <string>
#include <vector>

#include "data/data_source.h"
#include "model/model_config.h"

namespace headlab::probe {

inline constexpr int64_t kDefaultProbeTokens = 64;

struct ProbeInput {
  std::vector<int64_t> tokens;
  std::vector<std::string> labels;  // one per token: the tokenizer's label, or the id in decimal
  bool truncated = false;           // the text had more tokens than the model takes
};

// data: the run's data (null for a model without one); seq_len: the run's training length
// (0: none, use max_seq_len). Throws InputError for text the tokenizer cannot encode, text of
// fewer than two tokens, or text for a model without a tokenizer.
ProbeInput resolve_probe_input(const model::ModelConfig& model, const data::DataSource* data, int64_t seq_len,
                               const std::string& text);

}  // namespace headlab::probe
