#!/usr/bin/env bash
# The issue's walkthrough, end to end on a tiny Hugging Face folder: tokenize text with its
# tokenizer.json, fine-tune it on a text file with KHA (all linear) and MEA (no group norm)
# inserted at identity, fold, and export back to the Hugging Face layout, where an independent
# PyTorch forward (tests/reference/hf_reference.py, written from transformers' semantics)
# computes HeadLab's logits. Also: the identity insertion leaves the step-0 loss unchanged.
CLI=$1
SRC=$2
source "$(dirname "$0")/cli_test_lib.sh"
REF="$SRC/tests/reference/hf_reference.py"
TOK="$SRC/tests/data/tokenizers"
require_python_torch

# A Llama-style folder whose embedding (640 rows) is padded past its tokenizer (559 ids).
$PY "$REF" make --arch llama --vocab 640 --layers 2 --hidden 64 --heads 4 --kv-heads 2 --seed 3 --out "$WORK/hf" >/dev/null
cp "$TOK/llama3_style.tokenizer.json" "$WORK/hf/tokenizer.json"

# 1. tokenize: the ids Hugging Face's own (JS) tokenizer gave for the mixed fixture text.
# The JSON is the last line: LibTorch 2.6's UCX prints a line on stdout on machines without
# /proc/sys/kernel/random/boot_id (this VM's kernel), before main.
"$CLI" tokenize --model "$WORK/hf" --text-file "$TOK/mixed.txt" | tail -n 1 >"$WORK/ids.json"
$PY - "$WORK/ids.json" "$TOK/expected_ids.json" <<'PYEOF' && pass "tokenize prints the reference ids" || fail "tokenize ids"
import json, sys
got, want = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))["ids"]["llama3_style.tokenizer.json"]
assert got["ids"] == want and got["count"] == len(want), (got["ids"][:10], want[:10])
assert got["tokenizer"] == {"type": "hf", "file": "tokenizer.json"}
PYEOF
text=$("$CLI" tokenize --model "$WORK/hf" --decode "$($PY -c "import json,sys; print(','.join(map(str, json.load(open('$WORK/ids.json'))['ids'])))")" | tail -n 1 | $PY -c "import json,sys; print(json.load(sys.stdin)['text'], end='')")
[[ "$text" == "$(cat "$TOK/mixed.txt")" ]] && pass "decode gives the text back" || fail "decode round trip"
expect_exit 2 "give exactly one of" -- "$CLI" tokenize --model "$WORK/hf"

# 2. Fine-tune with modules inserted at step 0 (identity: the step-0 loss is the plain model's).
run_config() {  # $1: output file, $2: schedule JSON
  $PY - "$1" "$WORK/hf" "$SRC/docs/model.md" "$2" <<'PYEOF'
import json, sys
out, model, corpus, schedule = sys.argv[1:5]
json.dump({"init_from": model, "data": {"task": "text", "path": corpus, "tokenizer": "model"},
           "schedule": json.loads(schedule),
           "train": {"steps": 12, "batch_size": 4, "seq_len": 32, "lr": 3e-3, "warmup_steps": 0,
                     "eval_every": 0, "seed": 5, "device": "cpu"}}, open(out, "w"))
PYEOF
}
run_config "$WORK/plain.json" '[]'
run_config "$WORK/upcycle.json" '[{"step": 0, "action": "insert", "module": "kha", "kha": {"q": "linear", "k": "linear", "v": "linear"}},
                                  {"step": 0, "action": "insert", "module": "mea", "group_norm": false}]'
"$CLI" train --config "$WORK/plain.json" --steps 1 --out "$WORK/run-plain" --quiet >/dev/null
"$CLI" train --config "$WORK/upcycle.json" --out "$WORK/run-up" --quiet >/dev/null
$PY - "$WORK/run-plain/metrics.jsonl" "$WORK/run-up/metrics.jsonl" "$WORK/run-up/model/config.json" <<'PYEOF' && pass "inserted at identity: same first loss; the fine-tune lowers it" || fail "upcycled fine-tune"
import json, sys
def losses(path):
    return [r["loss"] for r in map(json.loads, open(path)) if "loss" in r and r.get("split", "train") == "train"]
plain, up = losses(sys.argv[1]), losses(sys.argv[2])
print(f"  step-1 loss plain {plain[0]:.6f}, with KHA+MEA {up[0]:.6f}; after 12 steps {up[-1]:.4f}")
assert abs(plain[0] - up[0]) < 1e-5 * abs(plain[0]), (plain[0], up[0])
assert up[-1] < up[0] - 0.05, up
c = json.load(open(sys.argv[3]))
assert c["interaction"]["kha"] == {"q": "linear", "k": "linear", "v": "linear"} and c["tokenizer"]["type"] == "hf", c
PYEOF
[[ -f "$WORK/run-up/model/tokenizer.json" ]] && pass "the run's model carries its tokenizer.json" || fail "tokenizer.json not saved with the model"

# The corpus must be read with the model's tokenizer, and "model" needs a model.
$PY - "$WORK/plain.json" "$WORK/bytes.json" "$WORK/nomodel.json" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1])); c["data"]["tokenizer"] = "bytes"; json.dump(c, open(sys.argv[2], "w"))
c["data"]["tokenizer"] = "model"; del c["init_from"]; c["model"] = {"d_model": 32, "n_layers": 1, "n_heads": 2, "d_ff": 64}
json.dump(c, open(sys.argv[3], "w"))
PYEOF
expect_exit 2 'read a text corpus with the model' -- "$CLI" train --config "$WORK/bytes.json" --out "$WORK/run-bytes" --quiet
expect_exit 2 'give init_from too' -- "$CLI" train --config "$WORK/nomodel.json" --out "$WORK/run-nomodel" --quiet

# 3. Export back to the Hugging Face layout: the modules fold away and an independent forward agrees.
"$CLI" export-hf --model "$WORK/run-up/model" --out "$WORK/exported" >"$WORK/export.txt"
grep -q "LlamaForCausalLM" "$WORK/export.txt" && pass "export-hf writes a LlamaForCausalLM" || fail "export-hf: $(cat "$WORK/export.txt")"
TOKENS=1,17,300,5,42,558,9,77,12,3,250,101
"$CLI" logits --model "$WORK/run-up/model" --tokens "$TOKENS" --out "$WORK/tuned.npy" >/dev/null
$PY - "$REF" "$WORK/exported" "$WORK/tuned.npy" "$TOKENS" <<'PYEOF' && pass "the exported folder computes the fine-tuned model's logits (independent forward)" || fail "export parity"
import importlib.util, sys
import numpy as np
spec = importlib.util.spec_from_file_location("hf_reference", sys.argv[1])
ref = importlib.util.module_from_spec(spec); spec.loader.exec_module(ref)
expected, unused = ref.logits_for(sys.argv[2], [int(t) for t in sys.argv[4].split(",")], warn=False)
got = np.load(sys.argv[3])
rel = float(np.abs(got - expected).max() / np.abs(expected).max())
print(f"  max rel diff {rel:.2e}; unused tensors {unused}")
assert rel < 2e-5 and not unused
PYEOF
cmp -s "$WORK/exported/tokenizer.json" "$TOK/llama3_style.tokenizer.json" && pass "the export carries the tokenizer" || fail "export tokenizer"

# 4. Compress the pretrained model's KV heads (2 -> 1, MEA virtual heads) and fine-tune it.
"$CLI" compress --model "$WORK/hf" --kv-heads 1 --out "$WORK/kv1" >"$WORK/compress.txt"
grep -q "KV cache per token: 512 bytes (2 kv heads) -> 256 bytes (1 kv heads)" "$WORK/compress.txt" \
  && pass "compress halves the KV cache per token" || fail "compress: $(cat "$WORK/compress.txt")"
$PY - "$WORK/plain.json" "$WORK/kv1" "$WORK/recover.json" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1])); c["init_from"] = sys.argv[2]; json.dump(c, open(sys.argv[3], "w"))
PYEOF
"$CLI" train --config "$WORK/recover.json" --out "$WORK/run-kv1" --quiet >/dev/null
$PY - "$WORK/run-plain/metrics.jsonl" "$WORK/run-kv1/metrics.jsonl" <<'PYEOF' && pass "truncation changes the function (random weights: not always for the worse) and fine-tuning lowers the loss" || fail "compress + recover"
import json, sys
def losses(path):
    return [r["loss"] for r in map(json.loads, open(path)) if "loss" in r and r.get("split", "train") == "train"]
plain, kv1 = losses(sys.argv[1]), losses(sys.argv[2])
print(f"  first loss: full KV {plain[0]:.4f}, 1 virtual KV head {kv1[0]:.4f}; after 12 steps {kv1[-1]:.4f}")
assert kv1[0] != plain[0] and kv1[-1] < kv1[0] - 0.05, (plain[0], kv1)
PYEOF

# A model with a KHA v mlp (the default insert) cannot fold: refused, nothing written.
run_config "$WORK/mlp.json" '[{"step": 0, "action": "insert", "module": "kha"}]'
"$CLI" train --config "$WORK/mlp.json" --steps 1 --out "$WORK/run-mlp" --quiet >/dev/null
expect_exit 2 "KHA v mlp in layer 0 is nonlinear" -- "$CLI" export-hf --model "$WORK/run-mlp/model" --out "$WORK/refused"
[[ ! -e "$WORK/refused" ]] && pass "a refused export writes nothing" || fail "refused export left $WORK/refused"
finish
