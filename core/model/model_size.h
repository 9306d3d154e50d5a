#pragma once
// How big a model or a run will be, from its config alone, before anything is allocated: a
// config with vocab_size 1e12 or n_layers 1e9 must be refused with a message giving the size,
// not die in std::bad_alloc or page the machine to a halt. Torch-free.
#include <cstdint>
#include <string>

#include "model/model_config.h"

namespace headlab::model {

// Parameters of the model the config describes, counted in double (no overflow) from the
// shapes of docs/model.md: embeddings, attention and MLP projections, norms, head. The small
// interaction matrices are left out, so this is a lower bound, exact up to them.
double parameter_count_lower_bound(const ModelConfig& config);

// Bytes of physical memory on this machine (0 when unknown).
double machine_memory_bytes();

// "1.5 GB", "3.2 TB": a size for a message.
std::string human_bytes(double bytes);

// Throws InputError naming `what`, the estimate and the machine's memory when `bytes` is more
// than the machine has. Does nothing when the machine's memory is unknown.
void check_fits_in_memory(double bytes, const std::string& what);

}  // namespace headlab::model
