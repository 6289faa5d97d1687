/**
 * Two runtimes, same digests (docs/terminal-abi-guide.md, "Conformance"). The same jobs, over the
 * same fixed flash image with the same fixed nonce, run in:
 *   - `v8:terminal`: build/terminal.wasm (the module that gets signed) in Node's WebAssembly, its
 *     `hal` imports bound to a flash model in JavaScript;
 *   - `v8:selfcontained`: build/selfcontained.wasm (same engine sources, the HAL an in-memory flash
 *     inside the module) in Node's WebAssembly, driven through its numeric exports only;
 *   - `wasmtime:selfcontained`: the same bytes in wasmtime (the npm binding, in a child process:
 *     the binding aborts the process on some errors), driven through the same numeric exports;
 *   - `wasm2c:selfcontained`: the same bytes translated to C by wabt's wasm2c and built natively
 *     with the host's C compiler (wasm2c.ts), in a child process, through the same exports;
 * and every job's status, block count, blank flags, HAL event counts and every block's digest are
 * compared with what the host computes itself with node:crypto. A runtime that cannot be loaded
 * on this machine is reported as skipped with its reason, never counted as agreeing.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import type { Board, Range } from '../boards/types';
import {
  ABI_VERSION,
  EVENT_ERASED,
  EVENT_HASHED,
  EVENT_PROGRAMMED,
  blocksOf,
  encodeJob,
  expectedDigest,
  patternBytes,
  splitmix32,
  type JobSpec,
} from '../engine/abi';
import { instantiateEngine, loadEngineModule, packageRoot, wasm, type WasmInstance } from '../engine/module';
import { planErase } from '../plan/erase-plan';
import { buildWasm2c } from './wasm2c';
import { METHOD_SPECS, type MethodName } from '../plan/methods';

/** Fixed inputs of the check (docs/terminal-abi-guide.md lists them). */
export const CONFORMANCE_IMAGE_SEED = 0x504f5357; // "WSOP" little-endian: the flash image
export const CONFORMANCE_NONCE: Uint8Array = Uint8Array.from({ length: 32 }, (_, i) => (i * 0x1d + 0x07) & 0xff);
export const CONFORMANCE_PATTERN_SEED: [number, number, number, number] = [0x01234567, 0x89abcdef, 0xfedcba98, 0x76543210];

export type RuntimeName = 'v8:terminal' | 'v8:selfcontained' | 'wasmtime:selfcontained' | 'wasm2c:selfcontained';
export const RUNTIMES: readonly RuntimeName[] = ['v8:terminal', 'v8:selfcontained', 'wasmtime:selfcontained', 'wasm2c:selfcontained'];

/** One job of a case, with a label for reports. */
export interface LabeledJob {
  label: string;
  spec: JobSpec;
}

/** A flash, its fixed image and the jobs to run over it in order (each job sees the previous ones' effects). */
export interface ConformanceCase {
  name: string;
  flash: { base: number; size: number; erasedValue: number };
  imageSeed: number;
  jobs: LabeledJob[];
}

/** What one job produced (or must produce). */
export interface JobOutput {
  status: number;
  blocks: number;
  /** hex SHA-256 per hashed block */
  digests: string[];
  blank: boolean[];
  /** HAL events during the job: [programmed, erased, hashed] */
  events: [number, number, number];
}

export interface Mismatch {
  runtime: RuntimeName;
  case: string;
  job: string;
  what: string;
  got: string;
  want: string;
}

export interface RuntimeOutcome {
  runtime: RuntimeName;
  status: 'agree' | 'mismatch' | 'error' | 'skipped';
  detail?: string;
}

export interface ConformanceReport {
  /** every runtime that ran agreed with the host on every job, and none failed to run */
  ok: boolean;
  runtimes: RuntimeOutcome[];
  /** runtimes that could not be loaded here (never counted as agreeing) */
  skipped: { runtime: RuntimeName; reason: string }[];
  cases: number;
  jobs: number;
  /** block digests compared per runtime */
  digests: number;
  /** the first mismatches (at most 20) */
  mismatches: Mismatch[];
  terminalSha256: string;
  selfcontainedSha256: string;
}

export interface ConformanceOptions {
  /** module bytes to check (default build/terminal.wasm) */
  terminal?: Uint8Array;
  /** path of the self-contained build (default build/selfcontained.wasm) */
  selfcontainedPath?: string;
  /** runtimes to run (default all) */
  runtimes?: readonly RuntimeName[];
  /** the npm package the wasmtime child loads (tests point it elsewhere to see the skip) */
  wasmtimePackage?: string;
  /**
   * Test hook: run one runtime with a different nonce, so the check must report a mismatch
   * (tests/conformance.test.ts proves the check can fail).
   */
  nonceOverride?: { runtime: RuntimeName; nonce: Uint8Array };
}

// ---- the fixed image ----

/**
 * The fixed flash image of `seed`, as the self-contained module's `setup` fills it: the u32 word
 * at device address a (a multiple of 4) is splitmix32(seed ^ a), little-endian.
 */
export function fixedImage(base: number, size: number, seed: number): Uint8Array {
  if (size % 4 !== 0 || base % 4 !== 0) throw new RangeError(`flash ${base}+${size}: base and size must be multiples of 4`);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  for (let o = 0; o < size; o += 4) view.setUint32(o, splitmix32((seed ^ (base + o)) >>> 0), true);
  return out;
}

// ---- the jobs of a board and method ----

/**
 * The jobs the check runs for a board and method, over the board's erase plan (planErase), in the
 * session's order: hash the fixed image as found, zeroize the key store (program 0x00 + hash),
 * then each pass of the method job by job (program the pattern + hash, or erase + hash).
 */
export function boardCase(board: Board, method: MethodName, nonce: Uint8Array = CONFORMANCE_NONCE): ConformanceCase {
  const plan = planErase(board);
  const base = { blockSize: plan.blockSize, erasedValue: board.flash.erasedValue, nonce };
  const jobs: LabeledJob[] = [];
  plan.jobs.forEach((j, i) => jobs.push({ label: `image#${i}`, spec: { ...base, ops: { hash: true }, pattern: null, erase: [], program: [], hash: j.hash } }));
  const keys = board.regions.filter((r) => r.kind === 'keys').map((r) => ({ address: r.address, size: r.size }));
  if (keys.length) {
    jobs.push({
      label: 'zeroize-keys',
      spec: { ...base, ops: { program: true, hash: true }, pattern: { kind: 'constant', value: 0 }, erase: [], program: keys, hash: keys },
    });
  }
  for (const pass of METHOD_SPECS[method].passes) {
    plan.jobs.forEach((j, i) => {
      const label = `${pass.name}#${i}`;
      if (pass.kind === 'program') {
        const pattern =
          pass.pattern.kind === 'constant'
            ? ({ kind: 'constant', value: pass.pattern.value } as const)
            : ({ kind: 'xoshiro', seed: CONFORMANCE_PATTERN_SEED } as const);
        jobs.push({ label, spec: { ...base, ops: { program: true, hash: true }, pattern, erase: [], program: j.hash, hash: j.hash } });
      } else {
        const erase = j.erase.map((s) => ({ address: s.address, size: s.size }));
        jobs.push({ label, spec: { ...base, ops: { erase: true, hash: true }, pattern: null, erase, program: [], hash: j.hash } });
      }
    });
  }
  return {
    name: `${board.id}/${method}`,
    flash: { base: board.flash.base, size: board.flash.size, erasedValue: board.flash.erasedValue },
    imageSeed: CONFORMANCE_IMAGE_SEED,
    jobs,
  };
}

// ---- the flash model shared by the host expectation and the V8 terminal run ----

/** HAL statuses of the in-memory flash (mirrors assembly/hal-memory.ts). */
export const HAL_OUT_OF_RANGE = 0x20;
export const HAL_MISALIGNED = 0x21;

class FlashModel {
  readonly bytes: Uint8Array;
  events: [number, number, number] = [0, 0, 0];
  constructor(
    readonly base: number,
    size: number,
    readonly erasedValue: number,
    seed: number,
  ) {
    this.bytes = fixedImage(base, size, seed);
  }
  private offset(address: number, len: number): number | null {
    const o = address - this.base;
    return o >= 0 && o + len <= this.bytes.length ? o : null;
  }
  erase(address: number, size: number): number {
    const o = this.offset(address, size);
    if (o === null) return HAL_OUT_OF_RANGE;
    this.bytes.fill(this.erasedValue & 0xff, o, o + size);
    return 0;
  }
  read(address: number, dst: Uint8Array): number {
    const o = this.offset(address, dst.length);
    if (o === null) return HAL_OUT_OF_RANGE;
    dst.set(this.bytes.subarray(o, o + dst.length));
    return 0;
  }
  program(address: number, src: Uint8Array): number {
    const o = this.offset(address, src.length);
    if (o === null) return HAL_OUT_OF_RANGE;
    if ((address | src.length) % 8 !== 0) return HAL_MISALIGNED;
    for (let i = 0; i < src.length; i++) this.bytes[o + i] &= src[i];
    return 0;
  }
  event(kind: number): void {
    if (kind === EVENT_PROGRAMMED) this.events[0]++;
    else if (kind === EVENT_ERASED) this.events[1]++;
    else if (kind === EVENT_HASHED) this.events[2]++;
  }
}

/**
 * What every job must produce, computed on the host: a JavaScript flash model, the ABI's pattern
 * generators (host/engine/abi.ts) and node:crypto SHA-256. Valid jobs only (status 0).
 */
export function expectedOutputs(c: ConformanceCase): JobOutput[] {
  const flash = new FlashModel(c.flash.base, c.flash.size, c.flash.erasedValue, c.imageSeed);
  const out: JobOutput[] = [];
  for (const { spec } of c.jobs) {
    const events: [number, number, number] = [0, 0, 0];
    if (spec.ops.program) {
      for (const r of spec.program) {
        const st = flash.program(r.address, patternBytes(spec.pattern!, r.address, r.size));
        if (st !== 0) throw new Error(`${c.name}: program range 0x${r.address.toString(16)}+${r.size} lies outside the flash`);
        events[0]++;
      }
    }
    if (spec.ops.erase) {
      for (const r of spec.erase) {
        if (flash.erase(r.address, r.size) !== 0) throw new Error(`${c.name}: erase range 0x${r.address.toString(16)}+${r.size} lies outside the flash`);
        events[1]++;
      }
    }
    const digests: string[] = [];
    const blank: boolean[] = [];
    if (spec.ops.hash) {
      for (const b of blocksOf(spec.hash, spec.blockSize)) {
        const bytes = new Uint8Array(b.size);
        if (flash.read(b.address, bytes) !== 0) throw new Error(`${c.name}: hash block 0x${b.address.toString(16)} lies outside the flash`);
        digests.push(Buffer.from(expectedDigest(spec.nonce, b.address, bytes)).toString('hex'));
        blank.push(bytes.every((x) => x === (spec.erasedValue & 0xff)));
        events[2]++;
      }
    }
    out.push({ status: 0, blocks: digests.length, digests, blank, events });
  }
  return out;
}

// ---- runtime drivers ----

/** The terminal module in V8, its hal imports bound to a JavaScript flash model. */
export function runTerminalV8(module: Uint8Array, c: ConformanceCase, jobs: Uint8Array[]): JobOutput[] {
  const flash = new FlashModel(c.flash.base, c.flash.size, c.flash.erasedValue, c.imageSeed);
  const engine = instantiateEngine(module, {
    erase: (a, s) => flash.erase(a, s),
    read: (a, dst) => flash.read(a, dst),
    program: (a, src) => flash.program(a, src),
    event: (kind) => flash.event(kind),
  });
  return jobs.map((job) => {
    const before = [...flash.events];
    const { status, result } = engine.runJob(job);
    return {
      status,
      blocks: result.blockCount,
      digests: result.digests.map((d) => Buffer.from(d).toString('hex')),
      blank: result.blank,
      events: [flash.events[0] - before[0], flash.events[1] - before[1], flash.events[2] - before[2]],
    };
  });
}

/** Calls an export of the self-contained module with numbers, returns its (i32) result. */
export type NumericCall = (name: string, args: number[]) => number;

/**
 * Drives the self-contained module through its numeric exports only (what the wasmtime binding
 * allows): setup, the job word by word, run, then the result words and digest words. Shared by
 * the V8 run and the wasmtime child, so both take exactly the same path.
 */
export function runNumeric(call: NumericCall, setup: [number, number, number, number], jobs: Uint8Array[]): JobOutput[] {
  const u = (name: string, ...args: number[]) =>
    call(
      name,
      args.map((a) => a | 0),
    ) >>> 0;
  const version = u('abiVersion');
  if (version !== ABI_VERSION) throw new Error(`self-contained module ABI version ${version}, host speaks ${ABI_VERSION}`);
  const st = u('setup', ...setup);
  if (st !== 0) throw new Error(`self-contained module refused setup(${setup.join(', ')}): ${st}`);
  const out: JobOutput[] = [];
  let counts = [u('eventCount', 1), u('eventCount', 2), u('eventCount', 3)];
  for (const job of jobs) {
    if (job.length % 4 !== 0 || job.length > u('jobMax')) throw new Error(`job of ${job.length} bytes does not fit the job area`);
    const view = new DataView(job.buffer, job.byteOffset, job.byteLength);
    for (let o = 0; o < job.length; o += 4) {
      if (u('setJobWord', o, view.getUint32(o, true)) !== 0) throw new Error(`setJobWord(${o}) refused`);
    }
    const status = u('run');
    if (u('resultWord', 8) !== status) throw new Error(`run() returned ${status} but the result table says ${u('resultWord', 8)}`);
    const blocks = u('resultWord', 12);
    const digests: string[] = [];
    const blank: boolean[] = [];
    for (let b = 0; b < blocks; b++) {
      let hex = '';
      for (let i = 0; i < 8; i++) hex += u('digestWord', b, i).toString(16).padStart(8, '0');
      digests.push(hex);
      blank.push(u('blank', b) === 1);
    }
    const now = [u('eventCount', 1), u('eventCount', 2), u('eventCount', 3)];
    out.push({ status, blocks, digests, blank, events: [now[0] - counts[0], now[1] - counts[1], now[2] - counts[2]] });
    counts = now;
  }
  return out;
}

/** The setup arguments of a case: base, size, erased value, image seed. */
export function setupArgs(c: ConformanceCase): [number, number, number, number] {
  return [c.flash.base, c.flash.size, c.flash.erasedValue, c.imageSeed];
}

/** The self-contained module in V8, through the numeric exports only. */
export function runSelfContainedV8(module: Uint8Array, c: ConformanceCase, jobs: Uint8Array[]): JobOutput[] {
  const instance: WasmInstance = new wasm.Instance(new wasm.Module(module), {});
  const call: NumericCall = (name, args) => {
    const fn = instance.exports[name];
    if (typeof fn !== 'function') throw new Error(`self-contained module lacks the export ${name}`);
    return (fn as (...a: number[]) => number)(...args);
  };
  return runNumeric(call, setupArgs(c), jobs);
}

/** Input and output of the wasmtime child (host/image/wasmtime-runner.ts). */
export interface WasmtimeRequest {
  modulePath: string;
  package: string;
  cases: { setup: [number, number, number, number]; jobs: string[] }[];
}
export type WasmtimeResponse = { available: false; reason: string } | { available: true; version: string; results: JobOutput[][] };

/**
 * Runs the cases in wasmtime in a child process. Returns the outputs, `unavailable` with the
 * reason when the binding cannot be loaded here, or throws when the child failed in any other way.
 */
export function runWasmtime(
  modulePath: string,
  cases: { setup: [number, number, number, number]; jobs: Uint8Array[] }[],
  pkg = 'wasmtime',
): { available: false; reason: string } | { available: true; version: string; results: JobOutput[][] } {
  const runner = path.join(__dirname, 'wasmtime-runner.js');
  const request: WasmtimeRequest = {
    modulePath,
    package: pkg,
    cases: cases.map((c) => ({ setup: c.setup, jobs: c.jobs.map((j) => Buffer.from(j).toString('hex')) })),
  };
  const r = spawnSync(process.execPath, [runner], { input: JSON.stringify(request), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: 120_000 });
  if (r.error) throw new Error(`the wasmtime child did not run: ${r.error.message}`);
  if (r.status !== 0) {
    const why = (r.stderr || '').trim().split('\n').filter(Boolean).slice(-3).join(' | ');
    throw new Error(`the wasmtime child ${r.signal ? `died of ${r.signal}` : `exited with ${r.status}`}: ${why || 'no message'}`);
  }
  let response: WasmtimeResponse;
  try {
    response = JSON.parse(r.stdout) as WasmtimeResponse;
  } catch {
    throw new Error(`the wasmtime child answered something that is not JSON: ${r.stdout.slice(0, 200)}`);
  }
  return response;
}

/** Input of the wasm2c child (host/image/wasm2c-runner.ts); it answers JobOutput[][] as JSON. */
export interface Wasm2cRequest {
  library: string;
  cases: { setup: [number, number, number, number]; jobs: string[] }[];
}

/**
 * Translates and builds the module with wasm2c and cc, then runs the cases in a child process.
 * `unavailable` with the reason when wasm2c, cc or the runtime sources are missing here; throws
 * when the translation, the build or the child fails.
 */
export function runWasm2c(
  modulePath: string,
  cases: { setup: [number, number, number, number]; jobs: Uint8Array[] }[],
): { available: false; reason: string } | { available: true; version: string; results: JobOutput[][] } {
  const built = buildWasm2c(modulePath);
  if (!built.available) return built;
  try {
    return runWasm2cChild(built.library, built.version, cases);
  } finally {
    rmSync(path.dirname(built.library), { recursive: true, force: true }); // the translation's temporary folder
  }
}

function runWasm2cChild(
  library: string,
  version: string,
  cases: { setup: [number, number, number, number]; jobs: Uint8Array[] }[],
): { available: true; version: string; results: JobOutput[][] } {
  const request: Wasm2cRequest = { library, cases: cases.map((c) => ({ setup: c.setup, jobs: c.jobs.map((j) => Buffer.from(j).toString('hex')) })) };
  const r = spawnSync(process.execPath, [path.join(__dirname, 'wasm2c-runner.js')], {
    input: JSON.stringify(request),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: 120_000,
  });
  if (r.error) throw new Error(`the wasm2c child did not run: ${r.error.message}`);
  if (r.status !== 0) {
    const why = (r.stderr || '').trim().split('\n').filter(Boolean).slice(-3).join(' | ');
    throw new Error(`the wasm2c child ${r.signal ? `died of ${r.signal}` : `exited with ${r.status}`}: ${why || 'no message'}`);
  }
  try {
    return { available: true, version, results: JSON.parse(r.stdout) as JobOutput[][] };
  } catch {
    throw new Error(`the wasm2c child answered something that is not JSON: ${r.stdout.slice(0, 200)}`);
  }
}

// ---- the check ----

function compareOutputs(runtime: RuntimeName, c: ConformanceCase, got: JobOutput[], want: JobOutput[], into: Mismatch[]): number {
  let bad = 0;
  const add = (job: string, what: string, g: unknown, w: unknown): void => {
    bad++;
    if (into.length < 20) into.push({ runtime, case: c.name, job, what, got: String(g), want: String(w) });
  };
  if (got.length !== want.length) add('-', 'job count', got.length, want.length);
  for (let j = 0; j < Math.min(got.length, want.length); j++) {
    const g = got[j];
    const w = want[j];
    const label = c.jobs[j].label;
    if (g.status !== w.status) add(label, 'status', g.status, w.status);
    if (g.blocks !== w.blocks) add(label, 'blocks hashed', g.blocks, w.blocks);
    if (g.events.join(',') !== w.events.join(',')) add(label, 'HAL events [programmed, erased, hashed]', `[${g.events}]`, `[${w.events}]`);
    const blocks = blocksOf(c.jobs[j].spec.hash, c.jobs[j].spec.blockSize);
    for (let b = 0; b < Math.min(g.digests.length, w.digests.length); b++) {
      const at = `block 0x${blocks[b].address.toString(16).padStart(8, '0')}`;
      if (g.digests[b] !== w.digests[b]) add(label, `${at} digest`, g.digests[b], w.digests[b]);
      if (g.blank[b] !== w.blank[b]) add(label, `${at} blank flag`, g.blank[b], w.blank[b]);
    }
  }
  return bad;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Path of build/selfcontained.wasm. */
export function selfContainedPath(): string {
  return path.join(packageRoot(), 'build', 'selfcontained.wasm');
}

/**
 * Runs the cases in every runtime and compares each with the host's node:crypto expectation.
 * `ok` is false when any runtime disagrees or fails to run; a runtime whose binding cannot be
 * loaded is listed in `skipped` (and under `runtimes` as skipped), never as agreeing.
 */
export function runConformance(cases: ConformanceCase[], options: ConformanceOptions = {}): ConformanceReport {
  const terminal = options.terminal ?? loadEngineModule('terminal');
  const scPath = path.resolve(options.selfcontainedPath ?? selfContainedPath());
  if (!existsSync(scPath)) throw new Error(`self-contained engine ${scPath} not found (run \`npm run build:engine\`)`);
  const selfcontained = new Uint8Array(readFileSync(scPath));
  const wanted = options.runtimes ?? RUNTIMES;

  const expected = cases.map(expectedOutputs);
  const encoded = (runtime: RuntimeName): Uint8Array[][] =>
    cases.map((c) => c.jobs.map(({ spec }) => encodeJob(options.nonceOverride?.runtime === runtime ? { ...spec, nonce: options.nonceOverride.nonce } : spec)));

  const mismatches: Mismatch[] = [];
  const runtimes: RuntimeOutcome[] = [];
  const skipped: ConformanceReport['skipped'] = [];
  const settle = (runtime: RuntimeName, outputs: () => JobOutput[][]): void => {
    let results: JobOutput[][];
    try {
      results = outputs();
    } catch (err) {
      runtimes.push({ runtime, status: 'error', detail: (err as Error).message });
      return;
    }
    let bad = 0;
    cases.forEach((c, i) => (bad += compareOutputs(runtime, c, results[i] ?? [], expected[i], mismatches)));
    runtimes.push(bad ? { runtime, status: 'mismatch', detail: `${bad} difference(s) from the host's expectation` } : { runtime, status: 'agree' });
  };

  for (const runtime of wanted) {
    const jobs = encoded(runtime);
    if (runtime === 'v8:terminal') settle(runtime, () => cases.map((c, i) => runTerminalV8(terminal, c, jobs[i])));
    else if (runtime === 'v8:selfcontained') settle(runtime, () => cases.map((c, i) => runSelfContainedV8(selfcontained, c, jobs[i])));
    else {
      let response: ReturnType<typeof runWasmtime>;
      const input = cases.map((c, i) => ({ setup: setupArgs(c), jobs: jobs[i] }));
      try {
        response = runtime === 'wasm2c:selfcontained' ? runWasm2c(scPath, input) : runWasmtime(scPath, input, options.wasmtimePackage);
      } catch (err) {
        runtimes.push({ runtime, status: 'error', detail: (err as Error).message });
        continue;
      }
      if (!response.available) {
        runtimes.push({ runtime, status: 'skipped', detail: response.reason });
        skipped.push({ runtime, reason: response.reason });
        continue;
      }
      const { results, version } = response;
      settle(runtime, () => results);
      const last = runtimes[runtimes.length - 1];
      last.detail = [last.detail, version].filter(Boolean).join('; ');
    }
  }
  const jobs = cases.reduce((n, c) => n + c.jobs.length, 0);
  const digests = expected.reduce((n, e) => n + e.reduce((m, j) => m + j.digests.length, 0), 0);
  return {
    ok: runtimes.every((r) => r.status === 'agree' || r.status === 'skipped') && runtimes.some((r) => r.status === 'agree'),
    runtimes,
    skipped,
    cases: cases.length,
    jobs,
    digests,
    mismatches,
    terminalSha256: sha256(terminal),
    selfcontainedSha256: sha256(selfcontained),
  };
}

/** One line per runtime, and the first mismatches: what `poswipe build` and the tests print. */
export function describeConformance(r: ConformanceReport): string {
  const lines = [`conformance: ${r.jobs} job(s) in ${r.cases} case(s), ${r.digests} block digest(s) per runtime, against node:crypto`];
  for (const o of r.runtimes) {
    const word = { agree: 'agrees', mismatch: 'MISMATCH', error: 'FAILED TO RUN', skipped: 'SKIPPED (not available here)' }[o.status];
    lines.push(`  ${o.runtime}: ${word}${o.detail ? ` (${o.detail})` : ''}`);
  }
  for (const m of r.mismatches.slice(0, 5)) {
    lines.push(`  ${m.runtime} ${m.case} ${m.job}: ${m.what}: got ${m.got}, expected ${m.want}`);
  }
  return lines.join('\n');
}

export type { Range };
