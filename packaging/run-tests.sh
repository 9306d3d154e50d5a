#!/usr/bin/env bash
# Runs every test suite of a configured, built tree. GUI tests use the offscreen platform.
set -euo pipefail
build="${1:-build}"
export QT_QPA_PLATFORM=offscreen
cd "$build"
ctest --output-on-failure -j "$(nproc)" --timeout 900
