#include "model/tensor_ops.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <tuple>

#include "model/blas_sgemm.h"

namespace headlab::model {
namespace {
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// ---- RMSNorm: autograd's graph of pow, mean, add, rsqrt, mul, mul costs ~10 passes over x
// backward; the analytic gradient needs 5.
struct RmsNormFunction : torch::autograd::Function<RmsNormFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight, double eps) {
    auto r = (x * x).mean(-1, /*keepdim=*/true).add_(eps).rsqrt_();
    // A contiguous result even for a permuted x: the caller can then view it in any shape
    // (the attention output goes [B,H,T,dh] -> [B,T,H*dh] without a copy).
    auto xhat = at::empty(x.sizes(), x.options());
    at::mul_out(xhat, x, r);
    auto y = xhat * weight;
    ctx->save_for_backward({xhat, r, weight});
    return y;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &xhat = saved[0], &r = saved[1], &weight = saved[2];
    const auto& g = grads[0];
    torch::Tensor dx, dw;
    if (ctx->needs_input_grad(1)) dw = at::sum_to(g * xhat, weight.sizes());
    if (ctx->needs_input_grad(0)) {
      auto gw = g * weight;
      auto c = (gw * xhat).mean(-1, /*keepdim=*/true);
      dx = gw.sub_(xhat * c).mul_(r);
    }
    return {dx, dw, torch::Tensor()};
  }
};

// ---- SwiGLU: h = silu(g) u; dg = silu'(g) (grad u), du = grad silu(g), into one buffer.
struct SwiGluFunction : torch::autograd::Function<SwiGluFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& gate_up) {
    const int64_t F = gate_up.size(-1) / 2;
    auto g = gate_up.narrow(-1, 0, F), u = gate_up.narrow(-1, F, F);
    auto silu_g = at::silu(g);
    auto h = silu_g * u;
    ctx->save_for_backward({gate_up, silu_g});
    return h;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &gate_up = saved[0], &silu_g = saved[1];
    const int64_t F = gate_up.size(-1) / 2;
    auto d = at::empty(gate_up.sizes(), gate_up.options());
    auto dg = d.narrow(-1, 0, F), du = d.narrow(-1, F, F);
    at::mul_out(du, grads[0], silu_g);
    at::silu_backward_out(dg, grads[0] * gate_up.narrow(-1, F, F), gate_up.narrow(-1, 0, F));
    return {d};
  }
};

// ---- Caches. RoPE tables and causal masks are pure functions of a few integers; rebuilt
// per call they cost more than the small-model ops they feed. They are process-wide (models
// of the same shape share them) and bounded: decoding with a cache makes a new mask shape per
// step, and a session may load many models. Their tensors NEVER leave this file: the public
// functions only read them, as inputs of ops that allocate their result (mul, copy_,
// masked_fill), so no caller can write into them. (A cached causal bias once came back as a
// GEMM's C buffer for a single-batch MQA layer and collected every score written into it.)
std::mutex g_cache_mutex;
constexpr size_t kMaxRopeTables = 16;
constexpr size_t kMaxMasks = 64;

// ---- RoPE tables: cos / sin of p * theta^(-2j/r), computed in double (so that far positions
// keep full float precision) once per (device, dtype, dh, r, theta) and grown on demand.
// cos_full is [L, 1, dh]: ones on the pass-through features, then cos, cos; sin is [L, 1, r/2].
// Growing replaces the tensors (never writes into them), so views held by a running forward
// or saved for a backward stay valid.
struct RopeTables {
  torch::Tensor cos_full, sin;
  int64_t length = 0;
};
using RopeKey = std::tuple<int, int, int, int64_t, int64_t, double, double, double, double, double>;
std::map<RopeKey, RopeTables> g_rope;

std::pair<torch::Tensor, torch::Tensor> rope_tables(int64_t start, int64_t T, int64_t dh, int64_t r, const RopeSpec& rope,
                                                    const torch::TensorOptions& options) {
  const auto& s = rope.scaling;
  const RopeKey key{static_cast<int>(options.device().type()), options.device().index(),
                    static_cast<int>(options.dtype().toScalarType()), dh, r, rope.theta,
                    s.factor, s.low_freq_factor, s.high_freq_factor, s.original_max_position_embeddings};
  std::lock_guard<std::mutex> lock(g_cache_mutex);
  if (g_rope.size() >= kMaxRopeTables && !g_rope.count(key)) g_rope.clear();
  auto& tables = g_rope[key];
  if (tables.length < start + T) {
    const int64_t L = std::max<int64_t>({64, start + T, 2 * tables.length});
    const int64_t half = r / 2;
    auto dopts = torch::TensorOptions().dtype(torch::kFloat64).device(options.device());
    auto freq = torch::tensor(rope_frequencies(rope, r), dopts);
    auto angles = torch::outer(torch::arange(L, dopts), freq);  // [L, half]
    auto cos = angles.cos().to(options.dtype());
    tables.cos_full = torch::cat({torch::ones({L, dh - r}, options), cos, cos}, 1).view({L, 1, dh});
    tables.sin = angles.sin().to(options.dtype()).view({L, 1, half});
    tables.length = L;
  }
  return {tables.cos_full.narrow(0, start, T), tables.sin.narrow(0, start, T)};
}

// out = x * cos_full; out1 += -x2 sin; out2 += x1 sin (on the rotary features). `sign` -1 is the
// inverse rotation, which is also the backward of the forward one.
torch::Tensor rotate(const torch::Tensor& x, const torch::Tensor& cos_full, const torch::Tensor& sin, int64_t r,
                     double sign) {
  const int64_t dh = x.size(-1), half = r / 2, pass = dh - r;
  auto out = x * cos_full;
  auto x1 = x.narrow(-1, pass, half), x2 = x.narrow(-1, pass + half, half);
  out.narrow(-1, pass, half).addcmul_(x2, sin, -sign);
  out.narrow(-1, pass + half, half).addcmul_(x1, sin, sign);
  return out;
}

struct RopeFunction : torch::autograd::Function<RopeFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& cos_full,
                               const torch::Tensor& sin, int64_t r) {
    ctx->save_for_backward({cos_full, sin});
    ctx->saved_data["r"] = r;
    return rotate(x, cos_full, sin, r, 1.0);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    return {rotate(grads[0], saved[0], saved[1], ctx->saved_data["r"].toInt(), -1.0), torch::Tensor(),
            torch::Tensor(), torch::Tensor()};
  }
};

// ---- batched GEMMs for attention: parallel over the batch on the CPU, straight into BLAS.
// One [N, R, C] operand as BLAS sees it: row-major rows (trans 'N') or a transposed view
// (trans 'T'), with its leading dimension; anything else is made contiguous first.
struct GemmOperand {
  torch::Tensor tensor;
  char trans = 'N';
  int64_t ld = 1;
};

GemmOperand gemm_operand(const torch::Tensor& t) {
  const int64_t R = t.size(1), C = t.size(2), s1 = t.stride(1), s2 = t.stride(2);
  if ((C == 1 || s2 == 1) && (R == 1 || s1 >= C)) return {t, 'N', R == 1 ? std::max<int64_t>(C, 1) : s1};
  if ((R == 1 || s1 == 1) && (C == 1 || s2 >= R)) return {t, 'T', C == 1 ? std::max<int64_t>(R, 1) : s2};
  return {t.contiguous(), 'N', std::max<int64_t>(C, 1)};
}

torch::Tensor batched_matmul_fallback(const torch::Tensor& a, const torch::Tensor& b, double alpha,
                                      const torch::Tensor& bias) {
  if (bias.defined()) return at::baddbmm(bias, a, b, 1.0, alpha);
  auto out = at::bmm(a, b);
  return alpha == 1.0 ? out : out.mul_(alpha);
}

torch::Tensor batched_matmul_kernel(const torch::Tensor& a, const torch::Tensor& b, double alpha,
                                    const torch::Tensor& bias) {
  const SgemmFn sgemm = a.device().is_cpu() && a.scalar_type() == torch::kFloat && b.scalar_type() == torch::kFloat
                            ? blas_sgemm()
                            : nullptr;
  if (!sgemm) return batched_matmul_fallback(a, b, alpha, bias);
  const int64_t N = a.size(0), M = a.size(1), K = a.size(2), P = b.size(2);
  const auto A = gemm_operand(a), B = gemm_operand(b);
  if (!fits_blas_int({M, K, P, A.ld, B.ld})) return batched_matmul_fallback(a, b, alpha, bias);
  // The GEMM writes into a buffer of its own, always: bias is only read (copied in as C's
  // starting value), whether it is a caller's tensor or a cached mask. (expand + contiguous
  // would be bias itself for N == 1, and the scores would be added into it.)
  auto out = at::empty({N, M, P}, a.options());
  if (N == 0 || M == 0 || P == 0) return out;
  if (bias.defined()) out.copy_(bias.expand({N, M, P}));
  if (K == 0) return bias.defined() ? out : out.zero_();
  const float* pa = A.tensor.data_ptr<float>();
  const float* pb = B.tensor.data_ptr<float>();
  float* pc = out.data_ptr<float>();
  const int64_t sa = A.tensor.stride(0), sb = B.tensor.stride(0), sc = M * P;
  const int m = static_cast<int>(M), k = static_cast<int>(K), p = static_cast<int>(P);
  const int lda = static_cast<int>(A.ld), ldb = static_cast<int>(B.ld);
  const float fa = static_cast<float>(alpha), fb = bias.defined() ? 1.0f : 0.0f;
  // Enough multiply-adds per task to pay for waking a thread; decoding steps run inline.
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 18) / std::max<int64_t>(1, M * K * P));
  at::parallel_for(0, N, grain, [&](int64_t begin, int64_t end) {
    // Row-major C = A B is column-major C^T = B^T A^T. Inside the parallel region OpenBLAS
    // runs single-threaded: one GEMM per task, no fork/join per head.
    for (int64_t i = begin; i < end; ++i)
      sgemm(&B.trans, &A.trans, &p, &m, &k, &fa, pb + i * sb, &ldb, pa + i * sa, &lda, &fb, pc + i * sc, &p);
  });
  return out;
}

// A constant (possibly undefined) tensor: wrapped so that autograd does not take it for an input.
struct ConstantTensor {
  torch::Tensor tensor;
};

struct BatchedMatmulFunction : torch::autograd::Function<BatchedMatmulFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& a, const torch::Tensor& b, double alpha,
                               ConstantTensor bias) {
    ctx->save_for_backward({a, b});
    ctx->saved_data["alpha"] = alpha;
    return batched_matmul_kernel(a, b, alpha, bias.tensor);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const double alpha = ctx->saved_data["alpha"].toDouble();
    const auto& g = grads[0];
    torch::Tensor da, db;
    if (ctx->needs_input_grad(0)) da = batched_matmul_kernel(g, saved[1].transpose(1, 2), alpha, {});
    if (ctx->needs_input_grad(1)) db = batched_matmul_kernel(saved[0].transpose(1, 2), g, alpha, {});
    return {da, db, torch::Tensor(), torch::Tensor()};
  }
};

// ---- causal masks, cached per shape: building them costs two aranges, a compare and a fill.
using MaskKey = std::tuple<int, int, int, int64_t, int64_t, int64_t, int64_t>;
std::map<MaskKey, torch::Tensor> g_masks;

torch::Tensor make_causal_mask(int64_t start, int64_t Tq, int64_t Tk, const torch::Device& device) {
  auto opts = torch::TensorOptions().device(device);
  auto query_pos = torch::arange(start, start + Tq, opts).view({Tq, 1});
  return torch::arange(Tk, opts).view({1, Tk}) > query_pos;
}

// `make` runs under the lock and must not take it again.
torch::Tensor cached_mask(const MaskKey& key, const std::function<torch::Tensor()>& make) {
  std::lock_guard<std::mutex> lock(g_cache_mutex);
  auto it = g_masks.find(key);
  if (it != g_masks.end()) return it->second;
  if (g_masks.size() >= kMaxMasks) g_masks.clear();
  return g_masks[key] = make();
}

// bool [Tq, Tk], true where the key is in the future. Cached: read it, never write it.
torch::Tensor causal_mask(int64_t start, int64_t Tq, int64_t Tk, const torch::Device& device) {
  const MaskKey key{static_cast<int>(device.type()), device.index(), -1, start, Tq, Tk, 1};
  return cached_mask(key, [&] { return make_causal_mask(start, Tq, Tk, device); });
}

// 0 / -inf as a float [repeat * Tq, Tk] for grouped scores. Cached: read it, never write it.
torch::Tensor causal_bias(int64_t start, int64_t Tq, int64_t Tk, int64_t repeat, const torch::TensorOptions& options) {
  const MaskKey key{static_cast<int>(options.device().type()), options.device().index(),
                    static_cast<int>(options.dtype().toScalarType()), start, Tq, Tk, repeat};
  return cached_mask(key, [&] {
    auto bias = torch::zeros({Tq, Tk}, options)
                    .masked_fill_(make_causal_mask(start, Tq, Tk, options.device()),
                                  -std::numeric_limits<double>::infinity());
    return repeat == 1 ? bias : bias.repeat({repeat, 1});
  });
}

}  // namespace

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  return RmsNormFunction::apply(x, weight, eps);
}

torch::Tensor swiglu(const torch::Tensor& gate_up) { return SwiGluFunction::apply(gate_up); }

torch::Tensor apply_rope(const torch::Tensor& x, int64_t start, int64_t rotary_dims, const RopeSpec& rope) {
  if (rotary_dims == 0) return x;
  auto [cos_full, sin] = rope_tables(start, x.size(1), x.size(-1), rotary_dims, rope, x.options());
  return RopeFunction::apply(x, cos_full, sin, rotary_dims);
}

torch::Tensor causal_scores(const torch::Tensor& a, const torch::Tensor& b, double alpha, int64_t start,
                            int64_t repeat) {
  const int64_t Tq = a.size(1) / repeat, Tk = b.size(2);
  // Every query sees every key when this is one new position after the cache.
  if (start >= Tk - 1) return batched_matmul(a, b, alpha);
  return batched_matmul(a, b, alpha, causal_bias(start, Tq, Tk, repeat, a.options()));
}

torch::Tensor mask_future(const torch::Tensor& scores, int64_t start) {
  const int64_t Tq = scores.size(-2), Tk = scores.size(-1);
  if (start >= Tk - 1) return scores;
  return scores.masked_fill(causal_mask(start, Tq, Tk, scores.device()), -std::numeric_limits<float>::infinity());
}

torch::Tensor batched_matmul(const torch::Tensor& a, const torch::Tensor& b, double alpha, const torch::Tensor& bias) {
  return BatchedMatmulFunction::apply(a, b, alpha, ConstantTensor{bias});
}

torch::Tensor identity_like(int64_t n, const torch::Tensor& like) {
  return torch::eye(n, torch::TensorOptions().dtype(like.scalar_type()).device(like.device()));
}

}  // namespace headlab::model
