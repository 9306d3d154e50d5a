#!/usr/bin/env bash
# HeadLab checkpoints load in PyTorch: tests/reference/headlab_reference.py (an independent
# implementation of MODEL.md) computes the same logits as `headlab-cli logits`, after a few
# training steps moved the modules away from identity. Every layout with QK norm on and off,
# every module (KHA, MEA, talking heads) and none at least once per layout, each at 16 tokens
# (the engine's rows path) and 80 (the training fast path: one QKV GEMM, modules in weights).
CLI=$1
SRC=$2
source "$(dirname "$0")/cli_test_lib.sh"
REF="$SRC/tests/reference/headlab_reference.py"
require_python_torch

# name | model JSON (merged into the base, where qk_norm is on) | extra step after training
KHA_ALL='"kha": {"q": "linear", "k": "linear", "v": "mlp"}'
KHA_LIN='"kha": {"q": "linear", "k": "linear", "v": "linear"}'
TALK='"talking_heads": {"enabled": true}'
cases=(
  "mha_kha_talking|{\"attention\": \"mha\", \"n_heads\": 4, \"interaction\": {$KHA_ALL, $TALK}}|"
  "mha_bypassed|{\"attention\": \"mha\", \"n_heads\": 4, \"interaction\": {\"kha\": {\"q\": \"linear\", \"v\": \"linear\"}, \"mea\": {\"enabled\": true}}}|bypass"
  "mha_mea_noqk|{\"attention\": \"mha\", \"n_heads\": 4, \"qk_norm\": false, \"interaction\": {\"mea\": {\"enabled\": true}}}|"
  "mha_plain_noqk|{\"attention\": \"mha\", \"n_heads\": 4, \"qk_norm\": false}|"
  "gqa_kha_mea|{\"attention\": \"gqa\", \"n_heads\": 4, \"n_kv_heads\": 2, \"interaction\": {$KHA_LIN, \"mea\": {\"enabled\": true}}}|"
  "gqa_virtual|{\"attention\": \"gqa\", \"n_heads\": 4, \"n_kv_heads\": 4, \"interaction\": {\"kha\": {\"k\": \"linear\", \"v\": \"linear\"}, \"mea\": {\"enabled\": true, \"group_norm\": false}}}|compress"
  "gqa_talking_noqk|{\"attention\": \"gqa\", \"n_heads\": 4, \"n_kv_heads\": 2, \"qk_norm\": false, \"interaction\": {$TALK}}|"
  "gqa_plain_noqk|{\"attention\": \"gqa\", \"n_heads\": 4, \"n_kv_heads\": 2, \"qk_norm\": false}|"
  "gqa_one_kv_head_kha_mea|{\"attention\": \"gqa\", \"n_heads\": 4, \"n_kv_heads\": 1, \"interaction\": {$KHA_LIN, \"mea\": {\"enabled\": true}}}|"
  "mqa_plain|{\"attention\": \"mqa\", \"n_heads\": 4}|"
  "mqa_kha|{\"attention\": \"mqa\", \"n_heads\": 4, \"interaction\": {$KHA_ALL}}|"
  "mqa_mea|{\"attention\": \"mqa\", \"n_heads\": 4, \"interaction\": {\"mea\": {\"enabled\": true}}}|"
  "mqa_talking_noqk|{\"attention\": \"mqa\", \"n_heads\": 4, \"qk_norm\": false, \"interaction\": {$TALK}}|"
  "mqa_tied_partial_noqk|{\"attention\": \"mqa\", \"n_heads\": 4, \"tie_embeddings\": true, \"qk_norm\": false, \"interaction\": {\"layers\": [1], \"mea\": {\"enabled\": true, \"group_norm\": true}, $TALK}}|"
  "gta_all|{\"attention\": \"gta\", \"n_heads\": 4, \"n_kv_heads\": 2, \"rope_dim\": 4, \"interaction\": {$KHA_ALL, \"mea\": {\"enabled\": true}, $TALK}}|"
  "gta_plain_noqk|{\"attention\": \"gta\", \"n_heads\": 4, \"n_kv_heads\": 2, \"rope_dim\": 4, \"qk_norm\": false}|"
  "gta_kha_noqk|{\"attention\": \"gta\", \"n_heads\": 4, \"n_kv_heads\": 2, \"rope_dim\": 4, \"qk_norm\": false, \"interaction\": {$KHA_LIN}}|"
  "gqa_qkv_bias_llama3_kha_mea|{\"attention\": \"gqa\", \"n_heads\": 4, \"n_kv_heads\": 2, \"qk_norm\": false, \"linear_bias\": \"qkv\", \"rope_theta\": 500000.0, \"rope_scaling\": {\"type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 32}, \"interaction\": {$KHA_LIN, \"mea\": {\"enabled\": true}}}|"
  "mha_gpt2_style_kha|{\"attention\": \"mha\", \"n_heads\": 4, \"qk_norm\": false, \"linear_bias\": \"all\", \"norm\": \"layer\", \"mlp\": \"gelu\", \"positions\": \"learned\", \"interaction\": {$KHA_ALL}}|"
  "gta_mea_talking_noqk|{\"attention\": \"gta\", \"n_heads\": 4, \"n_kv_heads\": 2, \"qk_norm\": false, \"interaction\": {\"mea\": {\"enabled\": true}, $TALK}}|"
)

# Train and export every case with headlab-cli; one Python process then checks them all
# (importing torch costs a second per process).
: >"$WORK/manifest"
for entry in "${cases[@]}"; do
  IFS='|' read -r name model extra <<<"$entry"
  $PY - "$WORK/$name.json" "$model" "$extra" <<'PYEOF'
import json, sys
path, model, extra = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
base = {"d_model": 32, "n_layers": 2, "head_dim": 8, "d_ff": 64, "max_seq_len": 128, "qk_norm": True}
base.update(model)
schedule = [{"step": 3, "action": "bypass", "module": "kha", "layers": [0]}] if extra == "bypass" else []
# lr 1e-2 without warmup: five AdamW steps move every module matrix ~0.05 away from identity.
json.dump({"model": base, "data": {"task": "grammar"}, "schedule": schedule,
           "train": {"steps": 5, "batch_size": 4, "seq_len": 32, "lr": 1e-2, "warmup_steps": 0,
                     "eval_every": 0, "seed": 3, "device": "cpu"}}, open(path, "w"))
PYEOF
  "$CLI" train --config "$WORK/$name.json" --out "$WORK/run-$name" --quiet >/dev/null
  model_dir="$WORK/run-$name/model"
  if [[ "$extra" == "compress" ]]; then
    "$CLI" compress --model "$model_dir" --kv-heads 2 --out "$WORK/$name-compressed" >/dev/null
    model_dir="$WORK/$name-compressed"
  fi
  vocab=$(grep -o '"vocab_size": *[0-9]*' "$model_dir/config.json" | grep -o '[0-9]*$')
  for T in 16 80; do
    tokens=$(for ((i = 0; i < T; i++)); do printf '%d,' $(((7 * i + 3) % vocab)); done)
    tokens=${tokens%,}
    "$CLI" logits --model "$model_dir" --tokens "$tokens" --out "$WORK/$name-$T-headlab.npy" >/dev/null
    echo "$name|$T|$model_dir|$WORK/$name-$T-headlab.npy|$tokens" >>"$WORK/manifest"
  done
done

matched=0
while IFS= read -r line; do
  case "$line" in
    ok:*) pass "${line#ok: }"; matched=$((matched + 1)) ;;
    FAIL:*) fail "${line#FAIL: }" ;;
    *) echo "$line" ;;
  esac
done < <($PY - "$WORK/manifest" "$REF" <<'PYEOF' 2>&1
import sys, importlib.util, numpy as np, torch
manifest, ref = sys.argv[1:]
spec = importlib.util.spec_from_file_location("ref", ref)
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
for line in open(manifest):
    name, T, model_dir, a, tokens = line.strip().split("|")
    try:
        with torch.no_grad():  # the interop example: a HeadLab model directory as a torch.nn.Module
            y = m.load_model(model_dir)(torch.tensor([[int(t) for t in tokens.split(",")]]))[0].numpy()
        tensors, meta = m.read_safetensors(f"{model_dir}/model.safetensors")
        assert "headlab.config" in meta
        # The modules really moved: a transposed or skipped matrix would show in the logits.
        moved = [n for n, t in tensors.items() if any(s in n for s in (".kha.t_", ".kha.v_", ".mea.mix", ".talking."))]
        for n in moved:
            t = tensors[n]
            eye = np.eye(*t.shape) if "v_gate" not in n else np.zeros(t.shape)
            assert np.abs(t.numpy() - eye).max() > 1e-2, (n, "still at its identity init")
        assert bool(moved) == ("plain" not in name), ("module matrices", moved)
        x = np.load(a)
        assert x.shape == y.shape, (x.shape, y.shape)
        rel = np.abs(x - y).max() / np.abs(x).max()
        assert rel < 1e-4, f"max relative error {rel:.2e}"
        print(f"ok: {name}, {T} tokens: PyTorch reference logits match headlab-cli "
              f"(max relative error {rel:.2e}, {len(moved)} module matrices)", flush=True)
    except Exception as e:  # one line per case, so that every case reports
        print(f"FAIL: {name}, {T} tokens: {type(e).__name__}: {e}", flush=True)
PYEOF
)
# A Python process that died before reporting must not pass silently.
[[ $matched -eq $((2 * ${#cases[@]})) ]] || fail "$matched of $((2 * ${#cases[@]})) case/length pairs matched"

# The script's own command line, on a bare .safetensors file (its config is in the metadata).
"$CLI" logits --model "$WORK/run-gqa_kha_mea/model" --tokens 1,2,3 --out "$WORK/bare-headlab.npy" >/dev/null
"$PY" "$REF" logits --model "$WORK/run-gqa_kha_mea/model/model.safetensors" --tokens 1,2,3 --out "$WORK/bare.npy"
$PY -c "
import numpy as np
a, b = np.load('$WORK/bare-headlab.npy'), np.load('$WORK/bare.npy')
assert np.abs(a - b).max() / np.abs(a).max() < 1e-4
" && pass "headlab_reference.py logits on a bare .safetensors file" || fail "bare .safetensors"
finish
