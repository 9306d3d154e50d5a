#!/usr/bin/env bash
# headlab-cli init / logits / fold / compress / inspect, and their exit codes on bad input.
CLI=$1
source "$(dirname "$0")/cli_test_lib.sh"

cat > "$WORK/config.json" <<'JSON'
{"format": "headlab-model/1", "vocab_size": 256, "d_model": 32, "n_layers": 2, "n_heads": 4, "n_kv_heads": 4,
 "head_dim": 8, "d_ff": 48, "attention": "gqa", "rope_theta": 10000.0, "max_seq_len": 32, "qk_norm": true,
 "interaction": {"layers": [0, 1], "kha": {"q": "linear", "k": "linear", "v": "linear"},
                 "mea": {"enabled": true, "group_norm": false}},
 "tokenizer": {"type": "bytes"}}
JSON

"$CLI" init --config "$WORK/config.json" --seed 3 --out "$WORK/m" >/dev/null
[[ -f "$WORK/m/config.json" && -f "$WORK/m/model.safetensors" ]] && pass "init writes config.json and model.safetensors" || fail "init files"

"$CLI" logits --model "$WORK/m" --tokens 3,1,4,1,5 --out "$WORK/a.npy" >/dev/null
"$CLI" logits --model "$WORK/m" --tokens 3,1,4,1,5 --out "$WORK/b.npy" >/dev/null
"$CLI" logits --model "$WORK/m/model.safetensors" --tokens 3,1,4,1,5 --out "$WORK/c.npy" >/dev/null
"$CLI" logits --model "$WORK/m" --text "hello" --out "$WORK/t.npy" >/dev/null
"$CLI" logits --model "$WORK/m" --tokens 104,101,108,108,111 --out "$WORK/h.npy" >/dev/null
"$CLI" fold --model "$WORK/m" --out "$WORK/folded" >/dev/null
"$CLI" logits --model "$WORK/folded" --tokens 3,1,4,1,5 --out "$WORK/f.npy" >/dev/null
out=$("$CLI" compress --model "$WORK/m" --kv-heads 4 --out "$WORK/full")
"$CLI" logits --model "$WORK/full" --tokens 3,1,4,1,5 --out "$WORK/full.npy" >/dev/null
small=$("$CLI" compress --model "$WORK/m" --kv-heads 2 --out "$WORK/small")
[[ "$small" == *"512 bytes (4 kv heads) -> 256 bytes (2 kv heads)"* ]] && pass "compress reports KV bytes per token" || fail "compress output: $small"

$PY - "$WORK" <<'PYEOF' && pass "logits: shape, determinism, safetensors-only load, text, fold and full-rank compression" || fail "logits checks"
import sys, numpy as np
w = sys.argv[1]
a, b, c, t = (np.load(f"{w}/{n}.npy") for n in "abct")
assert a.dtype == np.float32 and a.shape == (5, 256), a.shape
assert (a == b).all() and (a == c).all()
assert t.shape == (5, 256) and (t == np.load(f"{w}/h.npy")).all()  # bytes tokenizer: h e l l o
for name in ("f", "full"):
    x = np.load(f"{w}/{name}.npy")
    rel = np.abs(x - a).max() / np.abs(a).max()
    assert rel < 1e-5, (name, rel)
PYEOF

inspect=$("$CLI" inspect --model "$WORK/small")
[[ "$inspect" == *"KV cache per token: 256 bytes (2 stored kv heads)"* && "$inspect" == *"layer 1: active active absent"* && "$inspect" == *"total"* ]] \
  && pass "inspect shows states, parameter counts and KV bytes" || fail "inspect: $inspect"

# Exit codes: 2 for bad usage or input, with a message naming the problem.
$PY -c "import json; c=json.load(open('$WORK/config.json')); c['n_heads']=6; json.dump(c, open('$WORK/bad.json','w'))"
expect_exit 2 "n_heads (6) is not a multiple of n_kv_heads (4)" -- "$CLI" init --config "$WORK/bad.json" --out "$WORK/x"
[[ ! -e "$WORK/x" ]] && pass "no output directory after a bad config" || fail "init left $WORK/x"
expect_exit 2 "no such file" -- "$CLI" logits --model "$WORK/nope" --tokens 1 --out "$WORK/n.npy"
expect_exit 2 "outside the vocabulary" -- "$CLI" logits --model "$WORK/m" --tokens 1,999 --out "$WORK/n.npy"
expect_exit 2 "'x' is not an integer" -- "$CLI" logits --model "$WORK/m" --tokens 1,x --out "$WORK/n.npy"
expect_exit 2 "" -- "$CLI" frobnicate
expect_exit 2 "--kv-heads (5)" -- "$CLI" compress --model "$WORK/m" --kv-heads 5 --out "$WORK/y"
mkdir -p "$WORK/trunc" && cp "$WORK/m/config.json" "$WORK/trunc/"
head -c 3000 "$WORK/m/model.safetensors" > "$WORK/trunc/model.safetensors"
expect_exit 2 "model.safetensors" -- "$CLI" logits --model "$WORK/trunc" --tokens 1 --out "$WORK/n.npy"

# A model whose alphabet holds ESC: on a terminal, sample prints it escaped, never raw.
$PY - "$WORK" <<'PYEOF'
import json, sys
c = json.load(open(f"{sys.argv[1]}/config.json"))
c["tokenizer"] = {"type": "chars", "alphabet": "\u001b[31mab"}
c["vocab_size"] = 7
json.dump(c, open(f"{sys.argv[1]}/esc.json", "w"))
PYEOF
"$CLI" init --config "$WORK/esc.json" --out "$WORK/esc" >/dev/null
printf '%s\n' "\"$CLI\" sample --model \"$WORK/esc\" --prompt \$'\\e[31m' --max-tokens 3 --seed 1" > "$WORK/sample_esc.sh"
tty_out=$(script -qec "bash $WORK/sample_esc.sh" /dev/null | tr -d '\r')
plain_out=$("$CLI" sample --model "$WORK/esc" --prompt $'\e[31m' --max-tokens 3 --seed 1)
[[ "$tty_out" == '\x1b[31m'* && "$tty_out" != *$'\e'* && "$plain_out" == $'\e[31m'* ]] \
  && pass "sample escapes control characters on a terminal only" || fail "sample escapes: tty='$tty_out' plain='$plain_out'"

# Unbounded or impossible values: exit 2 naming the option or field.
expect_exit 2 "--threads" -- "$CLI" --threads 100000 inspect --model "$WORK/m"
expect_exit 2 "temperature must be a finite number" -- "$CLI" sample --model "$WORK/m" --prompt ab --temperature nan
expect_exit 2 "unknown preset '../../x'" -- "$CLI" train --preset ../../x --out "$WORK/p"
$PY -c "import json; c=json.load(open('$WORK/config.json')); c['attention']='gta'; c['rope_dim']=-2; json.dump(c, open('$WORK/rope.json','w'))"
expect_exit 2 "rope_dim (-2) must be >= 0" -- "$CLI" init --config "$WORK/rope.json" --out "$WORK/r"

# FIFOs and devices are refused at once (a per-case timeout catches a hang).
mkfifo "$WORK/fifo.safetensors"
expect_exit 2 "is a FIFO" -- timeout 20 "$CLI" logits --model "$WORK/fifo.safetensors" --tokens 1 --out "$WORK/n.npy"
expect_exit 2 "is a FIFO" -- timeout 20 "$CLI" init --config "$WORK/fifo.safetensors" --out "$WORK/z"
expect_exit 2 "is a device" -- timeout 20 "$CLI" logits --model /dev/zero --tokens 1 --out "$WORK/n.npy"

# An existing --out is never deleted unless asked, and a directory that is not a model
# directory (a run, a folder of the user's) is never replaced, even with --force.
mkdir -p "$WORK/mine" && echo "my notes" > "$WORK/mine/notes.txt"
expect_exit 2 "already exists" -- "$CLI" fold --model "$WORK/m" --out "$WORK/mine"
expect_exit 2 "not a model directory (it holds 'notes.txt')" -- "$CLI" fold --model "$WORK/m" --out "$WORK/mine" --force
expect_exit 2 "already exists" -- "$CLI" compress --model "$WORK/m" --kv-heads 2 --out "$WORK/mine"
expect_exit 2 "already exists" -- "$CLI" init --config "$WORK/config.json" --out "$WORK/mine"
[[ "$(cat "$WORK/mine/notes.txt")" == "my notes" ]] && pass "a folder named by --out keeps its files" || fail "--out folder was touched"
echo "keep" > "$WORK/afile"
expect_exit 2 "not a directory" -- "$CLI" init --config "$WORK/config.json" --out "$WORK/afile" --force
[[ "$(cat "$WORK/afile")" == "keep" ]] && pass "a file named by --out is kept" || fail "--out file was replaced"
before=$(sha256sum "$WORK/folded/model.safetensors")
expect_exit 2 "already exists" -- "$CLI" fold --model "$WORK/small" --out "$WORK/folded"
[[ "$(sha256sum "$WORK/folded/model.safetensors")" == "$before" ]] && pass "an existing model directory is kept without --force" || fail "folded was replaced"
"$CLI" fold --model "$WORK/small" --out "$WORK/folded" --force >/dev/null
[[ "$(sha256sum "$WORK/folded/model.safetensors")" != "$before" ]] && pass "--force replaces a model directory" || fail "--force did not replace"
finish
