#pragma once
// Where training batches come from: text corpora and synthetic tasks behind one interface.
//
// Determinism: batch i of a split is a pure function of (data config, seed, split, i,
// batch_size, seq_len); validation batches do not depend on the seed (rng.h,
// kValidationSeed), so every run of a task is evaluated on the same held-out rows. Row r of that batch draws from its own random stream named by
// (seed, split, i, r), so resuming a run only needs the batch index, and batch_hash proves
// that two runs saw the same data in the same order. Batches are CPU tensors; the trainer
// moves them to its device. A DataSource has no mutable state: its const methods may be
// called from any thread.
//
// Data config: {"task": NAME, ...options}. Unknown keys, wrong types and impossible values
// are InputErrors naming the key ("data.val_fraction (1.5) must be in (0, 1)").
//
//   text                 a file, or a folder of *.txt files (not recursive) concatenated in
//                        name order; the last val_fraction of the tokens is validation; rows
//                        are windows at random offsets inside one split; every position scored.
//     path               required
//     tokenizer          "bytes" (default) | "chars" (alphabet = the corpus's characters)
//     val_fraction       0.1, in (0, 1)
//   induction            random symbols, then the first `period` of them repeated until the
//                        row ends; period is drawn per row in [L/4, L/2] (L = seq_len + 1).
//                        Scored: the repeat, except its first token (nothing announces that
//                        the repeat starts, so that one is not predictable).
//     n_symbols          32, in [2, 62] (a-z, then 0-9, then A-Z)
//     distinct           false; true: the random segment has no repeated symbol (its length is
//                        then at most n_symbols), so a previous-token head alone says where
//                        to copy from (the default demo uses it)
//   associative_recall   examples "a3k7b1?k7;" packed into rows: n_pairs key-value pairs with
//                        distinct keys, '?', a queried key, its value, ';'. Scored: the value
//                        after each "?key".
//     n_keys             26, in [2, 26] (a-z)
//     n_values           10, in [2, 10] (0-9)
//     n_pairs            8, in [1, n_keys]
//   modular_addition     examples "07+45=52;" (fixed-width decimals) packed into rows. All p*p
//                        pairs (a, b) are split once by a permutation seeded by split_seed
//                        (not the run seed, so every seed is validated on the same pairs):
//                        the first train_fraction of it is train, the rest validation.
//                        Scored: the answer digits.
//     p                  97, in [2, 1000]
//     train_fraction     0.5, in (0, 1) (both splits must get at least one pair)
//     split_seed         0; run directories written before it existed resume with their seed
//   sort                 examples "3142>1234;" packed into rows: a list of min_len..max_len
//                        symbols (repeats allowed), '>', the same list sorted, ';'.
//                        Scored: the sorted list.
//     n_symbols          10, in [2, 36] (0-9, then a-z)
//     min_len            2, in [1, 64]
//     max_len            8, in [min_len, 64]
//   grammar              English-like sentences from a small probabilistic grammar (adjectives,
//                        prepositional phrases, relative clauses, subject-verb agreement),
//                        separated by spaces; every position scored.
//     tokenizer          "chars" (default, alphabet = the grammar's characters) | "bytes"
//
// Synthetic tasks use a chars tokenizer over printable characters, so a trained model's
// tokenizer (stored in its config) can encode prompts typed by the user.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "data/split.h"
#include "data/tokenizer.h"

namespace headlab::data {

struct Batch {
  torch::Tensor inputs;     // [B, T] int64
  torch::Tensor targets;    // [B, T] int64: inputs shifted by one (the next token)
  torch::Tensor loss_mask;  // [B, T] float32: 1 where the target is scored, 0 elsewhere
};

class DataSource {
 public:
  virtual ~DataSource() = default;

  virtual const Tokenizer& tokenizer() const = 0;
  // InputError when batch_size < 1 or seq_len is too short for the task (the message says
  // how long it must be).
  virtual Batch batch(Split split, uint64_t index, int64_t batch_size, int64_t seq_len) const = 0;
  // A default probe input of seq_len tokens: one deterministic sample of the task.
  virtual std::vector<int64_t> probe_tokens(int64_t seq_len) const = 0;
  // One line for logs and the GUI's status bar.
  virtual std::string describe() const = 0;
  // The config with every default filled in; feeding it back gives the same source.
  virtual nlohmann::json config() const = 0;
};

// Stable across runs, platforms and LibTorch versions: covers shapes, dtypes and contents.
uint64_t batch_hash(const Batch& batch);

std::unique_ptr<DataSource> make_data_source(const nlohmann::json& data_config, uint64_t seed);

}  // namespace headlab::data
