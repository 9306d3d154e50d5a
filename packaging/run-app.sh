#!/usr/bin/env bash
# `make run`: the GUI when a display exists, otherwise the headless demo.
set -euo pipefail
build="${1:-build}"
if [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" && -x "$build/headlab" ]]; then
  exec "$build/headlab"
fi
out="${HEADLAB_DEMO_DIR:-$PWD/demo-run}"
echo "No display: running the headless demo into $out"
exec "$build/headlab-cli" demo --out "$out"
