#pragma once
// Small pure tensor functions of MODEL.md: RMSNorm, rotate-half RoPE and the causal mask, with
// hand-written backward passes and per-shape caches where autograd's general ones cost time.
#include <torch/torch.h>

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
// start, start+1, ... along dim 1. The first dh - rotary_dims features pass through.
// One autograd node: the backward is the inverse rotation.
torch::Tensor apply_rope(const torch::Tensor& x, int64_t start, int64_t rotary_dims, double theta);

// Additive causal mask for a grouped score matrix [repeat * Tq, Tk] (row r * Tq + t is query
// position start + t): 0 where key u <= start + t, -inf after. Cached per shape and device.
torch::Tensor causal_bias(int64_t start, int64_t Tq, int64_t Tk, int64_t repeat, const torch::TensorOptions& options);
// The same as a bool [Tq, Tk], true where the key is in the future. Cached.
torch::Tensor causal_mask(int64_t start, int64_t Tq, int64_t Tk, const torch::Device& device);

// out[i] = bias + alpha * a[i] @ b[i] for a [N, M, K], b [N, K, P] (bias: undefined, or
// broadcasting to [M, P]). On the CPU (float32, when the BLAS exports sgemm_) the N small
// GEMMs go straight to BLAS, in parallel, one single-threaded GEMM per task: LibTorch 1.13's bmm
// runs them one after another through the dispatcher, each split over every thread (a fork/join
// per head). Elsewhere it is baddbmm / bmm. Differentiable in a and b.
torch::Tensor batched_matmul(const torch::Tensor& a, const torch::Tensor& b, double alpha = 1.0,
                             const torch::Tensor& bias = {});

// Fills a [n, n] identity on the device and dtype of `like`.
torch::Tensor identity_like(int64_t n, const torch::Tensor& like);

}  // namespace headlab::model
