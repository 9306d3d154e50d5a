#!/usr/bin/python3
"""Writes safetensors fixtures in the exact byte layout of the Python `safetensors` package.

That package cannot be installed here (no PyPI), so this reproduces its writer (Rust,
safetensors/src/tensor.rs `prepare` + `serialize`) with numpy only:
  - tensors sorted by dtype, descending in the enum order of `Dtype` (its alignment order),
    then by name; data laid out back to back in that order;
  - header = serde_json compact JSON (no spaces, non-ASCII kept as UTF-8): "__metadata__"
    first (only when metadata is given), then each tensor as {"dtype","shape","data_offsets"};
  - header padded with spaces to a multiple of 8 bytes, its length as little-endian u64 first.

Outputs (next to this script):
  python_written.safetensors      F32 + BF16 + F16 tensors with HeadLab-style names
  python_written.expected.json    metadata and, per tensor in file order, dtype, shape and the
                                  exact float32 values a reader must produce
  python_written_f32.safetensors  F32 only: HeadLab's writer must reproduce it byte for byte

Run: /usr/bin/python3 tests/data/make_safetensors_fixture.py
"""
import json
import pathlib
import struct

import numpy as np

# safetensors' `Dtype` enum, in declaration order (derive(Ord) sorts by it).
DTYPE_ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16",
               "I32", "U32", "F32", "F64", "I64", "U64"]


def bf16_bits(values):
    """float32 -> bfloat16 bits, round to nearest even (what torch.to(bfloat16) does)."""
    u = np.asarray(values, dtype="<f4").view("<u4").astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2")


def bf16_to_f32(bits):
    return (bits.astype("<u4") << 16).view("<f4")


def serialize(tensors, metadata):
    """tensors: {name: (dtype, shape, raw little-endian bytes)}; metadata: dict or None."""
    items = sorted(tensors.items(), key=lambda kv: (-DTYPE_ORDER.index(kv[1][0]), kv[0]))
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset, data = 0, b""
    for name, (dtype, shape, raw) in items:
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        data += raw
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data, [name for name, _ in items]


def main():
    out_dir = pathlib.Path(__file__).resolve().parent
    rng = np.random.default_rng(1234)
    tensors, expected = {}, {}

    def add(name, dtype, shape):
        values = (rng.standard_normal(shape) * 0.5).astype(np.float32)
        if dtype == "F32":
            raw, decoded = values.astype("<f4").tobytes(), values
        elif dtype == "F16":
            halves = values.astype("<f2")
            raw, decoded = halves.tobytes(), halves.astype(np.float32)
        else:
            bits = bf16_bits(values)
            raw, decoded = bits.tobytes(), bf16_to_f32(bits)
        tensors[name] = (dtype, shape, raw)
        expected[name] = decoded

    add("layers.0.attn.wq.weight", "F32", (4, 3))
    add("tok_emb.weight", "F32", (5, 3))
    add("layers.0.attn.kha.t_q", "BF16", (3, 3))
    add("norm.weight", "BF16", (3,))
    add("layers.0.attn_norm.weight", "F16", (3,))
    add("layers.1.attn.wo.weight", "F16", (3, 2))
    add("layers.0.attn.mea.mix_k", "F16", (0, 2))  # zero-sized tensors are legal
    # Edge values of half precision: largest finite, smallest subnormal, negative zero.
    edge = np.array([65504.0, 2.0 ** -24, -0.0, 1.0 / 3.0], dtype="<f2")
    tensors["layers.1.attn.q_norm.weight"] = ("F16", (4,), edge.tobytes())
    expected["layers.1.attn.q_norm.weight"] = edge.astype(np.float32)

    config = {"format": "headlab-model/1", "vocab_size": 5, "d_model": 3, "n_layers": 2}
    metadata = {"format": "pt", "headlab.config": json.dumps(config, separators=(",", ":"))}
    blob, order = serialize(tensors, metadata)
    (out_dir / "python_written.safetensors").write_bytes(blob)
    description = {
        "metadata": metadata,
        "tensors": [{"name": n, "dtype": tensors[n][0], "shape": list(tensors[n][1]),
                     "values": [float(v) for v in expected[n].ravel()]} for n in order],
    }
    (out_dir / "python_written.expected.json").write_text(json.dumps(description, indent=1) + "\n")

    # F32 only, values exact in binary: HeadLab's writer must produce these very bytes when
    # given the tensors in the same (sorted) order and the same metadata.
    f32 = {
        "a.weight": ("F32", (3,), np.array([0.5, -1.25, 3.0], dtype="<f4").tobytes()),
        "b.weight": ("F32", (2, 2), (np.arange(1, 5, dtype="<f4") / 8).tobytes()),
    }
    blob, _ = serialize(f32, {"format": "pt"})
    (out_dir / "python_written_f32.safetensors").write_bytes(blob)


if __name__ == "__main__":
    main()
