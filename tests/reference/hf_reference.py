#!/usr/bin/env python3
"""An independent float32 PyTorch forward pass written from the Hugging Face `transformers` modeling code
(modeling_llama/qwen2/qwen3/mistral/gpt2.py, modeling_rope_utils.py), not from HeadLab's code, plus a
generator of tiny random checkpoints in the Hugging Face layout (config.json + safetensors, tensor names).
Needs only PyTorch and NumPy: safetensors is read and written below with struct + numpy.

    hf_reference.py make --arch {llama,qwen2,qwen3,mistral,gpt2} --out DIR [--seed N] [--dtype f32|f16|bf16]
        [--tied] [--sharded] [--rope-scaling llama3] [--rope-parameters] [--attention-bias] [--no-prefix]
        [--gpt2-buffers] [--vocab 97] [--layers 2] [--hidden 64] [--heads 4] [--kv-heads 2] [--head-dim N]
        [--intermediate 96]          (gpt2 is always tied to wte and has no kv/rope options; --kv-heads ignored)
    hf_reference.py logits --model DIR (--tokens 3,1,4,1,5 | --tokens-file F) [--out logits.npy]
    hf_reference.py selftest
"""
import argparse
import json
import math
import struct
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

# ------------------------------------------------------------------ safetensors (format: 8-byte LE header size,
# JSON header {name: {dtype, shape, data_offsets [begin, end) relative to the data area}}, then the data)
_NP = {"F32": np.float32, "F16": np.float16, "BF16": np.int16, "I64": np.int64, "I32": np.int32,
       "U8": np.uint8, "BOOL": np.bool_}
_ST = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.bool: "BOOL"}


def read_safetensors(path):
    """{name: tensor}; F32/F16/BF16 are upcast to float32 exactly (the stored values, nothing re-rounded)."""
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        arr = np.frombuffer(data[8 + n + b:8 + n + e], dtype=_NP[info["dtype"]]).copy()
        t = torch.from_numpy(arr)
        if info["dtype"] == "BF16":
            t = t.view(torch.bfloat16)
        if t.is_floating_point():
            t = t.float()
        out[name] = t.reshape(info["shape"])
    return out


def write_safetensors(path, tensors):
    """tensors: list of (name, tensor already in its storage dtype), laid out in that order."""
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors:
        t = t.contiguous()
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[name] = {"dtype": _ST[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)                        # the safetensors writer pads the header to 8 bytes
    Path(path).write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    return off


def load_weights(model_dir):
    d = Path(model_dir)
    if (d / "model.safetensors.index.json").exists():   # sharded: weight_map {name: shard file}
        index = json.loads((d / "model.safetensors.index.json").read_text())
        out = {}
        for shard in sorted(set(index["weight_map"].values())):
            part = read_safetensors(d / shard)
            out.update({k: v for k, v in part.items() if index["weight_map"].get(k) == shard})
        missing = set(index["weight_map"]) - set(out)
        if missing:
            raise KeyError(f"index names tensors absent from their shard: {sorted(missing)[:5]}")
        return out
    return read_safetensors(d / "model.safetensors")


class Weights(dict):
    """The checkpoint's tensors; records which ones the forward used (HF ignores the rest, with a warning)."""
    def get_w(self, name, shape=None):
        t = self[name]                                   # KeyError names a missing tensor
        if shape is not None and list(t.shape) != list(shape):
            raise ValueError(f"{name}: shape {list(t.shape)}, expected {list(shape)}")
        self.__dict__.setdefault("used", set()).add(name)
        return t


# ------------------------------------------------------------------ Llama / Mistral / Qwen2 / Qwen3
def rms_norm(x, w, eps):
    # LlamaRMSNorm.forward (= Qwen2/Qwen3/MistralRMSNorm): in float32, x * rsqrt(mean(x^2) + eps), then weight * it
    variance = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(variance + eps))


def default_inv_freq(theta, dim):
    # _compute_default_rope_parameters: 1/(base ** (arange(0, dim, 2, int64).float() / dim)) -- float32 arithmetic;
    # dim = head_dim (config.head_dim, else hidden_size // num_attention_heads) * partial_rotary_factor (1.0)
    return 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))


def llama3_inv_freq(inv_freq, sc):
    # _compute_llama3_parameters, step for step in float32 tensors (math.pi and the factors are Python floats)
    factor, low, high = sc["factor"], sc["low_freq_factor"], sc["high_freq_factor"]
    old_context_len = sc["original_max_position_embeddings"]
    low_freq_wavelen = old_context_len / low
    high_freq_wavelen = old_context_len / high
    wavelen = 2 * math.pi / inv_freq
    inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth_factor = (old_context_len / wavelen - low) / (high - low)
    smoothed = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
    is_medium = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    return torch.where(is_medium, smoothed, inv_freq_llama)


def rope_inv_freq(cfg, head_dim):
    # Older configs: top-level rope_theta + rope_scaling {"rope_type" (or BC "type"): ...};
    # transformers v5: rope_parameters {"rope_theta", "rope_type", ...scaling keys}. rope_theta defaults to 10000.
    rp = cfg.get("rope_parameters") or {}
    theta = float(rp.get("rope_theta", cfg.get("rope_theta", 10000.0)))
    sc = rp if rp.get("rope_type", rp.get("type", "default")) != "default" else (cfg.get("rope_scaling") or {})
    rope_type = sc.get("rope_type", sc.get("type", "default"))
    if rope_type not in ("default", "llama3"):
        raise NotImplementedError(f"rope_type {rope_type!r} is not supported by this reference")
    inv = default_inv_freq(theta, head_dim)
    return inv if rope_type == "default" else llama3_inv_freq(inv, sc)


def rotate_half(x):
    # rotate_half: pairs dim i with dim i + d/2 (NOT interleaved pairs 2i, 2i+1)
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(q, k, cos, sin):
    # apply_rotary_pos_emb: q*cos + rotate_half(q)*sin; cos/sin = cat(freqs, freqs) from LlamaRotaryEmbedding.forward
    return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin


def repeat_kv(x, n_rep):
    # repeat_kv: [kv_heads, T, d] -> [kv_heads*n_rep, T, d]; query head h uses kv head h // n_rep
    kvh, t, d = x.shape
    return x[:, None].expand(kvh, n_rep, t, d).reshape(kvh * n_rep, t, d)


def causal_mask(t):
    # create_causal_mask (eager): additive mask, finfo(float32).min above the diagonal, 0 elsewhere
    return torch.full((t, t), torch.finfo(torch.float32).min).triu(1)


def forward_llama(cfg, W, tokens):
    """LlamaForCausalLM.forward (also Mistral, Qwen2, Qwen3) for one sequence, float32, positions 0..T-1."""
    arch = cfg["architectures"][0]
    D, L, V, I = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["vocab_size"], cfg["intermediate_size"]
    H = cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads") or H               # absent/null: multi-head (no GQA)
    hd = cfg.get("head_dim") or D // H                     # MistralAttention/Qwen3Attention: head_dim or D // H
    eps = cfg.get("rms_norm_eps", 1e-6)
    if cfg.get("hidden_act", "silu") != "silu":
        raise NotImplementedError("hidden_act other than silu")
    qkv_bias = {"LlamaForCausalLM": cfg.get("attention_bias", False), "MistralForCausalLM": False,
                "Qwen2ForCausalLM": True, "Qwen3ForCausalLM": cfg.get("attention_bias", False)}[arch]
    o_bias = qkv_bias and arch != "Qwen2ForCausalLM"      # Qwen2Attention: o_proj has bias=False
    mlp_bias = arch == "LlamaForCausalLM" and cfg.get("mlp_bias", False)
    T = len(tokens)
    # Mistral: sliding_window (null = off); Qwen2/Qwen3 only when use_sliding_window (layers >= max_window_layers).
    # A window >= T masks nothing, so it is ignored; a smaller one is refused.
    sw = cfg.get("sliding_window") if arch == "MistralForCausalLM" or cfg.get("use_sliding_window") else None
    if sw is not None and sw < T:
        raise NotImplementedError(f"sliding_window {sw} < sequence length {T}: not supported by this reference")

    def linear(x, name, n_out, n_in, bias):                # nn.Linear: x @ W.T + b, W stored [out, in]
        b = W.get_w(name + ".bias", [n_out]) if bias else None
        return F.linear(x, W.get_w(name + ".weight", [n_out, n_in]), b)

    # LlamaRotaryEmbedding.forward: freqs = inv_freq (float32) x position (float32); emb = cat(freqs, freqs)
    freqs = torch.outer(torch.arange(T).float(), rope_inv_freq(cfg, hd))
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = causal_mask(T)

    x = W.get_w("model.embed_tokens.weight", [V, D])[torch.tensor(tokens)]   # LlamaModel.embed_tokens
    for i in range(L):                                                        # LlamaDecoderLayer.forward
        p = f"model.layers.{i}."
        h = rms_norm(x, W.get_w(p + "input_layernorm.weight", [D]), eps)
        # LlamaAttention.forward: project, view(T, heads, head_dim), transpose to [heads, T, head_dim]
        q, k, v = (linear(h, p + f"self_attn.{n}_proj", nh * hd, D, qkv_bias).view(T, nh, hd)
                   for n, nh in (("q", H), ("k", KV), ("v", KV)))
        if arch == "Qwen3ForCausalLM":
            # Qwen3Attention: q_norm/k_norm (RMSNorm over head_dim, same eps) per head, BEFORE rope
            q = rms_norm(q, W.get_w(p + "self_attn.q_norm.weight", [hd]), eps)
            k = rms_norm(k, W.get_w(p + "self_attn.k_norm.weight", [hd]), eps)
        q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)
        q, k = apply_rotary_pos_emb(q, k, cos, sin)
        # eager_attention_forward: repeat_kv, (q @ k^T) * head_dim**-0.5 + mask, softmax in float32, @ v
        k, v = repeat_kv(k, H // KV), repeat_kv(v, H // KV)
        scores = torch.matmul(q, k.transpose(1, 2)) * hd ** -0.5 + mask
        a = torch.matmul(F.softmax(scores, dim=-1, dtype=torch.float32), v)
        a = a.transpose(0, 1).reshape(T, H * hd)
        x = x + linear(a, p + "self_attn.o_proj", D, H * hd, o_bias)
        h = rms_norm(x, W.get_w(p + "post_attention_layernorm.weight", [D]), eps)
        # LlamaMLP.forward: down_proj(act_fn(gate_proj(x)) * up_proj(x)), act_fn = silu
        g, u = (linear(h, p + f"mlp.{n}_proj", I, D, mlp_bias) for n in ("gate", "up"))
        x = x + linear(F.silu(g) * u, p + "mlp.down_proj", D, I, mlp_bias)
    x = rms_norm(x, W.get_w("model.norm.weight", [D]), eps)
    # LlamaForCausalLM.lm_head; PreTrainedModel.tie_weights makes it embed_tokens when tie_word_embeddings
    tied = cfg.get("tie_word_embeddings", False)
    head = W.get_w("model.embed_tokens.weight" if tied else "lm_head.weight", [V, D])
    return x @ head.T


# ------------------------------------------------------------------ GPT-2
def gelu_new(x):
    # NewGELUActivation: 0.5*x*(1 + tanh(sqrt(2/pi) * (x + 0.044715*x^3)))
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def forward_gpt2(cfg, W, tokens):
    """GPT2LMHeadModel.forward for one sequence, float32. Names accepted with or without "transformer."."""
    D, L, H, V = cfg["n_embd"], cfg["n_layer"], cfg["n_head"], cfg["vocab_size"]
    hd, eps = D // H, cfg.get("layer_norm_epsilon", 1e-5)
    inner = cfg.get("n_inner") or 4 * D                    # GPT2Block: inner_dim = n_inner or 4 * hidden_size
    act = {"gelu_new": gelu_new, "gelu_pytorch_tanh": gelu_new, "gelu": F.gelu}[cfg.get("activation_function", "gelu_new")]
    pre = "transformer." if "transformer.wte.weight" in W else ""
    T = len(tokens)
    if T > cfg.get("n_positions", 1024):
        raise ValueError("sequence longer than n_positions")

    def conv1d(x, name, n_in, n_out):                      # Conv1D: x @ W + b, W stored [in, out] (transposed)
        return x @ W.get_w(pre + name + ".weight", [n_in, n_out]) + W.get_w(pre + name + ".bias", [n_out])

    def layer_norm(x, name):                               # nn.LayerNorm(eps=layer_norm_epsilon), biased variance
        return F.layer_norm(x, (D,), W.get_w(pre + name + ".weight", [D]), W.get_w(pre + name + ".bias", [D]), eps)

    # GPT2Model.forward: inputs_embeds (wte) + position_embeds (wpe, positions 0..T-1)
    x = W.get_w(pre + "wte.weight", [V, D])[torch.tensor(tokens)] + W.get_w(pre + "wpe.weight")[:T]
    mask = causal_mask(T)
    for i in range(L):                                     # GPT2Block.forward
        p = f"h.{i}."
        h = layer_norm(x, p + "ln_1")
        # GPT2Attention.forward: c_attn(h).split(n_embd, dim=2) -> q, k, v; _split_heads: view(T, H, hd)
        q, k, v = conv1d(h, p + "attn.c_attn", D, 3 * D).split(D, dim=-1)
        q, k, v = (t.view(T, H, hd).transpose(0, 1) for t in (q, k, v))
        # GPT2 _attn / eager_attention_forward: q @ k^T / sqrt(head_dim) (scale_attn_weights), causal, softmax
        scores = torch.matmul(q, k.transpose(1, 2))
        if cfg.get("scale_attn_weights", True):
            scores = scores / torch.full([], v.size(-1) ** 0.5)
        if cfg.get("scale_attn_by_inverse_layer_idx", False):
            scores = scores / float(i + 1)
        a = torch.matmul(F.softmax(scores + mask, dim=-1), v).transpose(0, 1).reshape(T, D)  # _merge_heads
        x = x + conv1d(a, p + "attn.c_proj", D, D)
        h = layer_norm(x, p + "ln_2")
        x = x + conv1d(act(conv1d(h, p + "mlp.c_fc", D, inner)), p + "mlp.c_proj", inner, D)  # GPT2MLP
    x = layer_norm(x, "ln_f")
    # GPT2LMHeadModel.lm_head (no bias): tied to wte unless the config says tie_word_embeddings false (rare)
    tied = cfg.get("tie_word_embeddings", True)
    return x @ W.get_w(pre + "wte.weight" if tied else "lm_head.weight", [V, D]).T


def logits_for(model_dir, tokens, warn=True):
    cfg = json.loads((Path(model_dir) / "config.json").read_text())
    W = Weights(load_weights(model_dir))
    V = cfg["vocab_size"]
    if not tokens or any(not 0 <= t < V for t in tokens):
        raise ValueError(f"token ids must be in [0, {V}) and non-empty")
    arch = (cfg.get("architectures") or [""])[0]
    if arch == "GPT2LMHeadModel":
        out = forward_gpt2(cfg, W, tokens)
    elif arch in ("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"):
        out = forward_llama(cfg, W, tokens)
    else:
        raise NotImplementedError(f"architecture {arch!r}")
    unused = sorted(set(W) - W.__dict__.get("used", set()))
    if unused and warn:
        print(f"note: {len(unused)} checkpoint tensors unused (HF ignores them too): {unused[:4]}", file=sys.stderr)
    return out.detach().float().numpy(), unused


# ------------------------------------------------------------------ tiny random checkpoints in the HF layout
ARCHS = {"llama": ("LlamaForCausalLM", "llama"), "mistral": ("MistralForCausalLM", "mistral"),
         "qwen2": ("Qwen2ForCausalLM", "qwen2"), "qwen3": ("Qwen3ForCausalLM", "qwen3"),
         "gpt2": ("GPT2LMHeadModel", "gpt2")}
DTYPES = {"f32": (torch.float32, "float32"), "f16": (torch.float16, "float16"), "bf16": (torch.bfloat16, "bfloat16")}


def make_config(a):
    arch, mtype = ARCHS[a.arch]
    tname = DTYPES[a.dtype][1]
    if a.arch == "gpt2":  # as openai-community/gpt2 / distilgpt2 config.json
        return {"activation_function": "gelu_new", "architectures": [arch], "attn_pdrop": 0.1, "bos_token_id": 1,
                "embd_pdrop": 0.1, "eos_token_id": 2, "initializer_range": 0.02, "layer_norm_epsilon": 1e-05,
                "model_type": mtype, "n_ctx": 128, "n_embd": a.hidden, "n_head": a.heads, "n_inner": a.intermediate,
                "n_layer": a.layers, "n_positions": 128, "resid_pdrop": 0.1, "scale_attn_weights": True,
                "torch_dtype": tname, "transformers_version": "4.46.0", "use_cache": True, "vocab_size": a.vocab}
    theta = {"llama": 500000.0 if a.rope_scaling else 10000.0, "mistral": 1000000.0}.get(a.arch, 1000000.0)
    cfg = {"architectures": [arch], "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2,
           "hidden_act": "silu", "hidden_size": a.hidden, "initializer_range": 0.02,
           "intermediate_size": a.intermediate, "max_position_embeddings": 2048, "model_type": mtype,
           "num_attention_heads": a.heads, "num_hidden_layers": a.layers, "num_key_value_heads": a.kv_heads,
           "rms_norm_eps": 1e-05 if a.arch in ("llama", "mistral") else 1e-06, "rope_theta": theta,
           "rope_scaling": None, "tie_word_embeddings": bool(a.tied), "torch_dtype": tname,
           "transformers_version": "4.46.0", "use_cache": True, "vocab_size": a.vocab}
    if a.head_dim:
        cfg["head_dim"] = a.head_dim
    if a.arch in ("llama", "qwen3"):
        cfg["attention_bias"] = bool(a.attention_bias)
    if a.arch == "llama":
        cfg.update(mlp_bias=False, pretraining_tp=1)
    if a.arch == "mistral":
        cfg["sliding_window"] = 4096
    if a.arch in ("qwen2", "qwen3"):
        cfg.update(use_sliding_window=False, sliding_window=4096 if a.arch == "qwen2" else None,
                   max_window_layers=a.layers)
    if a.rope_scaling:  # Llama-3.1-style (orig. context small so all three llama3 bands occur with head_dim 16)
        cfg["rope_scaling"] = {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                               "original_max_position_embeddings": 64, "rope_type": "llama3"}
    if a.rope_parameters:  # transformers v5 layout: rope_theta and scaling keys inside rope_parameters
        rp = dict(cfg.pop("rope_scaling") or {"rope_type": "default"})
        rp["rope_theta"] = cfg.pop("rope_theta")
        cfg["rope_parameters"] = rp
        cfg["dtype"] = cfg.pop("torch_dtype")
        cfg["transformers_version"] = "5.0.0"
    return dict(sorted(cfg.items()))


def make_tensors(a, cfg):
    """[(name, float32 tensor)] in model order. Projections std 0.12-0.2, norm weights 1 +- 0.2, biases nonzero.
    Embeddings are small (std 0.05, like real ones) so the first norm's eps matters: a wrong eps shows at 1e-4."""
    g = torch.Generator().manual_seed(a.seed)

    def rnd(*shape, std=0.2, mean=0.0):
        return torch.randn(*shape, generator=g) * std + mean
    out = []
    if a.arch == "gpt2":
        D, I, P = a.hidden, a.intermediate or 4 * a.hidden, cfg["n_positions"]
        pre = "" if a.no_prefix else "transformer."
        out += [("wte.weight", rnd(a.vocab, D, std=0.05)), ("wpe.weight", rnd(P, D, std=0.05))]
        for i in range(a.layers):
            p = f"h.{i}."
            out += [(p + "ln_1.weight", rnd(D, mean=1.0)), (p + "ln_1.bias", rnd(D, std=0.1))]
            if a.gpt2_buffers:  # old checkpoints kept GPT2Attention's causal-mask buffers
                out += [(p + "attn.bias", torch.tril(torch.ones(P, P)).view(1, 1, P, P)),
                        (p + "attn.masked_bias", torch.tensor(-1e4))]
            out += [(p + "attn.c_attn.weight", rnd(D, 3 * D, std=0.15)), (p + "attn.c_attn.bias", rnd(3 * D, std=0.2)),
                    (p + "attn.c_proj.weight", rnd(D, D)), (p + "attn.c_proj.bias", rnd(D, std=0.1)),
                    (p + "ln_2.weight", rnd(D, mean=1.0)), (p + "ln_2.bias", rnd(D, std=0.1)),
                    (p + "mlp.c_fc.weight", rnd(D, I)), (p + "mlp.c_fc.bias", rnd(I, std=0.1)),
                    (p + "mlp.c_proj.weight", rnd(I, D, std=0.15)), (p + "mlp.c_proj.bias", rnd(D, std=0.1))]
        out += [("ln_f.weight", rnd(D, mean=1.0)), ("ln_f.bias", rnd(D, std=0.1))]
        return [(pre + n, t) for n, t in out]
    D, H, KV, I = a.hidden, a.heads, a.kv_heads, a.intermediate
    hd = a.head_dim or D // H
    qkv_bias = a.arch == "qwen2" or (a.attention_bias and a.arch in ("llama", "qwen3"))
    o_bias = a.attention_bias and a.arch in ("llama", "qwen3")
    out.append(("model.embed_tokens.weight", rnd(a.vocab, D, std=0.05)))
    for i in range(a.layers):
        p = f"model.layers.{i}."
        out.append((p + "input_layernorm.weight", rnd(D, mean=1.0)))
        for n, rows in (("q", H * hd), ("k", KV * hd), ("v", KV * hd)):
            out.append((p + f"self_attn.{n}_proj.weight", rnd(rows, D, std=0.12 if n != "v" else 0.2)))
            if qkv_bias:
                out.append((p + f"self_attn.{n}_proj.bias", rnd(rows, std=0.2)))
        out.append((p + "self_attn.o_proj.weight", rnd(D, H * hd)))
        if o_bias:
            out.append((p + "self_attn.o_proj.bias", rnd(D, std=0.2)))
        if a.arch == "qwen3":
            out += [(p + "self_attn.q_norm.weight", rnd(hd, mean=1.0)), (p + "self_attn.k_norm.weight", rnd(hd, mean=1.0))]
        out += [(p + "post_attention_layernorm.weight", rnd(D, mean=1.0)), (p + "mlp.gate_proj.weight", rnd(I, D)),
                (p + "mlp.up_proj.weight", rnd(I, D)), (p + "mlp.down_proj.weight", rnd(D, I, std=0.15))]
    out.append(("model.norm.weight", rnd(D, mean=1.0)))
    if not a.tied:
        out.append(("lm_head.weight", rnd(a.vocab, D)))
    return out


def write_checkpoint(out_dir, cfg, tensors, dtype, sharded):
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    tensors = [(n, t if t.dtype == torch.bool else t.to(dtype)) for n, t in tensors]  # stored = rounded values
    if not sharded:
        write_safetensors(d / "model.safetensors", tensors)
        return
    k = 3 if len(tensors) >= 9 else 2      # split in model order: shards cut through a layer's tensors
    bounds = [round(len(tensors) * j / k) for j in range(k + 1)]
    weight_map, total = {}, 0
    for j in range(k):
        name = f"model-{j + 1:05d}-of-{k:05d}.safetensors"
        part = tensors[bounds[j]:bounds[j + 1]]
        total += write_safetensors(d / name, part)
        weight_map.update({n: name for n, _ in part})
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    (d / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")


def make(a):
    if a.arch == "gpt2" and (a.head_dim or a.attention_bias or a.rope_scaling or a.rope_parameters):
        sys.exit("gpt2: --head-dim/--attention-bias/--rope-* do not apply")
    if a.arch != "gpt2" and (a.no_prefix or a.gpt2_buffers):
        sys.exit("--no-prefix/--gpt2-buffers apply to gpt2 only")
    if a.arch in ("mistral", "qwen2") and a.attention_bias:
        sys.exit(f"{a.arch}: no attention_bias option (qwen2 always has q/k/v biases, mistral never)")
    if a.arch != "gpt2" and a.heads % a.kv_heads:
        sys.exit("--heads must be a multiple of --kv-heads")
    if a.arch == "qwen3" and not a.head_dim:
        a.head_dim = 32                    # Qwen3: head_dim independent of hidden_size // heads by default
    if a.arch != "gpt2" and a.intermediate is None:
        a.intermediate = 96
    cfg = make_config(a)
    write_checkpoint(a.out, cfg, make_tensors(a, cfg), DTYPES[a.dtype][0], a.sharded)


def make_args(**kw):
    p = build_parser()
    argv = ["make", "--arch", kw.pop("arch"), "--out", str(kw.pop("out"))]
    for k, v in kw.items():
        argv += [f"--{k.replace('_', '-')}"] + ([] if v is True else [str(v)])
    return p.parse_args(argv)


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--arch", required=True, choices=sorted(ARCHS))
    m.add_argument("--out", required=True)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--dtype", choices=sorted(DTYPES), default="f32")
    for flag in ("tied", "sharded", "rope-parameters", "attention-bias", "no-prefix", "gpt2-buffers"):
        m.add_argument("--" + flag, action="store_true")
    m.add_argument("--rope-scaling", choices=["llama3"])
    for flag, default in (("vocab", 97), ("layers", 2), ("hidden", 64), ("heads", 4), ("kv-heads", 2),
                          ("head-dim", None), ("intermediate", None)):
        m.add_argument("--" + flag, type=int, default=default)
    lg = sub.add_parser("logits")
    lg.add_argument("--model", required=True)
    lg.add_argument("--tokens")
    lg.add_argument("--tokens-file")
    lg.add_argument("--out")
    sub.add_parser("selftest")
    return p


def main():
    a = build_parser().parse_args()
    if a.cmd == "make":
        make(a)
    elif a.cmd == "logits":
        text = Path(a.tokens_file).read_text() if a.tokens_file else (a.tokens or "")
        tokens = [int(t) for t in text.replace(",", " ").split()]
        logits, _ = logits_for(a.model, tokens)
        if a.out:
            np.save(a.out, logits.astype(np.float32))
        else:
            print(f"logits {logits.shape}; row 0 first values: {logits[0, :5]}")
    else:  # the self-checks live apart, to keep this file a readable forward pass
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from hf_reference_selftest import selftest
        sys.exit(selftest())


if __name__ == "__main__":
    main()
