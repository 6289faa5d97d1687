/**
 * `npm run bench` (node build/bench/run.js): kernel throughput, the module's footprint, end to end
 * on the emulated terminal and the real time of the erase command, side by side in one run.
 * Prints a table and writes JSON (bench/results.json; bench/README.md explains every figure).
 *
 *   node build/bench/run.js [--json] [--out <file>] [--rounds <n>] [--cli-runs <n>] [--quick] [--callgrind]
 *
 *   --json        print the JSON on stdout (the table goes to stderr); the file is written too
 *   --out <file>  where to write the JSON (default bench/results.json at the package root)
 *   --rounds <n>  timed runs per kernel (default 9)
 *   --cli-runs <n>  spawned erase commands per board (default 3)
 *   --quick       16 MiB instead of 64, 3 rounds, 1 CLI run: a smoke run, not for comparisons
 *   --callgrind   also count instructions per byte of the SHA-256 candidates under valgrind
 *                 (stable on a busy machine; adds about a minute and a half)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageRoot } from '../host/engine/module';
import { haveValgrind, instructionsPerByte } from './callgrind';
import { timeCliErase, type CliTime } from './cli-time';
import { benchCpu } from './cpu';
import { measureBoard, type BoardE2e } from './e2e';
import { measureFootprint } from './footprint';
import { BLOCK, measureKernels } from './kernels';
import { formatTable, targetsOf } from './report';
import type { BenchResults } from './results';
import type { Summary } from './stats';

interface Args {
  json: boolean;
  out: string;
  rounds: number;
  cliRuns: number;
  totalMiB: number;
  callgrind: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { json: false, out: path.join(packageRoot(), 'bench', 'results.json'), rounds: 9, cliRuns: 3, totalMiB: 64, callgrind: false };
  const int = (v: string | undefined, what: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${what} needs a positive integer, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') a.json = true;
    else if (arg === '--out') a.out = path.resolve(argv[++i] ?? '');
    else if (arg === '--rounds') a.rounds = int(argv[++i], '--rounds');
    else if (arg === '--cli-runs') a.cliRuns = int(argv[++i], '--cli-runs');
    else if (arg === '--quick') Object.assign(a, { rounds: 3, cliRuns: 1, totalMiB: 16 });
    else if (arg === '--callgrind') a.callgrind = true;
    else throw new Error(`unknown option ${arg} (use --json, --out <file>, --rounds <n>, --cli-runs <n>, --quick, --callgrind)`);
  }
  return a;
}

/** The end-to-end boards, each with a test board of the same flash whose bootloader has Get Checksum. */
const E2E_BOARDS: [string, string | null][] = [
  ['stm32f407', 'stm32f407-checksum.json'],
  ['stm32f429', null],
];

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const started = process.hrtime.bigint();

  log('bench: kernels');
  const k = await measureKernels({ totalBytes: args.totalMiB << 20, rounds: args.rounds, log });
  let ipb: Record<string, number> | null = null;
  if (args.callgrind) {
    if (haveValgrind()) ipb = instructionsPerByte(log);
    else log('  --callgrind: valgrind not found, no instruction counts');
  }
  log('bench: module footprint');
  const footprint = measureFootprint('stm32f407');
  log('bench: end to end on the emulated terminal');
  const e2e: Record<string, BoardE2e> = {};
  for (const [id, checksumBoard] of E2E_BOARDS) {
    log(`  ${id}`);
    e2e[id] = await measureBoard(id, checksumBoard);
  }
  log('bench: the instruction-level emulated terminal (the committed f4 agent under Unicorn)');
  const instructionLevel = await benchCpu(log);
  log('bench: real time of the erase command');
  const cli: Record<string, CliTime | { error: string }> = {};
  for (const [id] of E2E_BOARDS) {
    log(`  ${id}: ${args.cliRuns} run(s)`);
    try {
      const c = timeCliErase(id, args.cliRuns);
      cli[id] = c;
      e2e[id].realS = c.median;
    } catch (err) {
      // the other figures stand on their own: record why this one is missing and go on
      cli[id] = { error: (err as Error).message };
      log(`  ${(err as Error).message}`);
    }
  }

  const m = (s: Record<string, Summary>, name: string) => s[name].median;
  const results: BenchResults = {
    version: 1,
    date: new Date().toISOString(),
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    platform: `${process.platform}-${process.arch}`,
    config: { blockSize: BLOCK, totalMiB: args.totalMiB, rounds: args.rounds, cliRuns: args.cliRuns },
    sha256: {
      engineMiBs: m(k.sha256, 'engine'),
      simdMiBs: m(k.sha256, 'simd'),
      simdKernelMiBs: m(k.sha256, 'simdKernel'),
      hashWasmMiBs: m(k.sha256, 'hashWasm'),
      asSha256MiBs: m(k.sha256, 'asSha256'),
      nodeMiBs: m(k.sha256, 'node'),
      ratios: k.sha256Ratios as BenchResults['sha256']['ratios'],
      runs: k.sha256,
      instructionsPerByte: ipb,
    },
    blank: { engineMiBs: m(k.blank, 'engine'), bufferCompareMiBs: m(k.blank, 'bufferCompare'), runs: k.blank },
    pattern: {
      engineXoshiroMiBs: m(k.pattern, 'engineXoshiro'),
      engineConstantMiBs: m(k.pattern, 'engineConstant'),
      bufferFillMiBs: m(k.pattern, 'bufferFill'),
      randomFillMiBs: m(k.pattern, 'randomFill'),
      hostXoshiroMiBs: m(k.pattern, 'hostXoshiro'),
      runs: k.pattern,
    },
    ...footprint,
    e2e,
    instructionLevel,
    cli,
    targets: [],
    durationS: 0,
  };
  results.targets = targetsOf(results);
  results.durationS = Number(process.hrtime.bigint() - started) / 1e9;

  const json = `${JSON.stringify(results, null, 2)}\n`;
  fs.mkdirSync(path.dirname(args.out), { recursive: true });
  fs.writeFileSync(args.out, json);
  const table = formatTable(results);
  if (args.json) {
    process.stdout.write(json);
    log(`\n${table}\n\nJSON written to ${args.out}`);
  } else {
    process.stdout.write(`\n${table}\n\nJSON written to ${args.out} (${results.durationS.toFixed(0)} s)\n`);
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err) => {
      process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
