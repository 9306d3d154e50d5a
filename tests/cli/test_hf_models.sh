#!/usr/bin/env bash
# Hugging Face model folders open as HeadLab models (MODEL.md §7): for each architecture,
# tests/reference/hf_reference.py writes a tiny random checkpoint in the Hugging Face layout and
# names and computes its logits with an independent PyTorch forward written from the
# transformers modeling code; `headlab-cli logits --model DIR` must agree to 2e-5 (float32; the issue asks 1e-4).
# Then the loaded models go through HeadLab's own tools (inspect, fold, compress, save) and
# foreign or broken folders are refused with exit 2 and a message naming the problem.
CLI=$1
SRC=$2
source "$(dirname "$0")/cli_test_lib.sh"
REF="$SRC/tests/reference/hf_reference.py"
require_python_torch

TOKENS=5,1,4,1,5,9,2,6,5,3,5,8,9,7,9,3,2,3,8,4,6,2,6,4,3,3,8,3,2,7,9,5
# name | hf_reference.py make options
cases=(
  "llama|--arch llama"
  "llama_tied_bf16|--arch llama --tied --dtype bf16"
  "llama3_scaled_sharded|--arch llama --rope-scaling llama3 --sharded"
  "llama_rope_parameters_f16|--arch llama --rope-parameters --dtype f16"
  "llama_attention_bias|--arch llama --attention-bias"
  "mistral|--arch mistral"
  "qwen2|--arch qwen2"
  "qwen2_tied|--arch qwen2 --tied --kv-heads 1"
  "qwen3|--arch qwen3 --head-dim 32"
  "gpt2|--arch gpt2 --gpt2-buffers"
  "gpt2_no_prefix_bf16|--arch gpt2 --no-prefix --dtype bf16"
)
for entry in "${cases[@]}"; do
  IFS='|' read -r name opts <<<"$entry"
  # shellcheck disable=SC2086
  $PY "$REF" make $opts --seed 7 --out "$WORK/$name" >/dev/null
  "$CLI" logits --model "$WORK/$name" --tokens "$TOKENS" --out "$WORK/$name.headlab.npy"
  echo "$name" >>"$WORK/manifest"
done

# One Python process computes every reference (importing torch costs a second each).
$PY - "$REF" "$WORK" "$TOKENS" <<'PYEOF' && pass "logits of every architecture match the Hugging Face semantics" || fail "logits parity"
import importlib.util, sys
import numpy as np
ref_path, work, tokens = sys.argv[1], sys.argv[2], [int(t) for t in sys.argv[3].split(",")]
spec = importlib.util.spec_from_file_location("hf_reference", ref_path)
ref = importlib.util.module_from_spec(spec); spec.loader.exec_module(ref)
bad = 0
for name in open(f"{work}/manifest").read().split():
    expected, _ = ref.logits_for(f"{work}/{name}", tokens, warn=False)
    got = np.load(f"{work}/{name}.headlab.npy")
    rel = float(np.abs(got - expected).max() / np.abs(expected).max())
    print(f"  {name:28s} max rel diff {rel:.2e}  (logit scale {np.abs(expected).max():.2f})")
    if got.shape != expected.shape or not rel < 2e-5:  # the issue asks 1e-4; gelu erf-vs-tanh is 2e-4
        bad += 1
sys.exit(1 if bad else 0)
PYEOF

# A loaded model is a HeadLab model: inspect names what it is, KHA-linear + MEA inserted at
# identity fold away, compression stores fewer heads, and a save is a HeadLab directory.
"$CLI" inspect --model "$WORK/qwen2" >"$WORK/inspect.txt"
grep -q '"linear_bias": "qkv"' "$WORK/inspect.txt" && pass "inspect shows the imported options" || fail "inspect: $(head -c 400 "$WORK/inspect.txt")"
"$CLI" compress --model "$WORK/qwen2" --kv-heads 1 --out "$WORK/qwen2-compressed" >/dev/null
$PY - "$WORK/qwen2-compressed/config.json" <<'PYEOF' && pass "compress writes a HeadLab model with 1 stored kv head" || fail "compress of an imported model"
import json, sys
c = json.load(open(sys.argv[1]))
assert c["format"] == "headlab-model/1" and c["interaction"]["mea"]["virtual_kv_heads"] == 1, c
PYEOF
"$CLI" logits --model "$WORK/qwen2-compressed" --tokens "$TOKENS" --out "$WORK/compressed.npy" && pass "the compressed model computes logits" || fail "logits of the compressed model"

# Refused by name, exit 2, nothing half-loaded.
mkdir -p "$WORK/bert"
echo '{"architectures": ["BertForMaskedLM"], "model_type": "bert", "hidden_size": 8}' >"$WORK/bert/config.json"
expect_exit 2 "architecture BertForMaskedLM is not supported" -- "$CLI" inspect --model "$WORK/bert"
cp -r "$WORK/llama" "$WORK/llama_silu"
$PY - "$WORK/llama_silu/config.json" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1])); c["hidden_act"] = "gelu"; json.dump(c, open(sys.argv[1], "w"))
PYEOF
expect_exit 2 "hidden_act is \"gelu\"" -- "$CLI" logits --model "$WORK/llama_silu" --tokens 1,2 --out "$WORK/x.npy"
cp -r "$WORK/llama" "$WORK/llama_yarn"
$PY - "$WORK/llama_yarn/config.json" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1])); c["rope_scaling"] = {"rope_type": "yarn", "factor": 4.0}; json.dump(c, open(sys.argv[1], "w"))
PYEOF
expect_exit 2 "rope_type 'yarn' is not supported" -- "$CLI" inspect --model "$WORK/llama_yarn"
cp -r "$WORK/llama3_scaled_sharded" "$WORK/missing_shard"
rm "$WORK/missing_shard/$(cd "$WORK/missing_shard" && ls model-0000*.safetensors | tail -1)"
expect_exit 2 "is missing" -- "$CLI" inspect --model "$WORK/missing_shard"
cp -r "$WORK/llama" "$WORK/llama_extra"
$PY - "$WORK/llama_extra/config.json" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1])); c["num_hidden_layers"] = 1; json.dump(c, open(sys.argv[1], "w"))
PYEOF
expect_exit 2 "unexpected tensor 'model.layers.1." -- "$CLI" inspect --model "$WORK/llama_extra"
head -c 5000 "$WORK/llama/model.safetensors" >"$WORK/llama_extra/model.safetensors"
expect_exit 2 "truncated" -- "$CLI" inspect --model "$WORK/llama_extra"
finish
