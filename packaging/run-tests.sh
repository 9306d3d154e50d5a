#!/usr/bin/env bash
# Runs every test suite of a configured, built tree. GUI tests use the offscreen platform.
# Then, when Xvfb is installed, screenshots of the main window during a short demo run:
# build/screenshot.png at 1600x900 and build/screenshot-1366x768.png on a small laptop
# screen (docs/, the copies in the README, are the full 600-step preset:
# HEADLAB_SCREENSHOT_STEPS=600 make test).
set -euo pipefail
build="${1:-build}"
export QT_QPA_PLATFORM=offscreen
cd "$build"
ctest --output-on-failure -j "$(nproc)" --timeout 900

if [[ -x app/headlab ]] && command -v xvfb-run >/dev/null 2>&1; then
  steps="${HEADLAB_SCREENSHOT_STEPS:-150}"
  # file, window size, screen size: the README's view, and the smallest common laptop screen.
  for shot in "screenshot.png 1600x900 1600x1000" "screenshot-1366x768.png 1366x768 1366x768"; do
    read -r file size screen <<<"$shot"
    echo "Screenshot: a $steps-step demo at $size under Xvfb"
    shot_home=$(mktemp -d)
    # A fresh settings folder (no remembered layout) and the runs in a temporary folder.
    # This is also the one test of the app under a real X server: a failure fails the suite.
    shot_status=0
    env -u QT_QPA_PLATFORM XDG_CONFIG_HOME="$shot_home/config" \
        timeout 600 xvfb-run -a -s "-screen 0 ${screen}x24" \
        app/headlab --screenshot "$file" --screenshot-size "$size" --steps "$steps" --runs "$shot_home/runs" \
        || shot_status=$?
    rm -rf "$shot_home"
    if [[ $shot_status -ne 0 ]]; then
      echo "Screenshot FAILED (exit $shot_status): the app did not run under Xvfb" >&2
      exit 1
    fi
    echo "Screenshot saved to $PWD/$file"
  done
fi
