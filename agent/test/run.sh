#!/bin/sh
# Builds the agent's pure parts (agent/src/link.c) with the host's cc and runs the tests.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../../build/agent/test"
mkdir -p "$out"
${CC:-cc} -std=c11 -O1 -g -Wall -Wextra -Werror -fsanitize=address,undefined -fno-sanitize-recover=all \
  -I "$here/../src" "$here/test_link.c" "$here/../src/link.c" -o "$out/test_link"
"$out/test_link"
