#!/usr/bin/env bash
# Reproduce the papers in miniature: the multi-seed comparisons behind the README's table.
#   packaging/reproduce-papers.sh [BUILD_DIR] [OUT_DIR] [SEEDS]
# Every number comes from headlab-cli (compare, compress, eval, train --init-from) on the
# paper-grammar preset; the table is printed as Markdown at the end. ~15 CPU minutes with 5
# seeds on 2 cores.
set -euo pipefail
BUILD=${1:-build}
OUT=${2:-runs/papers}
SEEDS=${3:-5}
CLI="$BUILD/app/headlab-cli"
[[ -x "$CLI" ]] || { echo "reproduce-papers: build first ($CLI is missing)" >&2; exit 2; }
if [[ -e "$OUT" ]]; then echo "reproduce-papers: $OUT exists; remove it or give another folder" >&2; exit 2; fi
mkdir -p "$OUT"

echo "== KHA vs baseline"
"$CLI" compare --preset paper-grammar --variants baseline,kha-linear,kha-mlp --seeds "$SEEDS" --out "$OUT/kha" | tail -n 5
echo "== MEA with and without its group norm"
"$CLI" compare --preset paper-grammar --variants baseline,mea,mea-no-norm --seeds "$SEEDS" --out "$OUT/mea" | tail -n 5
echo "== MEA learning-rate sweep"
"$CLI" compare --preset paper-grammar --variants baseline,mea --seeds "$SEEDS" --sweep train.lr=1e-3,3e-3,1e-2 \
  --out "$OUT/mea-lr" | tail -n 8

echo "== Virtual heads: compress MEA's 4 KV heads to 2, then fine-tune 100 steps"
cat > "$OUT/data.json" <<'JSON'
{"task": "grammar"}
JSON
eval_loss() { "$CLI" eval --model "$1" --data "$OUT/data.json" --batches 8 --batch-size 16 --seq-len 64 | awk '/^loss/ {print $2}'; }
echo "seed,trained,compressed,fine_tuned" > "$OUT/virtual-heads.csv"
for dir in "$OUT"/mea/mea/seed-*; do
  seed=${dir##*seed-}
  "$CLI" compress --model "$dir/model" --kv-heads 2 --out "$OUT/virtual/seed-$seed/compressed" > /dev/null
  "$CLI" train --preset paper-grammar --init-from "$OUT/virtual/seed-$seed/compressed" --seed "$seed" --steps 100 \
    --set train.warmup_steps=10 --set train.lr=1e-3 --out "$OUT/virtual/seed-$seed/fine-tuned" --quiet > /dev/null
  echo "$seed,$(eval_loss "$dir/model"),$(eval_loss "$OUT/virtual/seed-$seed/compressed"),$(eval_loss "$OUT/virtual/seed-$seed/fine-tuned/model")" \
    >> "$OUT/virtual-heads.csv"
done

"$CLI" stats --csv "$OUT/virtual-heads.csv" --baseline trained > "$OUT/virtual-heads.json"
python3 "$(dirname "$0")/papers_table.py" "$OUT"
