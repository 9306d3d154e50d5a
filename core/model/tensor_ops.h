#pragma once
// Small pure tensor functions of MODEL.md: RMSNorm, rotate-half RoPE and the causal mask, with
// hand-written backward passes and per-shape caches where autograd's general ones cost time.
// Every function returns a new tensor: the cached tables and masks never leave tensor_ops.cpp.
#include <torch/torch.h>

#include "model/model_config.h"

namespace headlab::model {

// x / sqrt(mean(x^2 over last dim) + eps) * weight (weight broadcasts against x). One autograd
// node with the analytic gradient: dx = r (g w - x^ mean(g w x^)), dw = sum(g x^), x^ = x r.
// The result is contiguous whatever the layout of x.
torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps);

// SwiGLU's inner product silu(g) * u for gate_up = [g | u] along the last dim (2 d_ff ->
// d_ff). One autograd node whose gradient is written as a single [..., 2 d_ff] tensor, where
// split + silu + mul would cost three nodes and a concatenation.
torch::Tensor swiglu(const torch::Tensor& gate_up);

// Rotate-half RoPE over the LAST `rotary_dims` features of x [B, T, N, dh], positions
// start, start+1, ... along dim 1. The first dh - rotary_dims features pass through, and x
// itself is returned when rotary_dims is 0 (learned positions).
// One autograd node: the backward is the inverse rotation.
torch::Tensor apply_rope(const torch::Tensor& x, int64_t start, int64_t rotary_dims, const RopeSpec& rope);
inline torch::Tensor apply_rope(const torch::Tensor& x, int64_t start, int64_t rotary_dims, double theta) {
  return apply_rope(x, start, rotary_dims, RopeSpec{theta, {}});
}

// Attention scores with the causal mask, for grouped queries: out[i] = alpha * a[i] @ b[i]
// plus 0 / -inf, where a is [N, repeat * Tq, K] (row r * Tq + t is query position start + t)
// and b is [N, K, Tk]; key u > start + t gets -inf. The mask rides in the GEMM's C input.
torch::Tensor causal_scores(const torch::Tensor& a, const torch::Tensor& b, double alpha, int64_t start,
                            int64_t repeat);
// scores [..., Tq, Tk] with -inf where key u > start + t (query t): a new tensor, or scores
// itself when no key is in the future (one new position after a cache).
torch::Tensor mask_future(const torch::Tensor& scores, int64_t start);

// out[i] = bias + alpha * a[i] @ b[i] for a [N, M, K], b [N, K, P] (bias: undefined, or
// broadcasting to [M, P]; only read). On the CPU (float32, when the BLAS exports a usable
// sgemm_: blas_sgemm.h) the N small GEMMs go straight to BLAS, in parallel, one
// single-threaded GEMM per task: LibTorch 1.13's bmm runs them one after another through the
// dispatcher, each split over every thread (a fork/join per head). Elsewhere, or when a size
// does not fit BLAS's 32-bit integers, it is baddbmm / bmm. Differentiable in a and b. The
// result is always a new tensor.
torch::Tensor batched_matmul(const torch::Tensor& a, const torch::Tensor& b, double alpha = 1.0,
                             const torch::Tensor& bias = {});

// Fills a [n, n] identity on the device and dtype of `like`.
torch::Tensor identity_like(int64_t n, const torch::Tensor& like);

}  // namespace headlab::model
