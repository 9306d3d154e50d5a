#!/usr/bin/env bash
# The GPU check: build HeadLab's engine against the LibTorch of a machine's Python PyTorch
# (CUDA), run the tests and the GPU benchmark rows, and write one JSON report.
#
#   packaging/gpu-check.sh prepare      on this (Debian) machine: copy the header-only
#                                       dependencies and GoogleTest's source into third_party/
#                                       (ignored by git; carried to the GPU machine)
#   packaging/gpu-check.sh run [OUT]    on the GPU machine (no Qt, no network, no Debian
#                                       packages): configure, build core + CLI + bench + core
#                                       tests, run them, bench 10M and 125M on CUDA, write
#                                       OUT/gpu-report.json (OUT defaults to $OUT or gpu-out/)
#
# Without CUDA (`torch.cuda.is_available()` false) `run` is a dry run: it builds and runs the
# same steps on the CPU, the CUDA tests skip with their reason, and the report says so.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

prepare() {
  local inc=third_party/include
  mkdir -p "$inc"
  cp -r /usr/include/nlohmann "$inc/"
  cp -r /usr/include/CLI "$inc/"
  # Only the Boost headers that Boost.Math's Student-t distribution includes (~4 MB), found
  # by the compiler itself rather than listed by hand.
  echo '#include <boost/math/distributions/students_t.hpp>' |
    g++ -std=c++17 -M -x c++ - | tr ' \\' '\n\n' | grep '^/usr/include/boost/' | sort -u |
    while read -r header; do
      mkdir -p "$inc/$(dirname "${header#/usr/include/}")"
      cp "$header" "$inc/${header#/usr/include/}"
    done
  rm -rf third_party/googletest
  cp -r /usr/src/googletest third_party/googletest
  du -sh third_party
}

run_check() {
  local out=${1:-${OUT:-gpu-out}}
  mkdir -p "$out"
  out=$(cd "$out" && pwd)
  local python=${PYTHON:-python3}
  local prefix cuda jobs
  prefix=$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')
  cuda=$("$python" -c 'import torch; print(int(torch.cuda.is_available()))')
  jobs=$(nproc)
  local start=$SECONDS
  echo "== configure against $prefix (CUDA available: $cuda)"
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DHEADLAB_WITH_GUI=OFF \
        -DCMAKE_PREFIX_PATH="$prefix" >"$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; exit 1; }
  echo "== build ($jobs jobs)"
  cmake --build build-gpu -j "$jobs" --target headlab-cli headlab-bench headlab_core_tests \
        >"$out/build.log" 2>&1 || { grep -m 20 -A 5 'error' "$out/build.log"; exit 1; }
  local built=$SECONDS
  echo "== core tests"
  local tests_rc=0
  # The CUDA tests (names contain Cuda) run first: they are what this machine is for.
  OMP_NUM_THREADS=4 build-gpu/tests/headlab_core_tests --gtest_filter='*Cuda*' \
    --gtest_output="json:$out/cuda-tests.json" >"$out/cuda-tests.log" 2>&1 || tests_rc=$?
  tail -3 "$out/cuda-tests.log"
  OMP_NUM_THREADS=4 build-gpu/tests/headlab_core_tests --gtest_filter='-*Cuda*' \
    --gtest_output="json:$out/core-tests.json" >"$out/core-tests.log" 2>&1 || tests_rc=$?
  tail -3 "$out/core-tests.log"
  echo "== bench"
  local bench_args=(--device cpu --quick)  # the dry run: tiny sizes
  if [[ $cuda == 1 ]]; then bench_args=(--device cuda --filter 10m-s256,125m-s1024); fi
  build-gpu/app/headlab-bench "${bench_args[@]}" --python "$python" \
    --out "$out/bench.json" >"$out/bench.log" 2>&1 || tests_rc=$?
  tail -25 "$out/bench.log"
  "$python" - "$out" "$cuda" "$((built - start))" "$((SECONDS - start))" "$tests_rc" <<'PY'
import json, os, sys
out, cuda, build_s, total_s, rc = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def tests(name):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return None
    j = json.load(open(path))
    return {"tests": j.get("tests"), "failures": j.get("failures"), "disabled": j.get("disabled")}
import torch
report = {"cuda": cuda, "card": torch.cuda.get_device_name(0) if cuda else None, "torch": torch.__version__,
          "build_s": build_s, "total_s": total_s, "exit": rc,
          "cuda_tests": tests("cuda-tests.json"), "core_tests": tests("core-tests.json"),
          "bench": json.load(open(os.path.join(out, "bench.json"))) if os.path.exists(os.path.join(out, "bench.json")) else None}
json.dump(report, open(os.path.join(out, "gpu-report.json"), "w"), indent=1)
print(json.dumps({k: v for k, v in report.items() if k != "bench"}))
PY
  return "$tests_rc"
}

case ${1:-} in
  prepare) prepare ;;
  run) shift; run_check "$@" ;;
  *) sed -n '2,14p' "$0"; exit 2 ;;
esac
