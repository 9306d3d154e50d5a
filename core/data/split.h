#pragma once

namespace headlab::data {

// The two disjoint halves of every data source. Synthetic tasks draw the two from
// independent random streams; finite data (text, modular-addition pairs) is partitioned.
enum class Split { Train, Validation };

inline const char* split_name(Split split) {
  return split == Split::Train ? "train" : "validation";
}

}  // namespace headlab::data
