#!/usr/bin/env bash
# headlab-cli presets / train / resume / eval / sample, Ctrl-C, and bad training configs.
CLI=$1
source "$(dirname "$0")/cli_test_lib.sh"

presets=$("$CLI" presets)
for p in induction-kha grammar-kha-vs-mha recall-mea; do
  [[ "$presets" == *"$p"* ]] && pass "preset $p listed" || fail "preset $p missing: $presets"
done

cat > "$WORK/exp.json" <<'JSON'
{"model": {"d_model": 32, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "head_dim": 8, "d_ff": 64,
           "attention": "gqa", "max_seq_len": 64, "qk_norm": true,
           "interaction": {"kha": {"q": "linear", "k": "linear", "v": "linear"}, "mea": {"enabled": true, "group_norm": false}}},
 "data": {"task": "grammar"},
 "train": {"steps": 30, "batch_size": 8, "seq_len": 32, "eval_every": 10, "checkpoint_every": 10, "seed": 5, "device": "cpu"},
 "schedule": [{"step": 12, "action": "bypass", "module": "kha", "layers": [1]}]}
JSON

"$CLI" train --config "$WORK/exp.json" --out "$WORK/whole" --quiet >/dev/null
"$CLI" train --config "$WORK/exp.json" --out "$WORK/half" --stop-after 15 --quiet >/dev/null
"$CLI" train --resume "$WORK/half" --quiet >/dev/null
$PY - "$WORK" <<'PYEOF' && pass "stop at 15 + resume gives bit-identical metrics; run directory complete" || fail "resume/run dir"
import sys, json, os
w = sys.argv[1]
read = lambda p: [json.loads(l) for l in open(p)]
whole, half = read(f"{w}/whole/metrics.jsonl"), read(f"{w}/half/metrics.jsonl")
key = lambda m: (m["step"], m["loss"], m["lr"], m["tokens"], m.get("val_loss"))
assert [key(m) for m in whole] == [key(m) for m in half], "metrics differ"
assert len(whole) == 30 and whole[-1]["tokens"] == 30 * 8 * 32
events = read(f"{w}/whole/events.jsonl")
assert any(e["kind"] == "module" and e["step"] == 12 for e in events), events
for d in ("config.json", "model/config.json", "model/model.safetensors", "checkpoints"):
    assert os.path.exists(f"{w}/whole/{d}"), d
cfg = json.load(open(f"{w}/whole/model/config.json"))
assert cfg["interaction"]["bypassed"] == ["kha@1"], cfg["interaction"]
PYEOF

# Probes: probes.jsonl during training, and the probe command on the trained model.
"$CLI" train --config "$WORK/exp.json" --steps 12 --set "schedule=[]" --probe-every 5 --out "$WORK/probed" --quiet >/dev/null
"$CLI" probe --model "$WORK/whole/model" --text "the cat sees a dog." --out "$WORK/probe.json" --maps "$WORK/maps" >/dev/null
$PY - "$WORK" <<'PYEOF' && pass "probes.jsonl and the probe command (stats, roles, similarity, matrices, ablations, maps)" || fail "probe outputs"
import sys, json, numpy as np
w = sys.argv[1]
lines = [json.loads(l) for l in open(f"{w}/probed/probes.jsonl")]
assert [l["step"] for l in lines] == [5, 10, 12], [l["step"] for l in lines]
assert len(lines[0]["heads"]) == 2 * 4 and {"entropy", "induction", "role"} <= set(lines[0]["heads"][0])
p = json.load(open(f"{w}/probe.json"))
assert len(p["tokens"]) == 19 and len(p["head_similarity"]) == 2 and len(p["head_similarity"][0]) == 4
names = {(m["module"], m["name"]) for m in p["matrices"]}
assert ("kha", "t_q") in names and ("mea", "mix_k") in names, names
assert all(abs(p["head_similarity"][0][i][i] - 1) < 1e-5 for i in range(4))
assert {a["module"] for a in p["ablations"]} == {"kha", "mea"}
maps = np.load(f"{w}/maps/attention.npy")
assert maps.shape == (2, 4, 19, 19) and np.allclose(maps.sum(-1), 1, atol=1e-5) and np.allclose(np.triu(maps, 1), 0)
PYEOF

# The trained model: fold it (non-identity KHA and MEA now) and check its logits.
"$CLI" logits --model "$WORK/whole/model" --text "the cat" --out "$WORK/before.npy" >/dev/null
"$CLI" fold --model "$WORK/whole/model" --out "$WORK/folded" >/dev/null
"$CLI" logits --model "$WORK/folded" --text "the cat" --out "$WORK/after.npy" >/dev/null
$PY -c "
import numpy as np
a, b = np.load('$WORK/before.npy'), np.load('$WORK/after.npy')
assert np.abs(a - b).max() / np.abs(a).max() < 1e-5
" && pass "fold of a trained model keeps its logits" || fail "fold of trained model"

ev=$("$CLI" eval --model "$WORK/whole/model" --task grammar --batches 2)
[[ "$ev" == *"bits_per_token"* ]] && pass "eval on a task" || fail "eval task: $ev"
printf 'the dog sees the cat. a bird sings near the old house. %.0s' {1..20} > "$WORK/corpus.txt"
ev=$("$CLI" eval --model "$WORK/whole/model" --text "$WORK/corpus.txt" --seq-len 32 --batches 1)
[[ "$ev" == *"bits_per_byte"* ]] && pass "eval on a text file" || fail "eval text: $ev"
# A named pipe as the text is refused at once, not waited on.
mkfifo "$WORK/pipe.txt"
expect_exit 2 "pipe.txt is a FIFO (named pipe), not a regular file" -- \
  timeout 60 "$CLI" eval --model "$WORK/whole/model" --text "$WORK/pipe.txt" --seq-len 32 --batches 1
s1=$("$CLI" sample --model "$WORK/whole/model" --prompt "the " --max-tokens 40 --seed 9)
s2=$("$CLI" sample --model "$WORK/whole/model" --prompt "the " --max-tokens 40 --seed 9)
s3=$("$CLI" sample --model "$WORK/whole/model" --prompt "the " --max-tokens 40 --seed 10)
[[ "$s1" == "$s2" && "$s1" != "$s3" && ${#s1} -gt 30 ]] && pass "sampling is reproducible with a seed" || fail "sample: '$s1' '$s2' '$s3'"

# eval --task on a model trained with task options (induction-kha: 24 symbols): the task as
# the model's run had it, as the README shows; a model outside its run is told how to match.
"$CLI" train --preset induction-kha --steps 2 --out "$WORK/ind" --quiet >/dev/null
ev=$("$CLI" eval --model "$WORK/ind/model" --task induction --batches 1 2>&1) \
  && [[ "$ev" == *"bits_per_token"* ]] && pass "eval --task uses the task options of the model's run" || fail "eval induction: $ev"
cp -r "$WORK/ind/model" "$WORK/bare-model"
expect_exit 2 "give the task options the model was trained with: --data" -- "$CLI" eval --model "$WORK/bare-model" --task induction

# compare takes the options train takes (--device, --seed, --quiet).
expect_exit 2 "train.device must be cpu, cuda or auto" -- "$CLI" compare --config "$WORK/exp.json" --variants baseline --device tpu --out "$WORK/cmp-dev"
expect_exit 2 "train.device must be cpu, cuda or auto" -- "$CLI" train --config "$WORK/exp.json" --device tpu --out "$WORK/train-dev"
out=$("$CLI" compare --config "$WORK/exp.json" --steps 2 --set "schedule=[]" --variants baseline --seed 11 --device cpu --quiet --out "$WORK/cmp-quiet")
[[ "$out" != *"[100%]"* && -f "$WORK/cmp-quiet/summary.json" ]] \
  && $PY -c "import json,sys; assert json.load(open(sys.argv[1]))['train']['seed'] == 11" "$WORK/cmp-quiet/baseline/config.json" \
  && pass "compare --device --seed --quiet" || fail "compare common options: $out"

# Compare: one run directory per variant and a summary.
"$CLI" compare --config "$WORK/exp.json" --steps 4 --set "schedule=[]" --variants baseline,kha-mlp --out "$WORK/cmp" >/dev/null
[[ -f "$WORK/cmp/baseline/metrics.jsonl" && -f "$WORK/cmp/kha-mlp/model/model.safetensors" && $(wc -l < "$WORK/cmp/summary.csv") -eq 3 ]] \
  && pass "compare writes a run per variant and summary.csv" || fail "compare outputs"
expect_exit 2 "unknown variant 'gpt'" -- "$CLI" compare --config "$WORK/exp.json" --variants baseline,gpt --out "$WORK/cmp2"

# Several seeds and a sweep: seed-S run directories, a summary with intervals and verdicts.
out=$("$CLI" compare --config "$WORK/exp.json" --steps 3 --set "schedule=[]" --variants baseline,mea --seeds 2 \
      --sweep train.lr=1e-3,3e-3 --out "$WORK/cmp3")
$PY - "$WORK/cmp3" <<'PYEOF' && pass "compare --seeds --sweep: paired statistics per sweep point" || fail "compare --seeds: $out"
import sys, json, os, csv
d = sys.argv[1]
s = json.load(open(f"{d}/summary.json"))
assert s["format"] == "headlab-compare/2" and s["seeds"] == [5, 6], s["seeds"]
names = [v["name"] for v in s["variants"]]
assert names == ["baseline@train.lr=0.001", "mea@train.lr=0.001", "baseline@train.lr=0.003", "mea@train.lr=0.003"], names
mea = s["variants"][3]
assert mea["vs_baseline"]["baseline"] == "baseline@train.lr=0.003"
assert mea["vs_baseline"]["verdict"] in ("lower", "higher", "within noise")
assert len(mea["vs_baseline"]["differences"]) == 2 and mea["final_val_loss"]["n"] == 2
assert os.path.isfile(f"{d}/mea@train.lr=0.003/seed-6/metrics.jsonl")
rows = list(csv.DictReader(open(f"{d}/summary.csv")))
assert len(rows) == 4 and rows[3]["verdict"] == mea["vs_baseline"]["verdict"]
assert len(list(csv.DictReader(open(f"{d}/runs.csv")))) == 8
PYEOF
[[ "$out" == *"vs baseline"* && "$out" == *"mea@train.lr=0.003"* ]] && pass "compare prints the table" || fail "compare table: $out"
expect_exit 2 "train.lr" -- "$CLI" compare --config "$WORK/exp.json" --variants baseline --sweep train.lr --out "$WORK/cmp4"

# stats: the compare statistics for any per-seed table.
printf 'seed,trained,compressed\n1,0.50,0.53\n2,0.52,0.54\n3,0.49,0.52\n4,0.51,0.55\n5,0.50,0.52\n' > "$WORK/losses.csv"
"$CLI" stats --csv "$WORK/losses.csv" --baseline trained > "$WORK/stats.json"
$PY - "$WORK/stats.json" <<'PYEOF' && pass "stats: mean, CI and paired verdict" || fail "stats: $(cat "$WORK/stats.json")"
import sys, json
s = json.load(open(sys.argv[1]))
assert "seed" not in s
c = s["compressed"]["vs_baseline"]
assert abs(c["mean"] - 0.028) < 1e-12 and c["verdict"] == "higher" and c["same_sign"] == 5, c
assert abs(c["ci_low"] - 0.0176114) < 1e-6, c
assert abs(s["trained"]["mean"] - 0.504) < 1e-12
PYEOF
printf 'seed,a,b\n1,0.5,x\n' > "$WORK/bad.csv"
expect_exit 2 "not a number" -- "$CLI" stats --csv "$WORK/bad.csv" --baseline a

# Fine-tuning: --init-from starts from a model; the config's model section gives way to it.
"$CLI" train --config "$WORK/exp.json" --init-from "$WORK/whole/model" --steps 3 --set "schedule=[]" --out "$WORK/ft" --quiet >/dev/null
$PY - "$WORK" <<'PYEOF' && pass "train --init-from records where the model came from" || fail "init-from"
import sys, json
w = sys.argv[1]
c = json.load(open(f"{w}/ft/config.json"))
assert c["initialized_from"] == f"{w}/whole/model", c.get("initialized_from")
assert c["model"]["interaction"]["bypassed"] == ["kha@1"], c["model"]["interaction"]
PYEOF
expect_exit 2 "init_from" -- "$CLI" train --config "$WORK/exp.json" --init-from "$WORK/nothing" --out "$WORK/ft2"
expect_exit 2 "--init-from" -- "$CLI" train --config "$WORK/exp.json" --init-from "$WORK/whole/model" --set model.d_model=16 --out "$WORK/ft3"

# Bad configs: exit 2, a message naming the problem, and no run directory.
printf '{"model": {"d_model": 32,\n  "n_layers": 2,,\n}}' > "$WORK/badjson.json"
expect_exit 2 "badjson.json:2:17: invalid JSON: syntax error" -- "$CLI" train --config "$WORK/badjson.json" --out "$WORK/r1"
expect_exit 2 "unknown field 'train.stpes'" -- "$CLI" train --config "$WORK/exp.json" --set train.stpes=3 --out "$WORK/r2"
expect_exit 2 "train.lr (-1" -- "$CLI" train --config "$WORK/exp.json" --set train.lr=-1 --out "$WORK/r3"
expect_exit 2 "train.batch_size (0)" -- "$CLI" train --config "$WORK/exp.json" --set train.batch_size=0 --out "$WORK/r4"
expect_exit 2 "exceeds model.max_seq_len" -- "$CLI" train --config "$WORK/exp.json" --set train.seq_len=100 --out "$WORK/r5"
expect_exit 2 "no such file" -- "$CLI" train --config "$WORK/missing.json" --out "$WORK/r6"
expect_exit 2 "unknown preset 'nope'" -- "$CLI" train --preset nope --out "$WORK/r7"
printf '\xff\xfe bad bytes' > "$WORK/bad.txt"
expect_exit 2 "bad.txt" -- "$CLI" train --config "$WORK/exp.json" --set data.task=text --set data.path="$WORK/bad.txt" --out "$WORK/r8"
for r in r1 r2 r3 r4 r5 r6 r7 r8; do [[ ! -e "$WORK/$r" ]] || fail "half-written run directory $r"; done
pass "no run directory left by a bad config"
expect_exit 2 "already holds a run" -- "$CLI" train --config "$WORK/exp.json" --out "$WORK/whole"
expect_exit 2 "layer 99 does not exist" -- "$CLI" train --config "$WORK/exp.json" --out "$WORK/r9" \
  --set 'schedule=[{"step": 1, "action": "bypass", "module": "kha", "layers": [99]}]'
expect_exit 2 "step 40 is never reached" -- "$CLI" train --config "$WORK/exp.json" --out "$WORK/r10" \
  --set 'schedule=[{"step": 40, "action": "set_lr", "value": 0.001}]'
expect_exit 2 "talking_heads in layer 0 is absent" -- "$CLI" train --config "$WORK/exp.json" --out "$WORK/r11" \
  --set 'schedule=[{"step": 2, "action": "freeze", "module": "talking_heads", "layers": [0]}]'
printf '{"model": {"d_model": 32}, "data": {"task": "grammar"}, "train": {"lr": 1e999}}' > "$WORK/huge.json"
expect_exit 2 "huge.json: invalid JSON: number overflow" -- "$CLI" train --config "$WORK/huge.json" --out "$WORK/r12"
expect_exit 2 "model.max_seq_len must be an integer" -- "$CLI" train --config "$WORK/exp.json" --set 'model.max_seq_len="64"' --out "$WORK/r13"
expect_exit 2 "tokenizer.type must be a string" -- "$CLI" train --config "$WORK/exp.json" --set 'model.tokenizer={"type": 3}' --out "$WORK/r14"
[[ ! -e "$WORK/r9" && ! -e "$WORK/r10" && ! -e "$WORK/r11" ]] && pass "no run directory left by a bad schedule" || fail "a bad schedule left a run directory"

# A warmup longer than the run is allowed (a preset cut short) but said on the terminal.
expect_exit 0 "note: train.warmup_steps (10) exceeds train.steps (4): the learning rate peaks at 40% of train.lr" -- \
  "$CLI" train --config "$WORK/exp.json" --set train.steps=4 --set train.warmup_steps=10 --set "schedule=[]" --out "$WORK/warm" --quiet

# Ctrl-C: the run saves a checkpoint and exits with 130.
"$CLI" train --config "$WORK/exp.json" --set train.steps=100000 --out "$WORK/int" --quiet &
pid=$!
for _ in $(seq 1 300); do [[ -s "$WORK/int/metrics.jsonl" ]] && break; sleep 0.1; done
kill -INT $pid
rc=0; wait $pid || rc=$?
[[ $rc -eq 130 && -n "$(ls "$WORK/int/checkpoints" 2>/dev/null)" ]] && pass "Ctrl-C saves a checkpoint and exits 130" || fail "Ctrl-C: rc=$rc"

# SIGTERM (a scheduler's or systemd's stop) does the same as Ctrl-C: before, it ended the run
# without the checkpoint.
"$CLI" train --config "$WORK/exp.json" --set train.steps=100000 --out "$WORK/term" --quiet &
pid=$!
for _ in $(seq 1 300); do [[ -s "$WORK/term/metrics.jsonl" ]] && break; sleep 0.1; done
kill -TERM $pid
rc=0; wait $pid || rc=$?
saved=$(ls "$WORK/term/checkpoints" 2>/dev/null | grep -c '^step-' || true)
[[ $rc -eq 130 && $saved -ge 1 ]] && pass "SIGTERM saves a checkpoint and exits 130" || fail "SIGTERM: rc=$rc, $saved checkpoints"
finish
