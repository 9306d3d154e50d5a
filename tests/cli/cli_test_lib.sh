# Shared helpers for the CLI end-to-end tests: `source` it after setting CLI.
set -euo pipefail
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/headlab-cli-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# expect_exit CODE PHRASE -- command...: runs the command, checks its exit code and that
# stderr+stdout contain PHRASE.
expect_exit() {
  local code=$1 phrase=$2; shift 3
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  if [[ $rc -ne $code ]]; then fail "expected exit $code, got $rc: $* -> $out"; return; fi
  if [[ -n "$phrase" && "$out" != *"$phrase"* ]]; then fail "expected '$phrase' in output of $*: $out"; return; fi
  pass "exit $code${phrase:+ with '$phrase'}: ${*:1:3}"
}

# The scripts that compare with a PyTorch reference skip (77, ctest's SKIP_RETURN_CODE) without it.
require_python_torch() {
  if ! $PY -c "import torch" 2>/dev/null; then
    echo "SKIP: $PY has no torch (install python3-torch: packaging/install-deps.sh)"
    exit 77
  fi
}

finish() {
  if [[ $failures -gt 0 ]]; then echo "$failures check(s) failed"; exit 1; fi
  echo "all checks passed"
}
