#pragma once
// Internal to the engine and its tests: which implementation of MODEL.md §2 a layer runs.
// Not part of the model's API: the paths compute the same function (the equivalence tests
// hold them to the reference path), they differ only in speed and rounding.
#include <cstdint>

namespace headlab::model {

class AttentionImpl;

struct AttentionPaths {
  // Without a cache and with at least this many rows (B*T), q, k and v come from ONE GEMM over
  // the concatenated weights, and q and k share one QK-norm and one RoPE call
  // (attention_fused_qkv.cpp). Below it (decoding, short prompts) the weights stay apart and no
  // weight copy is made. The MLP's fused gate/up GEMM uses the same threshold.
  int64_t fused_projection_min_rows = 64;
  // On that path, from this many rows on (0: d_model, where the weight product becomes the
  // cheaper side), KHA-linear and MEA-HLC are applied to the weights once per forward,
  // W_eff = blockdiag(T)^T W and W'_j = sum_i mix[i, j] W_i, instead of to every row.
  // gqa layouts only: gta's k is not one projection.
  int64_t module_fusion_min_rows = 0;
  // On LibTorch 2.x, when no one asks for the probabilities (no probe this step) and talking
  // heads do not act: at::scaled_dot_product_attention, whose CUDA kernels (flash,
  // memory-efficient) never hold the [B, H, T, T] scores. LibTorch 1.13 has no SDPA: there
  // this switch changes nothing and the grouped GEMM path runs.
  bool sdpa = true;
  // Forwards that took the SDPA path: how the tests see which path ran.
  int64_t sdpa_forwards = 0;
  // Every forward through attention_reference (a debugging aid; slow, plain torch ops).
  bool reference = false;
};

// The layer's path choice, for the engine's own files and the tests.
AttentionPaths& attention_paths(AttentionImpl& layer);
const AttentionPaths& attention_paths(const AttentionImpl& layer);

}  // namespace headlab::model
