#!/usr/bin/env python3
"""Self-checks of hf_reference.py (run: hf_reference.py selftest): tied equals untied with a copied
head, sharded equals single-file, head permutations leave logits unchanged, prefixes agree, llama3
rope bands, f16/bf16 round trips. Kept apart so that hf_reference.py stays a readable forward pass."""
import json
import math
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from hf_reference import *  # noqa: F401,F403  (the functions under test)

# ------------------------------------------------------------------ selftest
def selftest():
    fails = []

    def check(name, ok):
        print(("PASS " if ok else "FAIL ") + name)
        if not ok:
            fails.append(name)
    toks = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4]
    tmp = Path(tempfile.mkdtemp(prefix="hf_reference_"))

    def mk(name, **kw):
        make(make_args(out=tmp / name, **kw))
        return tmp / name
    # every architecture/option combination runs, and uses every tensor it was given
    combos = [("llama", {}), ("llama", {"tied": True, "attention_bias": True, "rope_scaling": "llama3"}),
              ("llama", {"rope_parameters": True, "rope_scaling": "llama3", "dtype": "bf16", "sharded": True}),
              ("mistral", {"dtype": "f16"}), ("qwen2", {"tied": True, "kv_heads": 1}),
              ("qwen3", {"attention_bias": True, "sharded": True}), ("qwen3", {"head_dim": 8, "dtype": "bf16"}),
              ("gpt2", {}), ("gpt2", {"no_prefix": True, "gpt2_buffers": True, "dtype": "f16", "sharded": True})]
    for j, (arch, kw) in enumerate(combos):
        lg, unused = logits_for(mk(f"c{j}", arch=arch, **kw), toks, warn=False)
        ok_unused = set(n.split(".")[-1] for n in unused) <= {"bias", "masked_bias"} and (not unused or arch == "gpt2")
        check(f"{arch} {kw}: finite [T,V], no unused tensors", lg.shape == (len(toks), 97) and
              np.isfinite(lg).all() and ok_unused and lg.std() > 0.1)
    # tied == untied whose lm_head is a copy of embed_tokens
    d = mk("tied", arch="llama", tied=True)
    cfg, w = json.loads((d / "config.json").read_text()), read_safetensors(d / "model.safetensors")
    u = tmp / "untied"
    write_checkpoint(u, dict(cfg, tie_word_embeddings=False),
                     list(w.items()) + [("lm_head.weight", w["model.embed_tokens.weight"].clone())], torch.float32, False)
    check("tied == untied with lm_head copied from embed", np.array_equal(logits_for(d, toks)[0], logits_for(u, toks)[0]))
    # sharded == single, rope_parameters == rope_theta/rope_scaling, gpt2 prefix/buffers irrelevant
    same = [({"arch": "qwen3", "attention_bias": True}, {"sharded": True}),
            ({"arch": "llama", "rope_scaling": "llama3"}, {"rope_parameters": True}),
            ({"arch": "gpt2"}, {"no_prefix": True, "gpt2_buffers": True, "sharded": True})]
    for j, (base, extra) in enumerate(same):
        l1, l2 = logits_for(mk(f"s{j}a", **base), toks)[0], logits_for(mk(f"s{j}b", **base, **extra), toks)[0]
        check(f"{base} unchanged by {extra}", np.array_equal(l1, l2))
    # permuting heads consistently (q/k/v/o, biases, GQA groups) leaves logits unchanged
    for arch, kw in (("qwen3", {"attention_bias": True}), ("llama", {"kv_heads": 2}), ("gpt2", {})):
        d = mk(f"perm_{arch}", arch=arch, **kw)
        cfg, w = json.loads((d / "config.json").read_text()), read_safetensors(d / "model.safetensors")
        base = logits_for(d, toks)[0]
        permute_heads(cfg, w, arch)
        write_checkpoint(tmp / f"perm2_{arch}", cfg, list(w.items()), torch.float32, False)
        l2 = logits_for(tmp / f"perm2_{arch}", toks)[0]
        check(f"{arch}: head permutation invariance", np.allclose(base, l2, rtol=1e-5, atol=1e-5 * abs(base).max()))
    # causality: logits of a prefix equal the first rows of the full sequence
    for arch in ("mistral", "gpt2"):
        d = mk(f"causal_{arch}", arch=arch)
        full, pre = logits_for(d, toks)[0], logits_for(d, toks[:7])[0]
        check(f"{arch}: prefix logits equal first rows", np.allclose(full[:7], pre, rtol=1e-5, atol=1e-5))
    # llama3 rope: factor 1 changes nothing; factor 8 keeps high band, divides low band, interpolates between
    inv = default_inv_freq(500000.0, 16)
    sc = {"factor": 1.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 64}
    check("llama3 factor 1 == default", torch.allclose(llama3_inv_freq(inv, sc), inv, rtol=1e-6, atol=0))
    s8 = llama3_inv_freq(inv, dict(sc, factor=8.0))
    wl = 2 * math.pi / inv
    hi, lo = wl < 64 / 4.0, wl > 64 / 1.0
    mid = ~hi & ~lo
    check("llama3 factor 8 bands", bool(hi.any() and lo.any() and mid.any() and torch.equal(s8[hi], inv[hi]) and
                                        torch.equal(s8[lo], inv[lo] / 8) and (s8[mid] < inv[mid]).all() and
                                        (s8[mid] > inv[mid] / 8).all()))
    # the reduced dtypes are stored as the rounded values and read back exactly
    x = torch.randn(5, 7, generator=torch.Generator().manual_seed(1))
    for dt in (torch.float16, torch.bfloat16):
        write_safetensors(tmp / "rt.safetensors", [("x", x.to(dt))])
        check(f"{dt} round trip", torch.equal(read_safetensors(tmp / "rt.safetensors")["x"], x.to(dt).float()))
    # a sliding window smaller than the sequence is refused
    d = mk("sw", arch="mistral")
    (d / "config.json").write_text(json.dumps(dict(json.loads((d / "config.json").read_text()), sliding_window=4)))
    try:
        check("mistral sliding_window < T refused", logits_for(d, toks) is None)
    except NotImplementedError:
        check("mistral sliding_window < T refused", True)
    shutil.rmtree(tmp, ignore_errors=True)
    print("selftest:", "FAIL " + ", ".join(fails) if fails else "all PASS")
    return 1 if fails else 0


def permute_heads(cfg, w, arch):
    """In place: a random permutation of kv heads (with their query groups) and of query heads inside a group."""
    g = torch.Generator().manual_seed(7)
    if arch == "gpt2":                   # Conv1D weights are [in, out]: permute c_attn columns, c_proj rows
        D, H = cfg["n_embd"], cfg["n_head"]
        perm = torch.randperm(H, generator=g)
        cols = torch.cat([perm[h] * (D // H) + torch.arange(D // H) for h in range(H)])
        for i in range(cfg["n_layer"]):
            p, idx = f"transformer.h.{i}.attn.", torch.cat([cols, cols + D, cols + 2 * D])
            w[p + "c_attn.weight"], w[p + "c_attn.bias"] = w[p + "c_attn.weight"][:, idx], w[p + "c_attn.bias"][idx]
            w[p + "c_proj.weight"] = w[p + "c_proj.weight"][cols, :]
        return
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd, n = cfg.get("head_dim") or cfg["hidden_size"] // H, H // KV
    kvp = torch.randperm(KV, generator=g)
    qp = []                      # new query head j*n + r <- original head kvp[j]*n + sigma_j(r)
    for j in range(KV):
        sigma = torch.randperm(n, generator=g)
        qp += [int(kvp[j]) * n + int(sigma[r]) for r in range(n)]
    qrows = torch.cat([qp[h] * hd + torch.arange(hd) for h in range(H)])
    kvrows = torch.cat([kvp[h] * hd + torch.arange(hd) for h in range(KV)])
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}.self_attn."
        for name, rows in (("q_proj", qrows), ("k_proj", kvrows), ("v_proj", kvrows)):
            for suffix in (".weight", ".bias"):
                if p + name + suffix in w:
                    w[p + name + suffix] = w[p + name + suffix][rows]
        w[p + "o_proj.weight"] = w[p + "o_proj.weight"][:, qrows]


