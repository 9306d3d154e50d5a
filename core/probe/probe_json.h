#pragma once
// Probe results as JSON: the summary line of probes.jsonl (per layer/head statistics and
// matrix summaries) and the full record of `headlab-cli probe` (plus similarity, matrices,
// ablations and, optionally, the attention maps).
#include <nlohmann/json.hpp>

#include "probe/snapshot.h"

namespace headlab::probe {

nlohmann::json summary_json(const ProbeSnapshot& snapshot);
nlohmann::json full_json(const ProbeSnapshot& snapshot, bool with_attention_maps);

}  // namespace headlab::probe
