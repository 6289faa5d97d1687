#!/bin/sh
# Native tests of the agent's pure parts (link.c) and of the engine as the agent hosts it
# (engine_host.c, wasm_rt.c, the wasm2c translation of build/terminal.wasm), with the host's cc.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root="$here/../.."
out="$root/build/agent/test"
mkdir -p "$out/gen"
CFLAGS="-std=c11 -O1 -g -Wall -Wextra -Werror -fsanitize=address,undefined -fno-sanitize-recover=all"
${CC:-cc} $CFLAGS -I "$here/../src" "$here/test_link.c" "$here/../src/link.c" -o "$out/test_link"
"$out/test_link"

if ! command -v wasm2c >/dev/null || [ ! -f "$root/build/terminal.wasm" ]; then
  echo "engine host test skipped: needs wasm2c and build/terminal.wasm (npm run build:engine)"
  exit 0
fi
wasm2c "$root/build/terminal.wasm" -n engine -o "$out/gen/engine.c"
# every linear-memory access bounds-checked, as on the part; the generated file's own warnings
# (unused locals, comma expressions) are wasm2c's
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
RT="-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0 -DNDEBUG"
${CC:-cc} -std=c11 -O1 -g -w $SAN $RT -I "$out/gen" -c "$out/gen/engine.c" -o "$out/engine.o"
${CC:-cc} $CFLAGS $RT -I "$here/../src" -I "$out/gen" "$here/test_engine.c" "$here/../src/engine_host.c" \
  "$here/../src/wasm_rt.c" "$out/engine.o" -o "$out/test_engine"
"$out/test_engine"
