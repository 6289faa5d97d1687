#!/bin/sh
# Builds the libFuzzer harnesses for the agent's pure parts and runs each for <runs> executions
# (default 100000). Exits non-zero on the first crash, leak or failed check.
#   agent/fuzz/run.sh 1000000
set -eu
runs=${1:-100000}
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../../build/agent/fuzz"
mkdir -p "$out"
for h in fuzz_link fuzz_params; do
  clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -I "$here/../src" "$here/$h.c" "$here/../src/link.c" -o "$out/$h"
  mkdir -p "$out/corpus-$h"
  start=$(date +%s)
  "$out/$h" -runs="$runs" -max_len=16384 -seed=1 "$out/corpus-$h" 2>"$out/$h.log" || {
    tail -40 "$out/$h.log" >&2
    echo "$h: FAILED (log: $out/$h.log)" >&2
    exit 1
  }
  echo "$h: $runs runs in $(( $(date +%s) - start )) s ($(grep -aE '^(Done|#[0-9]+)' "$out/$h.log" | tail -1))"
done
