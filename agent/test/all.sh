#!/bin/sh
# Every check of the agent, in order, for CI or by hand:
#   the reproducible rebuild against the committed binaries (npm run check:agent),
#   the native tests, a short fuzz run, the QEMU smoke test (f4), the Unicorn smoke tests.
# A missing tool skips its step with one line, unless POSWIPE_REQUIRE_ALL=1 (then it fails).
#   agent/test/all.sh [fuzz runs, default 20000]
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
runs=${1:-20000}
failed=0

skip() {
  if [ "${POSWIPE_REQUIRE_ALL:-}" = 1 ]; then
    echo "FAIL $1: $2 (POSWIPE_REQUIRE_ALL=1)"
    failed=1
  else
    echo "skip $1: $2"
  fi
}

step() {
  name=$1
  shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; failed=1; fi
}

cd "$root"
if command -v arm-none-eabi-gcc >/dev/null && command -v wasm2c >/dev/null; then
  step "rebuild matches agent/bin + agent/manifest.json" node scripts/build-agent.mjs --check
else
  skip rebuild "arm-none-eabi-gcc or wasm2c missing"
fi
step "native tests" "$here/run.sh"
if command -v clang >/dev/null; then
  step "fuzz $runs runs each" "$root/agent/fuzz/run.sh" "$runs"
else
  skip fuzz "clang missing"
fi
if command -v qemu-system-arm >/dev/null && command -v python3 >/dev/null && [ -f build/agent/f4.bin ]; then
  step "QEMU smoke (f4)" python3 "$here/qemu_smoke.py"
else
  skip "QEMU smoke" "qemu-system-arm, python3 or build/agent/f4.bin missing"
fi
if [ -f /usr/include/unicorn/unicorn.h ] && command -v python3 >/dev/null && [ -f build/agent/f4.bin ]; then
  for part in f2 f4 f429 l4; do
    step "Unicorn smoke ($part)" python3 "$here/unicorn_smoke.py" "$part"
  done
else
  skip "Unicorn smoke" "libunicorn-dev (unicorn/unicorn.h), python3 or build/agent/*.bin missing"
fi
exit $failed
