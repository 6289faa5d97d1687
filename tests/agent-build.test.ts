/**
 * The agent's own checks (agent/README.md), inside `npm test`, each skipped (toolSkip: not with
 * POSWIPE_REQUIRE_ALL=1) when its tool is missing:
 * - the committed binaries and manifest are what a rebuild gives, byte for byte
 *   (`node scripts/build-agent.mjs --check`; arm-none-eabi-gcc and wasm2c);
 * - the native tests of link.c and of the engine as the agent hosts it (agent/test/run.sh; cc, wasm2c);
 * - the libFuzzer harnesses of the frame receiver and the parameter block parser, briefly
 *   (agent/fuzz/run.sh, 20,000 runs each; clang). The long run is `npm run fuzz`.
 * They build into build/agent/ (the check's rebuild, the test and fuzz binaries), never agent/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT, toolSkip } from './helpers';

/** runs of each libFuzzer harness here; `npm run fuzz` runs 1,000,000 */
const SHORT_FUZZ_RUNS = 20_000;
const TIMEOUT_MS = 120_000;

function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).status === 0;
}

function missing(tools: string[]): string | false {
  const gone = tools.filter((t) => !has(t));
  return toolSkip(gone.length ? `${gone.join(', ')} not installed` : false);
}

const engine = path.join(ROOT, 'build', 'terminal.wasm');

function run(cmd: string, args: string[]): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', timeout: TIMEOUT_MS });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

test(
  'the committed agent binaries and manifest are byte-identical with a rebuild (build-agent --check)',
  { skip: missing(['arm-none-eabi-gcc', 'wasm2c']), timeout: TIMEOUT_MS },
  () => {
    assert.ok(existsSync(engine), 'build/terminal.wasm (npm run build)');
    const r = run(process.execPath, ['scripts/build-agent.mjs', '--check']);
    assert.equal(r.code, 0, r.out);
  },
);

test(
  "the agent's native tests pass: link.c, and the engine as the agent hosts it (agent/test/run.sh, ASan + UBSan)",
  { skip: missing(['cc', 'wasm2c']), timeout: TIMEOUT_MS },
  () => {
    assert.ok(existsSync(engine), 'build/terminal.wasm (npm run build)');
    const r = run('sh', ['agent/test/run.sh']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /agent link tests: all checks passed/);
    assert.match(r.out, /agent engine host tests: all checks passed/, 'the engine host test ran, not skipped');
  },
);

test(
  `the agent's libFuzzer harnesses (frame receiver, parameter block) find nothing in ${SHORT_FUZZ_RUNS} runs each`,
  { skip: missing(['clang']), timeout: TIMEOUT_MS },
  () => {
    const r = run('sh', ['agent/fuzz/run.sh', String(SHORT_FUZZ_RUNS)]);
    assert.equal(r.code, 0, r.out);
    for (const h of ['fuzz_link', 'fuzz_params']) assert.match(r.out, new RegExp(`${h}: ${SHORT_FUZZ_RUNS} runs in`), `${h} ran`);
  },
);
