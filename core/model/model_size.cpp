#include "model/model_size.h"

#include <unistd.h>

#include <cstdio>

#include "common/errors.h"

namespace headlab::model {

double parameter_count_lower_bound(const ModelConfig& c) {
  const double d = static_cast<double>(c.d_model), V = static_cast<double>(c.vocab_size);
  const double H = static_cast<double>(c.n_heads), dh = static_cast<double>(c.head_dim);
  const double G = static_cast<double>(c.stored_kv_heads()), ff = static_cast<double>(c.d_ff);
  // wq and wo, and at least d x G x dh for the keys and values (wk + wv, or gta's wkv).
  const double attention = d * H * dh + d * G * dh + H * dh * d;
  const double mlp = (c.mlp == MlpKind::Gelu ? 2 : 3) * d * ff;
  const double per_layer = attention + mlp + 2 * d /* norms */;
  const double head = c.tie_embeddings ? 0 : V * d;
  const double positions = c.positions == PositionKind::Learned ? static_cast<double>(c.max_seq_len) * d : 0;
  return V * d + static_cast<double>(c.n_layers) * per_layer + d + head + positions;
}

double machine_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0.0;
}

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB", "PB", "EB"};
  int u = 0;
  while (bytes >= 1000 && u < 6) {
    bytes /= 1000;
    ++u;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, bytes >= 100 || u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

void check_fits_in_memory(double bytes, const std::string& what) {
  const double have = machine_memory_bytes();
  if (have > 0 && bytes > have)
    throw InputError(what + " needs about " + human_bytes(bytes) + ", more than this machine's memory (" +
                     human_bytes(have) + ")");
}

}  // namespace headlab::model
