#!/usr/bin/env bash
# headlab-bench --quick: finishes fast, and its JSON report has every section with finite,
# positive numbers (the reference's may be absent only when the report says why).
set -euo pipefail
BENCH=$1
SRC=$2
WORK=$(mktemp -d /tmp/headlab-bench-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
start=$(date +%s)
"$BENCH" --quick --out "$WORK/report.json" --reference-script "$SRC/tests/reference/headlab_reference.py"
elapsed=$(( $(date +%s) - start ))
echo "headlab-bench --quick took ${elapsed}s"
/usr/bin/python3 - "$WORK/report.json" "$elapsed" <<'PYEOF'
import json, math, sys
r = json.load(open(sys.argv[1]))
elapsed = int(sys.argv[2])
assert elapsed < 60, f"--quick took {elapsed}s (limit 60s)"
for key in ("machine", "method", "reference", "training", "probes", "inference", "targets"):
    assert key in r, f"missing section {key}"
def positive(x, what):
    assert isinstance(x, (int, float)) and math.isfinite(x) and x > 0, f"{what} = {x!r}"
m = r["machine"]
positive(m["threads"], "machine.threads"); positive(m["matmul_peak_flops"], "matmul_peak_flops")
assert m["blas"] and m["runtime"], m
variants = {t["variant"] for t in r["training"]}
assert {"mha", "gqa", "kha_linear", "kha_mlp", "mea", "talking_heads"} <= variants, variants
for t in r["training"]:
    w = f"training {t['size']}/{t['variant']}"
    for k in ("params", "tokens_per_s", "step_ms", "flops_per_step", "achieved_flops", "mfu", "peak_tensor_bytes"):
        positive(t[k], f"{w}.{k}")
    assert all(math.isfinite(x) and x > 0 for x in t["window_tokens_per_s"]), w
    assert math.isfinite(t["overhead_vs_mha"]), w
    if t["variant"] == "mha":
        if r["reference"]["available"]:
            ref = t["reference"]
            positive(ref["tokens_per_s"], f"{w}.reference.tokens_per_s")
            positive(ref["headlab_over_reference"], f"{w}.reference ratio")
            assert ref["params"] == t["params"], (ref["params"], t["params"])  # the same model
        else:
            assert r["reference"]["why"], "reference unavailable without a reason"
            print("note: reference unavailable:", r["reference"]["why"])
assert r["probes"], "no probe rows"
for p in r["probes"]:
    for k in ("probe_ms", "step_ms", "overhead_amortized"):
        positive(p[k], f"probe {p['variant']}.{k}")
assert {"mha", "mha_virtual_kv_heads", "kha_linear", "kha_linear_folded"} <= {i["variant"] for i in r["inference"]}
for i in r["inference"]:
    for k in ("kv_bytes_per_token", "kv_bytes_per_token_measured", "decode_tokens_per_s", "prefill_tokens_per_s"):
        positive(i[k], f"inference {i['variant']}.{k}")
inf = {i["variant"]: i for i in r["inference"]}
assert inf["mha"]["decode_time_vs_mha"] == 0, inf["mha"]
assert all(math.isfinite(i["decode_time_vs_mha"]) and i["decode_time_vs_mha"] > -1 for i in r["inference"])
assert inf["mha_virtual_kv_heads"]["kv_bytes_per_token"] * 2 == inf["mha"]["kv_bytes_per_token"]
assert inf["mha"]["kv_bytes_per_token_measured"] == inf["mha"]["kv_bytes_per_token"]
assert inf["kha_linear_folded"]["max_rel_logit_change"] < 1e-4
# The ratios are medians of per-window ratios (windows of one round are adjacent in time).
import statistics
rows = {(t["size"], t["variant"]): t for t in r["training"]}
for (size, variant), t in rows.items():
    base = rows[(size, "mha")]["window_tokens_per_s"]
    paired = statistics.median(b / v for b, v in zip(base, t["window_tokens_per_s"])) - 1
    assert abs(t["overhead_vs_mha"] - paired) < 1e-9, (size, variant, t["overhead_vs_mha"], paired)
    if "reference" in t and "tokens_per_s" in t["reference"]:
        ref = t["reference"]["window_tokens_per_s"]
        paired = statistics.median(h / f for h, f in zip(t["window_tokens_per_s"], ref))
        assert abs(t["reference"]["headlab_over_reference"] - paired) < 1e-9, (size, variant, paired)
assert rows[("quick-s32", "mha")]["overhead_vs_mha"] == 0
shards = r["training_shards"]["quick-s32"]
assert shards == min(m["threads"], 4), (shards, m["threads"])  # auto: one per thread, at most the batch rows
for t in r["targets"]:
    assert isinstance(t["met"], bool) and math.isfinite(t["value"]), t
print("report ok:", len(r["training"]), "training rows,", len(r["probes"]), "probe rows,", len(r["inference"]), "inference rows")
PYEOF

# --data-parallel 2 --quick: a 1-rank row and two 2-rank rows (allreduce after the backward,
# and during it) with positive throughput, the speed-up, and an allreduce share in (0, 1).
if "$BENCH" --data-parallel 2 --quick --out "$WORK/dp.json" >"$WORK/dp.txt" 2>&1; then
  cat "$WORK/dp.txt"
  /usr/bin/python3 - "$WORK/dp.json" <<'PYEOF'
import json, math, sys
dp = json.load(open(sys.argv[1]))["data_parallel"]
rows = dp["rows"]
assert [r["ranks"] for r in rows] == [1, 2, 2], rows
assert [r["overlap"] for r in rows] == [False, False, True], rows
for r in rows:
    assert math.isfinite(r["tokens_per_s"]) and r["tokens_per_s"] > 0, r
    assert r["params"] == rows[0]["params"], rows  # the same model on all
assert rows[0]["allreduce_share"] == 0 and 0 < rows[1]["allreduce_share"] < 1, rows
# Overlapped, the share times only the loss and stop vote (and the wait for the slower rank):
# a fraction, but no smaller than the flat one by rule, so no timing is compared here.
assert 0 < rows[2]["allreduce_share"] < 1, rows
best = max(rows[1]["tokens_per_s"], rows[2]["tokens_per_s"])
assert abs(dp["speedup"] - best / rows[0]["tokens_per_s"]) < 1e-9, dp
assert abs(dp["overlap_gain"] - rows[2]["tokens_per_s"] / rows[1]["tokens_per_s"]) < 1e-9, dp
print(f"data-parallel rows ok: speed-up {dp['speedup']:.2f}x")
PYEOF
elif grep -q "no data-parallel training" "$WORK/dp.txt"; then
  echo "data-parallel rows skipped: $(cat "$WORK/dp.txt")"
else
  cat "$WORK/dp.txt"; exit 1
fi
