#!/usr/bin/env python3
"""An independent PyTorch implementation of HeadLab's model (docs: MODEL.md, the model contract).

It loads a HeadLab model directory (config.json + model.safetensors) and computes the same
logits, and it trains the same configuration for a throughput comparison with headlab-bench.
Needs only PyTorch and NumPy (the safetensors reader below is ~20 lines of struct + numpy).

    headlab_reference.py logits --model runs/x/model --tokens 3,1,4,1,5 [--out logits.npy]
    headlab_reference.py train --config model.json --batch-size 16 --seq-len 128 [--steps 5 --windows 5]
    headlab_reference.py serve      (headlab-bench drives it: see serve())

In your own script:
    from headlab_reference import load_model
    model = load_model("runs/x/model")            # a torch.nn.Module
    logits = model(torch.tensor([[3, 1, 4, 1, 5]]))
"""
import argparse
import json
import math
import os
import statistics
import struct
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------- safetensors (MODEL.md §4)
def read_safetensors(path):
    """Returns ({name: float32 tensor}, metadata). Reads F32, F16 and BF16."""
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", None) or {}
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        raw = data[8 + n + begin:8 + n + end]
        if info["dtype"] == "F32":
            a = np.frombuffer(raw, "<f4")
        elif info["dtype"] == "F16":
            a = np.frombuffer(raw, "<f2").astype(np.float32)
        elif info["dtype"] == "BF16":
            a = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"{path}: tensor {name}: unsupported dtype {info['dtype']}")
        tensors[name] = torch.from_numpy(a.reshape(info["shape"]).copy())
    return tensors, metadata


# ---------------------------------------------------------------- config (MODEL.md §5)
class Config:
    def __init__(self, c):
        self.raw = c
        self.V, self.d, self.L = c["vocab_size"], c["d_model"], c["n_layers"]
        self.H, self.d_ff = c["n_heads"], c["d_ff"]
        self.layout = c.get("attention", "gqa")
        self.G = {"mha": self.H, "mqa": 1}.get(self.layout, c.get("n_kv_heads", self.H))
        self.dh = c.get("head_dim", self.d // self.H)
        self.gta = self.layout == "gta"
        self.dR = (c.get("rope_dim") or self.dh // 2) if self.gta else self.dh
        self.theta = c.get("rope_theta", 10000.0)
        self.max_seq_len = c.get("max_seq_len", 256)
        self.qk_norm = c.get("qk_norm", False)
        self.eps = c.get("norm_eps", 1e-6)
        self.tie = c.get("tie_embeddings", False)
        # MODEL.md §7: options of imported architectures (defaults: §1-2 exactly).
        self.bias = c.get("linear_bias", "none")
        self.layer_norm = c.get("norm", "rms") == "layer"
        self.gelu = c.get("mlp", "swiglu") == "gelu"
        self.learned_positions = c.get("positions", "rope") == "learned"
        if self.learned_positions:
            self.dR = 0
        self.rope_scaling = c.get("rope_scaling")
        inter = c.get("interaction")
        self.module_layers = set(inter.get("layers", range(self.L))) if inter is not None else set()
        inter = inter or {}
        kha = inter.get("kha") or {}
        self.kha = {x: kha.get(x, "none") for x in "qkv"}
        mea = inter.get("mea")
        self.mea = mea is not None and mea.get("enabled", True)
        self.group_norm = self.mea and mea.get("group_norm", True)
        self.Gs = (mea.get("virtual_kv_heads", 0) if self.mea else 0) or self.G  # G', heads stored
        talk = inter.get("talking_heads")
        self.talking = talk is not None and talk.get("enabled", True)
        self.bypassed = set(inter.get("bypassed", []))

    def module(self, layer, name):
        """(present, live) of a module in a layer."""
        enabled = {"kha": any(m != "none" for m in self.kha.values()), "mea": self.mea, "talking_heads": self.talking}[name]
        present = enabled and layer in self.module_layers
        return present, present and f"{name}@{layer}" not in self.bypassed


# ---------------------------------------------------------------- model (MODEL.md §1-2)
class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(n)), eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def norm_layer(c, n):
    """A network norm: RMSNorm, or with norm "layer" (§7) LayerNorm (biased variance, with bias)."""
    return nn.LayerNorm(n, eps=c.eps) if c.layer_norm else RMSNorm(n, c.eps)


def rope_frequencies(c):
    """freq_j = theta^(-2j/r), rescaled by §7's llama3 rope_scaling."""
    freq = c.theta ** (-2.0 * torch.arange(c.dR // 2, dtype=torch.float64) / c.dR)
    s = c.rope_scaling
    if s:
        factor, low, high = s["factor"], s.get("low_freq_factor", 1.0), s.get("high_freq_factor", 4.0)
        omax = s.get("original_max_position_embeddings", 8192)
        wl = 2 * math.pi / freq
        t = (omax / wl - low) / (high - low)
        blended = (1 - t) * freq / factor + t * freq
        freq = torch.where(wl > omax / low, freq / factor, torch.where(wl < omax / high, freq, blended))
    return freq


def rms(x, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)


class Empty(nn.Module):
    pass


def rope(x, cos, sin, r):
    """Rotate-half RoPE on the last r features of x [B, T, N, dh]; cos/sin: [T, 1, r/2]."""
    keep, rot = x[..., :x.shape[-1] - r], x[..., x.shape[-1] - r:]
    x1, x2 = rot.chunk(2, -1)
    return torch.cat([keep, x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1)


class Attention(nn.Module):
    def __init__(self, c, layer):
        super().__init__()
        self.c = c
        d, H, G, Gs, dh = c.d, c.H, c.G, c.Gs, c.dh
        lin = lambda i, o, b=False: nn.Linear(i, o, bias=b)
        qkv_bias = c.bias != "none"
        self.wq = lin(d, H * dh, qkv_bias)
        if c.gta:
            self.wkv, self.wk_rope = lin(d, G * dh), lin(d, c.dR)
        else:
            self.wk, self.wv = lin(d, Gs * dh, qkv_bias), lin(d, Gs * dh, qkv_bias)
        self.wo = lin(H * dh, d, c.bias == "all")
        if c.qk_norm:
            self.q_norm, self.k_norm = RMSNorm(dh, c.eps), RMSNorm(dh, c.eps)
        eye = lambda n, m=None: nn.Parameter(torch.eye(n, m if m is not None else n))
        has, self.use_kha = c.module(layer, "kha")
        if has:
            self.kha = Empty()
            for x in "qkv":
                if c.kha[x] == "linear":
                    setattr(self.kha, "t_" + x, eye(dh))
            if c.kha["v"] == "mlp":
                self.kha.v_up, self.kha.v_gate, self.kha.v_down = eye(dh), nn.Parameter(torch.zeros(dh, dh)), eye(dh)
        has, self.use_mea = c.module(layer, "mea")
        if has:
            self.mea = Empty()
            self.mea.mix_k, self.mea.mix_v = eye(Gs, G), eye(Gs, G)
            if c.group_norm:
                self.mea.out_norm = RMSNorm(H * dh, c.eps)
        has, self.use_talking = c.module(layer, "talking_heads")
        if has:
            self.talking = Empty()
            self.talking.pre, self.talking.post = eye(H), eye(H)

    def forward(self, x, cos, sin):
        c = self.c
        B, T, _ = x.shape
        H, G, dh = c.H, c.G, c.dh
        q = self.wq(x).view(B, T, H, dh)
        if c.gta:
            kv = self.wkv(x).view(B, T, G, dh)
            v = kv
            k = torch.cat([kv[..., :dh - c.dR], self.wk_rope(x).view(B, T, 1, c.dR).expand(B, T, G, c.dR)], -1)
        else:
            k, v = self.wk(x).view(B, T, c.Gs, dh), self.wv(x).view(B, T, c.Gs, dh)
        if self.use_kha:
            m = self.kha
            if hasattr(m, "t_q"):
                q = q @ m.t_q
            if hasattr(m, "t_k"):
                k = k @ m.t_k
            if hasattr(m, "t_v"):
                v = v @ m.t_v
            if hasattr(m, "v_up"):
                v = (2 * (v @ m.v_up) * torch.sigmoid(v @ m.v_gate)) @ m.v_down
        if self.use_mea:  # k'_j = sum_i mix[i, j] k_i
            k = torch.einsum("btid,ij->btjd", k, self.mea.mix_k)
            v = torch.einsum("btid,ij->btjd", v, self.mea.mix_v)
        if c.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        if c.dR:
            q, k = rope(q, cos, sin, c.dR), rope(k, cos, sin, c.dR)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # [B, heads, T, dh]
        if G != H:
            k, v = k.repeat_interleave(H // G, 1), v.repeat_interleave(H // G, 1)
        if not self.use_talking and hasattr(F, "scaled_dot_product_attention"):  # PyTorch >= 2.0
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            s = (q @ k.transpose(-1, -2)) / math.sqrt(dh)
            if self.use_talking:
                s = torch.einsum("bhtu,hk->bktu", s, self.talking.pre)
            s = s.masked_fill(torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1), float("-inf"))
            p = torch.softmax(s, -1)
            if self.use_talking:
                p = torch.einsum("bhtu,hk->bktu", p, self.talking.post)
            o = p @ v
        if self.use_mea and c.group_norm:
            o = rms(o, c.eps) * self.mea.out_norm.weight.view(H, 1, dh)
        return self.wo(o.transpose(1, 2).reshape(B, T, H * dh))


class Block(nn.Module):
    def __init__(self, c, layer):
        super().__init__()
        self.attn_norm, self.mlp_norm = norm_layer(c, c.d), norm_layer(c, c.d)
        self.attn = Attention(c, layer)
        self.mlp = Empty()
        b = c.bias == "all"
        if not c.gelu:
            self.mlp.w_gate = nn.Linear(c.d, c.d_ff, bias=b)
        self.mlp.w_up = nn.Linear(c.d, c.d_ff, bias=b)
        self.mlp.w_down = nn.Linear(c.d_ff, c.d, bias=b)
        self.gelu = c.gelu

    def forward(self, h, cos, sin):
        h = h + self.attn(self.attn_norm(h), cos, sin)
        m = self.mlp_norm(h)
        if self.gelu:  # §7: the tanh form of GELU
            return h + self.mlp.w_down(F.gelu(self.mlp.w_up(m), approximate="tanh"))
        return h + self.mlp.w_down(F.silu(self.mlp.w_gate(m)) * self.mlp.w_up(m))


class HeadLabModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        c = self.c = Config(config)
        self.tok_emb = nn.Embedding(c.V, c.d)
        if c.learned_positions:
            self.pos_emb = nn.Embedding(c.max_seq_len, c.d)
        self.layers = nn.ModuleList(Block(c, i) for i in range(c.L))
        self.norm = norm_layer(c, c.d)
        if not c.tie:
            self.lm_head = nn.Linear(c.d, c.V, bias=False)
        # RoPE tables once, angles in float64 (as the spec's reference does).
        freq = rope_frequencies(c)
        angles = torch.outer(torch.arange(c.max_seq_len, dtype=torch.float64), freq)
        self.register_buffer("cos", angles.cos().float().unsqueeze(1), persistent=False)
        self.register_buffer("sin", angles.sin().float().unsqueeze(1), persistent=False)
        with torch.no_grad():  # MODEL.md init: normal(0, 0.02), output projections / sqrt(2L)
            for name, p in self.named_parameters():
                if name.endswith(("wo.weight", "w_down.weight")):
                    p.normal_(0.0, 0.02 / math.sqrt(2 * c.L))
                elif p.dim() == 2 and ".kha." not in name and ".mea." not in name and ".talking." not in name:
                    p.normal_(0.0, 0.02)
                elif name.endswith(".bias") and "norm" not in name:  # §7 linear_bias starts at zero
                    p.zero_()

    def forward(self, tokens):
        T = tokens.shape[1]
        cos, sin = self.cos[:T], self.sin[:T]
        h = self.tok_emb(tokens)
        if self.c.learned_positions:
            h = h + self.pos_emb.weight[:T]
        for block in self.layers:
            h = block(h, cos, sin)
        h = self.norm(h)
        return h @ (self.tok_emb.weight if self.c.tie else self.lm_head.weight).t()


def load_model(path):
    """A HeadLab model directory (or bare .safetensors with the config in its metadata)."""
    path = Path(path)
    if path.is_dir():
        config = json.loads((path / "config.json").read_text())
        tensors, _ = read_safetensors(path / "model.safetensors")
    else:
        tensors, meta = read_safetensors(path)
        config = json.loads(meta["headlab.config"])
    model = HeadLabModel(config)
    model.load_state_dict(tensors, strict=True)  # names and shapes are MODEL.md §4's
    return model.eval()


# ---------------------------------------------------------------- training throughput
def param_groups(model):
    """HeadLab's AdamW groups: weight decay on projection and MLP weights only."""
    decay, other = [], []
    for name, p in model.named_parameters():
        special = any(s in name for s in (".kha.", ".mea.", ".talking.", "norm")) or name.startswith("tok_emb")
        (other if special else decay).append(p)
    return [{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}]


class TrainingRun:
    """One model training on random tokens of the config's shapes, with HeadLab's optimizer
    settings (AdamW 0.9/0.95, weight decay groups, grad clip 1.0, masked mean loss)."""

    def __init__(self, config, batch_size, seq_len, seed=1234, lr=3e-3, device="cpu"):
        torch.manual_seed(seed)
        self.device = torch.device(device)
        self.model = HeadLabModel(config).train().to(self.device)
        self.opt = torch.optim.AdamW(param_groups(self.model), lr=lr, betas=(0.9, 0.95), eps=1e-8)
        self.params = list(self.model.parameters())
        self.gen = torch.Generator().manual_seed(seed)
        self.B, self.T, self.V, self.lr, self.loss = batch_size, seq_len, self.model.c.V, lr, float("nan")

    def step(self):
        rows = torch.randint(self.V, (self.B, self.T + 1), generator=self.gen).to(self.device)
        x, y = rows[:, :-1], rows[:, 1:]
        mask = torch.ones(self.B, self.T, device=self.device)
        for g in self.opt.param_groups:  # HeadLab sets the scheduled lr every step
            g["lr"] = self.lr
        # bf16 autocast on CUDA, as HeadLab's trainer does; float32 on the CPU.
        if self.device.type == "cuda":
            with torch.autocast("cuda", dtype=torch.bfloat16):
                logits = self.model(x).float()
        else:
            logits = self.model(x)
        ce = F.cross_entropy(logits.reshape(-1, self.V), y.reshape(-1), reduction="none")
        loss = (ce * mask.reshape(-1)).sum() / mask.sum().clamp_min(1.0)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        self.opt.step()
        self.loss = loss.item()

    def window(self, steps):
        start = time.perf_counter()
        for _ in range(steps):
            self.step()
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start


def train_throughput(config, batch_size, seq_len, steps, windows, warmup):
    run = TrainingRun(config, batch_size, seq_len)
    for _ in range(warmup):
        run.step()
    window_s = [run.window(steps) for _ in range(windows)]
    rates = [batch_size * seq_len * steps / s for s in window_s]
    return {"tokens_per_s": statistics.median(rates), "step_ms": statistics.median(window_s) * 1000.0 / steps,
            "window_tokens_per_s": rates, "params": sum(p.numel() for p in run.params), "final_loss": run.loss,
            "torch": torch.__version__, "threads": torch.get_num_threads()}


def serve():
    """Line protocol for headlab-bench, which interleaves its timed windows with ours so that a
    busy machine slows both alike. Each request is one JSON line; each reply is one JSON line.
      {"cmd": "setup", "id": "x", "config": {...}, "batch_size": B, "seq_len": T, "warmup": n}
      {"cmd": "window", "id": "x", "steps": n}  -> {"seconds": s, "loss": l}
      {"cmd": "drop", "id": "x"}, {"cmd": "quit"}"""
    runs = {}
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if req["cmd"] == "setup":
                run = runs[req["id"]] = TrainingRun(req["config"], req["batch_size"], req["seq_len"],
                                                    device=req.get("device", "cpu"))
                for _ in range(req.get("warmup", 2)):
                    run.step()
                reply = {"params": sum(p.numel() for p in run.params)}
            elif req["cmd"] == "window":
                run = runs[req["id"]]
                reply = {"seconds": run.window(req["steps"]), "loss": run.loss}
            elif req["cmd"] == "drop":
                runs.pop(req["id"], None)
                reply = {}
            else:
                break
        except Exception as e:  # reported to the bench, which prints it
            reply = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(reply), flush=True)


# ---------------------------------------------------------------- command line
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    lg = sub.add_parser("logits", help="logits [T, V] of one sequence")
    lg.add_argument("--model", required=True)
    lg.add_argument("--tokens", required=True, help="comma-separated ids")
    lg.add_argument("--out", help=".npy file (default: print)")
    tr = sub.add_parser("train", help="training throughput on random tokens, JSON on stdout")
    tr.add_argument("--config", required=True, help="model config.json, or a training config with a 'model' key")
    tr.add_argument("--batch-size", type=int, default=16)
    tr.add_argument("--seq-len", type=int, default=128)
    tr.add_argument("--steps", type=int, default=5, help="steps per timed window")
    tr.add_argument("--windows", type=int, default=5)
    tr.add_argument("--warmup", type=int, default=3)
    tr.add_argument("--threads", type=int, default=0, help="intra-op threads (0: all cores)")
    sv = sub.add_parser("serve", help="timed windows on request (used by headlab-bench)")
    sv.add_argument("--threads", type=int, default=0)
    a = ap.parse_args(argv)
    if a.cmd == "logits":
        model = load_model(a.model)
        tokens = torch.tensor([[int(t) for t in a.tokens.split(",")]])
        with torch.no_grad():
            logits = model(tokens)[0].float().numpy()
        if a.out:
            np.save(a.out, logits)
        else:
            np.savetxt(sys.stdout, logits, fmt="%.6g")
        return
    torch.set_num_threads(a.threads if a.threads > 0 else (os.cpu_count() or 1))
    if a.cmd == "serve":
        serve()
        return
    config = json.loads(Path(a.config).read_text())
    if "model" in config and "format" not in config:
        config = config["model"]
    config.setdefault("vocab_size", 256)
    config.setdefault("max_seq_len", a.seq_len)
    print(json.dumps(train_throughput(config, a.batch_size, a.seq_len, a.steps, a.windows, a.warmup)))


if __name__ == "__main__":
    main()
