#!/usr/bin/env bash
# `make run`: the GUI when a display exists, otherwise the headless demo: train the default
# preset with headlab-cli, then render every figure of the run with `headlab --export-figures`.
#   HEADLAB_DEMO_DIR  where the run goes (default: ./demo-run/induction-kha-TIME)
#   HEADLAB_DEMO_STEPS  training steps (default: the preset's 3000, about a CPU minute)
set -euo pipefail
build="${1:-build}"
preset=induction-kha
if [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" && -x "$build/app/headlab" ]]; then
  exec "$build/app/headlab" --demo
fi

run_dir="${HEADLAB_DEMO_DIR:-$PWD/demo-run/$preset-$(date +%Y%m%d-%H%M%S)}"
steps=()
if [[ -n "${HEADLAB_DEMO_STEPS:-}" ]]; then steps=(--steps "$HEADLAB_DEMO_STEPS"); fi
echo "No display: headless demo. Training preset $preset into $run_dir"
"$build/app/headlab-cli" train --preset "$preset" "${steps[@]}" --out "$run_dir"

if [[ -x "$build/app/headlab" ]]; then
  echo "Rendering the figures (loss chart, attention maps, cross-head matrices)"
  QT_QPA_PLATFORM=offscreen "$build/app/headlab" --export-figures "$run_dir" --out "$run_dir/figures" \
    --format png,svg,pdf
else
  echo "(the GUI was not built: no figures; install the Qt packages with packaging/install-deps.sh)"
fi

checkpoint=$(ls -d "$run_dir"/checkpoints/step-* 2>/dev/null | sort -t- -k2 -n | tail -n 1 || true)
cat <<MSG

Done. Everything is in $run_dir:
  curves and events   $run_dir/metrics.jsonl, $run_dir/events.jsonl
  final model         $run_dir/model
  newest checkpoint   ${checkpoint:-none}
  figures             $run_dir/figures
Open it in the app on a machine with a display:  $build/app/headlab $run_dir
MSG
