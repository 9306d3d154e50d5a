#!/usr/bin/env bash
# Data-parallel training on c10d's Gloo process group (issue #15), over loopback: 2 ranks
# against 1 with the same global batch (losses and final weights within 1e-5), with the
# allreduce overlapped with the backward in buckets (c10d Reducer) or after it, the torchrun
# environment launch by hand and under PyTorch's own torchrun, resume of a 2-rank run on 1 rank, a killed rank, and a bad rendezvous.
CLI=$1
source "$(dirname "$0")/cli_test_lib.sh"

if "$CLI" train --nproc 2 --config /nonexistent 2>&1 | grep -q "built without Gloo"; then
  echo "skip: this build has no data-parallel training (libgloo-dev missing)"; exit 77
fi

cat > "$WORK/exp.json" <<'JSON'
{"model": {"d_model": 32, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "head_dim": 8, "d_ff": 64,
           "attention": "gqa", "max_seq_len": 64, "qk_norm": true,
           "interaction": {"kha": {"q": "linear", "k": "linear", "v": "linear"}}},
 "data": {"task": "grammar"},
 "train": {"steps": 30, "batch_size": 8, "seq_len": 32, "eval_every": 10, "checkpoint_every": 10, "seed": 5,
           "device": "cpu", "lr": 3e-3},
 "schedule": [{"step": 12, "action": "freeze", "module": "kha", "layers": [1]}]}
JSON

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Compares two run directories: every logged loss and val loss, and the final weights.
same_run() {
  $PY - "$1" "$2" "$3" <<'PYEOF'
import json, struct, sys
import numpy as np
a, b, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])
read = lambda p: [json.loads(l) for l in open(p)]
ma, mb = read(f"{a}/metrics.jsonl"), read(f"{b}/metrics.jsonl")
assert [m["step"] for m in ma] == [m["step"] for m in mb], "different steps logged"
worst = 0.0
for x, y in zip(ma, mb):
    for k in ("loss", "val_loss"):
        if k in x or k in y:
            worst = max(worst, abs(x[k] - y[k]) / abs(x[k]))
assert worst <= tol, f"loss differs by {worst:.2e} relative"
def weights(d):
    raw = open(f"{d}/model/model.safetensors", "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__": continue
        s, e = t["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + s:8 + n + e], dtype=np.float32).reshape(t["shape"])
    return out
wa, wb = weights(a), weights(b)
assert wa.keys() == wb.keys()
wworst = max(float(np.max(np.abs(wa[k] - wb[k])) / max(1e-12, float(np.max(np.abs(wa[k]))))) for k in wa)
assert wworst <= tol, f"weights differ by {wworst:.2e} relative"
print(f"{len(ma)} steps, losses within {worst:.1e}, weights within {wworst:.1e} (relative)")
PYEOF
}

"$CLI" train --config "$WORK/exp.json" --out "$WORK/one" --quiet >/dev/null
out=$("$CLI" train --config "$WORK/exp.json" --out "$WORK/two" --nproc 2 --quiet 2>&1) || fail "--nproc 2: $out"
[[ "$out" == *"data-parallel: 2 ranks (Gloo), 8 rows per step in all"* ]] && pass "--nproc 2 says how it trains" || fail "no data-parallel line: $out"
res=$(same_run "$WORK/one" "$WORK/two" 1e-5) && pass "2 ranks = 1 rank with the same global batch: $res" || fail "2 ranks vs 1: $res"
[[ "$out" == *"gradients allreduced in 25 MiB buckets during the backward (c10d Reducer)"* ]] &&
  pass "--nproc 2 overlaps the allreduce with the backward by default" || fail "no overlap line: $out"
# The same run with the allreduce after the backward, and with 4 KiB buckets (many per step).
HEADLAB_DIST_OVERLAP=0 "$CLI" train --config "$WORK/exp.json" --out "$WORK/flat" --nproc 2 --quiet >/dev/null ||
  fail "HEADLAB_DIST_OVERLAP=0 --nproc 2"
res=$(same_run "$WORK/one" "$WORK/flat" 1e-5) && pass "one allreduce after the backward = 1 rank: $res" || fail "flat: $res"
HEADLAB_DIST_BUCKET_MB=0.004 "$CLI" train --config "$WORK/exp.json" --out "$WORK/buckets" --nproc 2 --quiet >/dev/null ||
  fail "HEADLAB_DIST_BUCKET_MB=0.004 --nproc 2"
res=$(same_run "$WORK/one" "$WORK/buckets" 1e-5) && pass "4 KiB buckets = 1 rank: $res" || fail "small buckets: $res"
# Gradient accumulation: the first micro-batch stays local (DDP's no_sync), the second reduces
# both; the freeze at step 12 makes the Reducer anew.
"$CLI" train --config "$WORK/exp.json" --set train.grad_accum=2 --set train.steps=16 --out "$WORK/acc1" --quiet >/dev/null
"$CLI" train --config "$WORK/exp.json" --set train.grad_accum=2 --set train.steps=16 --out "$WORK/acc2" --nproc 2 --quiet \
  >/dev/null || fail "grad_accum 2 on 2 ranks"
res=$(same_run "$WORK/acc1" "$WORK/acc2" 1e-5) && pass "grad_accum 2, 2 ranks = 1 rank: $res" || fail "grad_accum: $res"
expect_exit 2 "HEADLAB_DIST_OVERLAP='yes' must be 1" -- \
  env HEADLAB_DIST_OVERLAP=yes "$CLI" train --config "$WORK/exp.json" --out "$WORK/badoverlap" --nproc 2
[[ -e "$WORK/two/checkpoints/step-30" && $(grep -c '"kind": *"resume"' "$WORK/two/events.jsonl" || true) -eq 0 ]] &&
  pass "rank 0 alone wrote the run directory" || fail "run directory of the 2-rank run"

# The environment torchrun and Slurm set: two processes started by hand.
port=$(free_port)
for rank in 0 1; do
  RANK=$rank WORLD_SIZE=2 LOCAL_RANK=$rank MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
    "$CLI" train --config "$WORK/exp.json" --out "$WORK/env" --quiet >/dev/null 2>"$WORK/env-$rank.err" &
done
wait && res=$(same_run "$WORK/two" "$WORK/env" 1e-6) && pass "RANK/WORLD_SIZE launch = --nproc: $res" || fail "env launch: $res $(cat "$WORK"/env-*.err)"

# PyTorch's own launcher: torchrun's elastic agent on one node with 2 workers (every rank a
# client of the agent's store), and two agents as two "nodes" over loopback, as on a cluster.
if $PY -c "import torch.distributed.run" 2>/dev/null; then
  torchrun=("$PY" "$(dirname "$0")/torchrun_debian.py")
  port=$(free_port)
  "${torchrun[@]}" --no_python --nnodes 1 --nproc_per_node 2 --master_addr 127.0.0.1 --master_port "$port" \
    "$CLI" train --config "$WORK/exp.json" --out "$WORK/torchrun" --quiet >"$WORK/torchrun.log" 2>&1 &&
    res=$(same_run "$WORK/two" "$WORK/torchrun" 1e-6) && pass "torchrun, 1 node x 2 workers = --nproc 2: $res" ||
    fail "torchrun 1 node: $res $(tail -20 "$WORK/torchrun.log")"
  port=$(free_port)
  for node in 0 1; do
    "${torchrun[@]}" --no_python --nnodes 2 --node_rank $node --nproc_per_node 1 --master_addr 127.0.0.1 \
      --master_port "$port" "$CLI" train --config "$WORK/exp.json" --out "$WORK/nodes" --quiet \
      >"$WORK/nodes-$node.log" 2>&1 &
  done
  wait && res=$(same_run "$WORK/two" "$WORK/nodes" 1e-6) && pass "torchrun, 2 nodes x 1 worker = --nproc 2: $res" ||
    fail "torchrun 2 nodes: $res $(tail -20 "$WORK"/nodes-*.log)"
else
  echo "skip: $PY has no torch.distributed.run (python3-torch), torchrun launches not checked"
fi

# A 2-rank run stopped at step 15 (checkpoint 15) resumes on 1 rank: the same run.
"$CLI" train --config "$WORK/exp.json" --out "$WORK/half" --nproc 2 --stop-after 15 --quiet >/dev/null ||
  fail "--nproc 2 --stop-after 15"
"$CLI" train --resume "$WORK/half" --quiet >/dev/null || fail "resume on 1 rank"
res=$(same_run "$WORK/one" "$WORK/half" 1e-5) && pass "2 ranks to step 15, then 1 rank: $res" || fail "resume 2 -> 1: $res"

# A rank killed mid-run: the others stop at once with a message naming it, the directory resumes.
HEADLAB_DIST_TIMEOUT_S=20 "$CLI" train --config "$WORK/exp.json" --set train.steps=100000 --set train.checkpoint_every=5 \
  --set "schedule=[]" --out "$WORK/killed" --nproc 2 --quiet >"$WORK/killed.out" 2>&1 &
launcher=$!
for _ in $(seq 1 600); do [[ -e "$WORK/killed/checkpoints/step-10" ]] && break; sleep 0.1; done
victim=""
for pid in $(pgrep -P $launcher); do
  tr '\0' '\n' <"/proc/$pid/environ" | grep -qx "RANK=1" && victim=$pid
done
[[ -n "$victim" ]] && kill -9 "$victim"
start=$SECONDS
rc=0; wait $launcher || rc=$?
took=$((SECONDS - start))
msg=$(cat "$WORK/killed.out")
[[ $rc -eq 137 && "$msg" == *"rank 1 of 2"*"ended with signal Killed"* && $took -le 15 ]] &&
  pass "a killed rank ends the run in ${took} s, named: $(grep -m1 'rank 1 of 2' <<<"$msg")" ||
  fail "killed rank: rc=$rc after ${took} s: $msg"
newest=$(ls "$WORK/killed/checkpoints" | grep '^step-[0-9]*$' | sed 's/step-//' | sort -n | tail -1)
expect_exit 0 "" -- "$CLI" train --resume "$WORK/killed" --steps $((newest + 2)) --quiet

# Ctrl-C reaches every rank: they stop after the same step, rank 0 saves it, exit 130.
"$CLI" train --config "$WORK/exp.json" --set train.steps=100000 --set "schedule=[]" --out "$WORK/int" --nproc 2 --quiet \
  >"$WORK/int.out" 2>&1 &
launcher=$!
for _ in $(seq 1 600); do [[ -s "$WORK/int/metrics.jsonl" ]] && break; sleep 0.1; done
kill -INT $launcher
rc=0; wait $launcher || rc=$?
last=$(tail -1 "$WORK/int/metrics.jsonl" | $PY -c 'import json,sys; print(json.load(sys.stdin)["step"])')
[[ $rc -eq 130 && -e "$WORK/int/checkpoints/step-$last" ]] && pass "Ctrl-C stops both ranks at step $last with a checkpoint, exit 130" ||
  fail "Ctrl-C with 2 ranks: rc=$rc, last step $last: $(cat "$WORK/int.out")"

# A bad rendezvous is exit 2 with the address, never a hang.
port=$(free_port)
$PY -c "import socket,time; s=socket.socket(); s.bind(('127.0.0.1', $port)); s.listen(); time.sleep(60)" &
squatter=$!
sleep 0.5
expect_exit 2 "rank 0 cannot serve the rendezvous at MASTER_ADDR:MASTER_PORT = 127.0.0.1:$port" -- \
  env RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$CLI" train --config "$WORK/exp.json" --out "$WORK/busy"
kill $squatter
port=$(free_port)  # no rank 0 there
expect_exit 2 "rank 1 cannot reach rank 0 at MASTER_ADDR:MASTER_PORT = 127.0.0.1:$port within 3 s" -- \
  env RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port HEADLAB_DIST_TIMEOUT_S=3 \
  "$CLI" train --config "$WORK/exp.json" --out "$WORK/alone"
expect_exit 2 "RANK='5' must be an integer from 0 to 1" -- \
  env RANK=5 WORLD_SIZE=2 "$CLI" train --config "$WORK/exp.json" --out "$WORK/r5"
expect_exit 2 "train.batch_size (1) is smaller than the 2 ranks" -- \
  "$CLI" train --config "$WORK/exp.json" --set train.batch_size=1 --out "$WORK/b1" --nproc 2
[[ ! -e "$WORK/busy" && ! -e "$WORK/alone" && ! -e "$WORK/r5" && ! -e "$WORK/b1" && ! -e "$WORK/badoverlap" ]] && pass "no run directory left by a bad rendezvous" ||
  fail "a bad rendezvous left a run directory"
finish
