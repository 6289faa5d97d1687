/**
 * `npm run fuzz`: property-based fuzzing (fast-check) of everything that reads bytes poswipe does
 * not control: the AN3155 frame decoders, the bootloader client's handling of answers, the
 * emulator's command parser, the board loader, the erase-image reader, the backup reader and the
 * certificate verifier. Then the agent's C parsers (agent/src/link.c: the frame receiver and the
 * parameter block) under libFuzzer, `agent/fuzz/run.sh <runs>` (clang; skipped with a note when
 * clang is missing, a failure with POSWIPE_REQUIRE_ALL=1).
 *
 *   node build/bench/fuzz.js [--cases <n>] [--seed <s>] [--target <name>]... [--agent-runs <n>] [--no-agent] [--json]
 *
 * `--target agent` names the libFuzzer step alone; other targets given with --target leave it out.
 *
 * Each target draws random and mutated inputs (mutations of real, valid files: bit flips, byte
 * changes, insertions, deletions, truncations, edited JSON fields, re-signed manifests) and checks
 * that the code under test ends in one of its documented ways: a value, null, or the documented
 * error class (InputError, SafetyError, BoardError, DeviceError); never another exception, never
 * an unhandled rejection, never a hang; and that nothing altered is ever accepted as genuine.
 * The counts of how each case ended are printed per target (so a target that rejects everything
 * at the first byte would show).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { BoardError, boardsDir, loadBoard, sectorsOf } from '../host/boards/load';
import type { Board } from '../host/boards/types';
import { ABI_VERSION } from '../host/engine/abi';
import { EmulatedTerminal } from '../host/emulator/terminal';
import { initialImage } from '../host/emulator/image';
import { agentOfKind, loadAgentManifest } from '../host/agent/manifest';
import { loadEngineModule, packageRoot } from '../host/engine/module';
import { DeviceError, InputError, SafetyError, TimeoutError } from '../host/errors';
import { openImage } from '../host/image/build';
import { encodeImage, IMAGE_HEADER_SIZE, type Manifest } from '../host/image/format';
import { keyId as imageKeyId, signImage } from '../host/image/sign';
import { planErase } from '../host/plan/erase-plan';
import { METHOD_SPECS, METHODS } from '../host/plan/methods';
import { FrameParser, encodeFrame } from '../host/protocol/link';
import { BootloaderClient } from '../host/protocol/client';
import { ACK, CMD, NACK, addressFrame, decodeAddressFrame, xorOf } from '../host/protocol/frames';
import { buildBackupFile, openBackup } from '../host/records/backup';
import { CONTAINER_MAGIC, encodeContainer } from '../host/records/backup-container';
import { encryptBackup } from '../host/records/backup-age';
import { newAgeIdentity } from '../host/records/age-keys';
import { verifyCertificate } from '../host/records/certificate';
import { prettyJson } from '../host/records/canonical-json';
import { EmulatedTransport } from '../host/transport/emulated';
import type { LinkStats, Signals, Transport } from '../host/transport/types';

export interface FuzzTarget {
  name: string;
  what: string;
  /** builds the property (after setup); async targets return an async property */
  property(stats: Outcomes): fc.IRawProperty<any, any>;
}

/** how the cases of a target ended, by kind */
export type Outcomes = Map<string, number>;

function count(stats: Outcomes, key: string): void {
  stats.set(key, (stats.get(key) ?? 0) + 1);
}

/** A failed check inside a property (what a crash would be, but with a clear message). */
class Broken extends Error {}

function expect(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Broken(what);
}

/** Runs `fn`; returns 'ok' or the class name of a documented error; rethrows anything else. */
function only<T>(
  fn: () => T,
  allowed: (new (...a: never[]) => Error)[],
  stats: Outcomes,
  label: (e: Error) => string = (e) => e.constructor.name,
): { ok: true; value: T } | { ok: false; error: Error } {
  try {
    const value = fn();
    count(stats, 'accepted');
    return { ok: true, value };
  } catch (e) {
    if (e instanceof Broken) throw e;
    if (allowed.some((c) => e instanceof c)) {
      count(stats, label(e as Error));
      return { ok: false, error: e as Error };
    }
    throw new Broken(`undocumented exception ${(e as Error)?.constructor?.name}: ${(e as Error)?.stack ?? String(e)}`);
  }
}

/** A short label for a message: its first words without numbers and names. */
function labelOf(e: Error): string {
  const m = e.message
    .replace(/^[^:]*(backup|image|certificate)[^:]*: /, '')
    .replace(/0x[0-9a-f]+|\d+/gi, '#')
    .replace(/"[^"]*"/g, '"…"');
  return `${e.constructor.name}: ${m.slice(0, 60)}`;
}

// ---------------------------------------------------------------------------------------------
// mutations

type ByteOp =
  | { k: 'flip'; pos: number; bit: number }
  | { k: 'set'; pos: number; v: number }
  | { k: 'insert'; pos: number; bytes: Uint8Array }
  | { k: 'delete'; pos: number; n: number }
  | { k: 'truncate'; pos: number }
  | { k: 'append'; bytes: Uint8Array }
  | { k: 'u32'; pos: number; v: number };

const interesting32 = fc.constantFrom(0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff);

export const byteOp: fc.Arbitrary<ByteOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('flip' as const), pos: fc.nat(), bit: fc.nat(7) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('set' as const),
      pos: fc.nat(),
      v: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 0xff, 0x7f, 0x80, 0x22, 0x5c, 0x7b, 0x7d, 0x2c, 0x3a)),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('insert' as const), pos: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('delete' as const), pos: fc.nat(), n: fc.integer({ min: 1, max: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('truncate' as const), pos: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('u32' as const), pos: fc.nat(), v: fc.oneof(interesting32, fc.integer({ min: 0, max: 0xffffffff })) }) },
);

/** Applies byte operations; `focus` (when given) is the length of the prefix positions land in most of the time. */
export function applyBytes(src: Uint8Array, ops: ByteOp[], focus?: number): Uint8Array {
  let b = Buffer.from(src);
  for (const op of ops) {
    const span = focus && op.k !== 'append' && 'pos' in op && op.pos % 4 !== 0 ? Math.min(focus, b.length) : b.length;
    const at = (p: number, plus = 0): number => (span + plus === 0 ? 0 : p % (span + plus));
    switch (op.k) {
      case 'flip':
        if (b.length) b[at(op.pos)] ^= 1 << op.bit;
        break;
      case 'set':
        if (b.length) b[at(op.pos)] = op.v;
        break;
      case 'insert': {
        const p = at(op.pos, 1);
        b = Buffer.concat([b.subarray(0, p), op.bytes, b.subarray(p)]);
        break;
      }
      case 'delete': {
        const p = at(op.pos);
        b = Buffer.concat([b.subarray(0, p), b.subarray(p + op.n)]);
        break;
      }
      case 'truncate':
        b = b.subarray(0, at(op.pos, 1));
        break;
      case 'append':
        b = Buffer.concat([b, op.bytes]);
        break;
      case 'u32':
        if (b.length >= 4) {
          b = Buffer.from(b);
          b.writeUInt32LE(op.v >>> 0, at(op.pos) - (at(op.pos) % 4) <= b.length - 4 ? at(op.pos) - (at(op.pos) % 4) : 0);
        }
        break;
    }
  }
  return new Uint8Array(b);
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

type JsonOp =
  | { k: 'set'; path: number; v: Json }
  | { k: 'delete'; path: number }
  | { k: 'add'; path: number; key: string; v: Json }
  | { k: 'dup'; path: number }
  | { k: 'tweak'; path: number; f: number; d: number };

const edgeJson: fc.Arbitrary<Json> = fc.constantFrom<Json>(
  null,
  0,
  -1,
  1,
  0.5,
  1e308,
  -0,
  2 ** 32,
  2 ** 53,
  '',
  '0x',
  '0x0',
  '0xFFFFFFFF',
  '0x100000000',
  'NaN',
  '-1',
  [],
  {},
  true,
  false,
  '__proto__',
  'constructor',
  'x'.repeat(300),
);
export const jsonValueArb: fc.Arbitrary<Json> = fc.oneof(
  { weight: 2, arbitrary: edgeJson },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json> },
);
export const jsonOp: fc.Arbitrary<JsonOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('set' as const), path: fc.nat(), v: jsonValueArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('delete' as const), path: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('add' as const),
      path: fc.nat(),
      key: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'extra', 'kind', 'inherits', 'id'), fc.string({ maxLength: 6 })),
      v: jsonValueArb,
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('dup' as const), path: fc.nat() }) },
  // a plausible neighbour of a number or a "0x…" string (halved, doubled, off by a little): edits that keep a file loadable but wrong
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('tweak' as const),
      path: fc.nat(),
      f: fc.constantFrom(1, 1, 1, 2, 0.5, 0, -1),
      d: fc.constantFrom(0, 0, 1, -1, 2, 4, -4, 0x100, 0x1000, -0x1000),
    }),
  },
);

function tweak(v: Json, f: number, d: number): Json {
  if (f === 1 && d === 0) d = 1; // never a no-op
  if (typeof v === 'number') return Math.round(v * f + d);
  if (typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v)) {
    const n = Math.round(parseInt(v, 16) * f + d);
    return n < 0 ? `-0x${(-n).toString(16)}` : `0x${n.toString(16).toUpperCase()}`;
  }
  // anything else gets its own small edit: a string's last character, a boolean negated, null made 0
  if (typeof v === 'string') return v.length ? v.slice(0, -1) + String.fromCharCode((v.charCodeAt(v.length - 1) + d + 1) & 0x7f || 0x30) : 'x';
  if (typeof v === 'boolean') return !v;
  if (v === null) return 0;
  return v;
}

function pathsOf(v: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => pathsOf(x, [...prefix, i], out));
  else if (v && typeof v === 'object') for (const k of Object.keys(v)) pathsOf(v[k], [...prefix, k], out);
  return out;
}

/** Applies JSON edits to a deep copy of `src`. */
export function applyJson(src: Json, ops: JsonOp[]): Json {
  let root = JSON.parse(JSON.stringify(src)) as Json;
  // values from the arbitraries are never put in the document themselves (fc.constantFrom hands out the same [] and {} every time): copies are
  const copy = (v: Json): Json => JSON.parse(JSON.stringify(v)) as Json;
  for (const op of ops) {
    const paths = pathsOf(root);
    const path = paths[op.path % paths.length];
    if (path.length === 0) {
      if (op.k === 'set') root = copy(op.v);
      continue;
    }
    let parent: Json = root;
    for (const p of path.slice(0, -1)) parent = (parent as Record<string, Json>)[p as string];
    const last = path[path.length - 1];
    const target = (parent as Record<string, Json>)[last as string];
    if (op.k === 'set') (parent as Record<string, Json>)[last as string] = copy(op.v);
    else if (op.k === 'delete') {
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete (parent as Record<string, Json>)[last as string];
    } else if (op.k === 'add') {
      if (target && typeof target === 'object' && !Array.isArray(target))
        Object.defineProperty(target, op.key, { value: copy(op.v), enumerable: true, writable: true, configurable: true });
      else if (Array.isArray(target)) target.push(copy(op.v));
    } else if (op.k === 'tweak') {
      (parent as Record<string, Json>)[last as string] = tweak(target, op.f, op.d);
    } else if (op.k === 'dup') {
      if (Array.isArray(parent)) parent.splice(last as number, 0, JSON.parse(JSON.stringify(target ?? null)) as Json);
    }
  }
  return root;
}

// ---------------------------------------------------------------------------------------------
// 1. frame decoders

const frames: FuzzTarget = {
  name: 'frames',
  what: 'decodeAddressFrame and the agent link FrameParser on random bytes and on valid frames with one bit flipped',
  property: (stats) =>
    fc.property(
      fc.oneof(
        fc.record({ k: fc.constant('raw' as const), bytes: fc.uint8Array({ maxLength: 40 }) }),
        fc.record({ k: fc.constant('address' as const), address: fc.integer({ min: 0, max: 0xffffffff }), bit: fc.option(fc.nat(39)) }),
        fc.record({
          k: fc.constant('agent' as const),
          type: fc.integer({ min: 0, max: 255 }),
          seq: fc.integer({ min: 0, max: 255 }),
          payload: fc.uint8Array({ maxLength: 24 }),
          bit: fc.option(fc.nat(8 * 9 - 1)),
        }),
      ),
      (c) => {
        let bytes: Uint8Array;
        if (c.k === 'raw') bytes = c.bytes;
        else if (c.k === 'address') bytes = addressFrame(c.address);
        else bytes = encodeFrame(c.type, c.seq, c.payload);
        if (c.k !== 'raw' && c.bit !== null) bytes[c.bit >> 3] ^= 1 << (c.bit & 7);
        const a = decodeAddressFrame(bytes);
        expect(a === null || (Number.isInteger(a) && a >= 0 && a <= 0xffffffff), `decodeAddressFrame returned ${a}`);
        if (a !== null) expect(Buffer.from(addressFrame(a)).equals(Buffer.from(bytes)), 'a decoded address does not encode back to the same frame');
        const parser = new FrameParser();
        const got = [...parser.push(bytes), ...parser.expire()];
        for (const g of got)
          expect(Buffer.from(bytes).includes(Buffer.from(encodeFrame(g.type, g.seq, g.payload))), 'a decoded link frame is not one that lies in the input');
        // one flipped bit is always caught: by the address XOR, by the frame's CRC-32
        if (c.k === 'address') expect(c.bit === null ? a === c.address : a === null, `address frame ${c.address} with bit ${c.bit} flipped decoded to ${a}`);
        if (c.k === 'agent') {
          const exact = got.filter((g) => g.type === c.type && g.seq === c.seq && Buffer.from(g.payload).equals(Buffer.from(c.payload)));
          expect(c.bit === null ? exact.length === 1 : exact.length === 0, `link frame with bit ${c.bit} flipped: ${got.length} frame(s) decoded`);
        }
        count(stats, a !== null ? 'address frame' : got.length ? 'link frame' : 'rejected');
        return true;
      },
    ),
};

// ---------------------------------------------------------------------------------------------
// 2. the client's answer handling, against a scripted fake line

/** A line whose far end answers with a fixed script of bytes, whatever is sent. */
class ScriptedTransport implements Transport {
  readonly description = 'fuzz:scripted';
  private at = 0;
  calls = 0;
  tx = 0;
  constructor(private readonly script: Uint8Array) {}
  private tick(): void {
    if (++this.calls > 200_000) throw new Broken('the client made more than 200000 calls on the line: it does not give up (hang)');
  }
  async write(data: Uint8Array): Promise<void> {
    this.tick();
    this.tx += data.length;
  }
  async read(n: number, timeoutMs: number): Promise<Uint8Array> {
    this.tick();
    expect(Number.isInteger(n) && n >= 0 && n <= 4096, `read of ${n} bytes`);
    if (this.script.length - this.at < n) throw new TimeoutError(`fuzz: ${n} byte(s) wanted, ${this.script.length - this.at} left (${timeoutMs} ms)`);
    const out = this.script.slice(this.at, this.at + n);
    this.at += n;
    return out;
  }
  async discardInput(): Promise<void> {
    this.tick();
  }
  async setSignals(_s: Signals): Promise<void> {}
  async sleep(_ms: number): Promise<void> {
    this.tick();
  }
  async close(): Promise<void> {}
  stats(): LinkStats {
    return { bytesTx: this.tx, bytesRx: this.at };
  }
  terminalTime(): number {
    return 0;
  }
}

const answerByte = fc.oneof(
  { weight: 5, arbitrary: fc.constant(ACK) },
  { weight: 1, arbitrary: fc.constant(NACK) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 255 }) },
  { weight: 1, arbitrary: fc.constantFrom(0x0b, 0x01, 0x04, 0x13, 0x31, 0x44, 0x43, 0xff, 0x00) },
);

const CLIENT_OPS = [
  'sync',
  'get',
  'getVersion',
  'getId',
  'readMemory',
  'readMemoryConfirmed',
  'writeMemory',
  'go',
  'erasePages',
  'massErase',
  'getChecksum',
  'readoutUnprotect',
] as const;

const client: FuzzTarget = {
  name: 'client',
  what: "the bootloader client's answer handling (every command) against a fake line that answers random, ACK-heavy bytes",
  property: (stats) =>
    fc.asyncProperty(
      fc.record({
        op: fc.constantFrom(...CLIENT_OPS),
        script: fc.array(answerByte, { maxLength: 700 }).map((a) => Uint8Array.from(a)),
        address: fc.integer({ min: 0, max: 0x3fffffff }).map((a) => a * 4),
        length: fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 700 })),
        pages: fc.array(fc.integer({ min: 0, max: 1023 }), { minLength: 1, maxLength: 40 }),
        attempts: fc.integer({ min: 1, max: 8 }),
      }),
      async (c) => {
        const t = new ScriptedTransport(c.script);
        const cl = new BootloaderClient(t, { attempts: c.attempts });
        try {
          switch (c.op) {
            case 'sync':
              await cl.sync();
              break;
            case 'get': {
              const info = await cl.get();
              expect(Number.isInteger(info.version) && Array.isArray(info.commands), 'Get returned a malformed answer');
              break;
            }
            case 'getVersion':
              await cl.getVersion();
              break;
            case 'getId': {
              const id = await cl.getId();
              expect(Number.isInteger(id) && id >= 0 && id <= 0xffff, `Get ID returned ${id}`);
              break;
            }
            case 'readMemory':
            case 'readMemoryConfirmed': {
              const data = c.op === 'readMemory' ? await cl.readMemory(c.address, c.length) : await cl.readMemoryConfirmed(c.address, c.length);
              expect(data.length === c.length, `read of ${c.length} bytes returned ${data.length}`);
              break;
            }
            case 'writeMemory':
              await cl.writeMemory(c.address, new Uint8Array(c.length).fill(0xa5));
              break;
            case 'go':
              await cl.go(c.address);
              break;
            case 'erasePages':
              await cl.erasePages(c.pages, 25);
              break;
            case 'massErase':
              await cl.massErase(1000);
              break;
            case 'getChecksum': {
              const crc = await cl.getChecksum(c.address, c.length * 4);
              expect(Number.isInteger(crc) && crc >= 0 && crc <= 0xffffffff, `Get Checksum returned ${crc}`);
              break;
            }
            case 'readoutUnprotect':
              await cl.readoutUnprotect(1000);
              break;
          }
          count(stats, `${c.op}: answered`);
        } catch (e) {
          if (e instanceof Broken) throw e;
          // a part that offers only the legacy Erase (0x43) cannot be asked for pages above 255: the frame encoder says so
          if (e instanceof RangeError && c.op === 'erasePages' && /cannot be named by the Erase \(0x43\)/.test(e.message)) {
            count(stats, 'erasePages: legacy Erase cannot name the page');
            return true;
          }
          if (!(e instanceof DeviceError))
            throw new Broken(`${c.op}: undocumented exception ${(e as Error)?.constructor?.name}: ${(e as Error)?.stack ?? String(e)}`);
          expect(e.message.length > 10, 'a DeviceError without a message');
          count(stats, `${c.op}: ${e.constructor.name}`);
        }
        return true;
      },
    ),
};

// ---------------------------------------------------------------------------------------------
// 3. the emulator's command parser

const EMU_BOARDS = ['stm32f407', 'stm32f103xb', 'stm32l476'];
const boardCache = new Map<string, { board: Board; image: Uint8Array }>();
function emuBoard(id: string): { board: Board; image: Uint8Array } {
  let b = boardCache.get(id);
  if (!b) {
    const board = loadBoard(id);
    b = { board, image: initialImage(board, 1) };
    boardCache.set(id, b);
  }
  return b;
}

type EmuChunk = { k: 'bytes'; bytes: Uint8Array } | { k: 'reset'; boot0: boolean };

function emuChunk(board: Board): fc.Arbitrary<EmuChunk> {
  const codes = [
    CMD.GET,
    CMD.GET_VERSION,
    CMD.GET_ID,
    CMD.READ_MEMORY,
    CMD.GO,
    CMD.WRITE_MEMORY,
    CMD.ERASE,
    CMD.EXTENDED_ERASE,
    CMD.READOUT_PROTECT,
    CMD.READOUT_UNPROTECT,
    CMD.GET_CHECKSUM,
    0x63,
    0x73,
  ];
  const addr = fc.oneof(
    fc.integer({ min: board.flash.base, max: board.flash.base + board.flash.size - 1 }),
    fc.integer({ min: board.ram.base, max: board.ram.base + board.ram.size - 1 }),
    fc.constantFrom(board.uniqueId.address, board.flash.base, board.ram.freeFrom, board.flash.base + board.flash.size - 4, 0, 0xffffffff, 0xe000ed0c),
    fc.integer({ min: 0, max: 0xffffffff }),
  );
  const bytes = (a: fc.Arbitrary<Uint8Array | number[]>): fc.Arbitrary<EmuChunk> => a.map((x) => ({ k: 'bytes' as const, bytes: Uint8Array.from(x) }));
  return fc.oneof(
    { weight: 3, arbitrary: bytes(fc.constant([0x7f])) },
    { weight: 6, arbitrary: bytes(fc.constantFrom(...codes).map((c) => [c, ~c & 0xff])) },
    { weight: 4, arbitrary: bytes(addr.map((a) => Array.from(addressFrame(a)))) },
    { weight: 2, arbitrary: bytes(fc.integer({ min: 0, max: 255 }).map((n) => [n, ~n & 0xff])) },
    {
      weight: 2,
      arbitrary: bytes(
        fc.uint8Array({ minLength: 1, maxLength: 64 }).map((d) => {
          const f = [d.length - 1, ...d];
          return [...f, xorOf(f)];
        }),
      ),
    },
    {
      weight: 1,
      arbitrary: bytes(
        fc.array(fc.integer({ min: 0, max: 600 }), { minLength: 1, maxLength: 6 }).map((pages) => {
          const f = [(pages.length - 1) >> 8, (pages.length - 1) & 0xff, ...pages.flatMap((p) => [p >> 8, p & 0xff])];
          return [...f, xorOf(f)];
        }),
      ),
    },
    { weight: 1, arbitrary: bytes(fc.constantFrom([0xff, 0xff, 0x00], [0xff, 0xfe, 0x01], [0xff, 0xfd, 0x02], [0xff, 0x00])) },
    { weight: 3, arbitrary: bytes(fc.uint8Array({ minLength: 1, maxLength: 24 })) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('reset' as const), boot0: fc.boolean() }) },
    // whole commands with well-formed arguments (what a client sends), so that the parser gets past its first byte
    {
      weight: 6,
      arbitrary: bytes(
        fc
          .record({
            cmd: fc.constantFrom(
              CMD.READ_MEMORY,
              CMD.WRITE_MEMORY,
              CMD.GO,
              CMD.EXTENDED_ERASE,
              CMD.ERASE,
              CMD.GET_CHECKSUM,
              CMD.READOUT_PROTECT,
              CMD.READOUT_UNPROTECT,
              CMD.GET,
            ),
            a: addr,
            n: fc.integer({ min: 1, max: 256 }),
            data: fc.uint8Array({ minLength: 1, maxLength: 256 }),
            pages: fc.array(fc.integer({ min: 0, max: 520 }), { minLength: 1, maxLength: 4 }),
            sync: fc.boolean(),
          })
          .map(({ cmd, a, n, data, pages, sync }) => {
            const out: number[] = sync ? [0x7f] : [];
            out.push(cmd, ~cmd & 0xff);
            const withXor = (f: number[]): number[] => [...f, xorOf(f)];
            if (cmd === CMD.READ_MEMORY) out.push(...addressFrame(a), n - 1, ~(n - 1) & 0xff);
            else if (cmd === CMD.WRITE_MEMORY) out.push(...addressFrame(a & ~3), ...withXor([data.length - 1, ...data]));
            else if (cmd === CMD.GO) out.push(...addressFrame(a));
            else if (cmd === CMD.EXTENDED_ERASE)
              out.push(...withXor([(pages.length - 1) >> 8, (pages.length - 1) & 0xff, ...pages.flatMap((p) => [p >> 8, p & 0xff])]));
            else if (cmd === CMD.ERASE) out.push(...withXor([pages.length - 1, ...pages.map((p) => p & 0xff)]));
            else if (cmd === CMD.GET_CHECKSUM) out.push(...addressFrame(a & ~3), ...addressFrame(n * 4));
            return out;
          }),
      ),
    },
  );
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Lets the part's loop run until it waits for input; false when it never does. */
async function settle(t: EmulatedTerminal, maxTicks = 20000): Promise<boolean> {
  for (let i = 0; i < maxTicks; i++) {
    await tick();
    if (t.idle || t.state !== 'bootloader') return true;
  }
  return false;
}

let unhandled: unknown = null;
const onUnhandled = (e: unknown): void => {
  unhandled ??= e;
};

const emulator: FuzzTarget = {
  name: 'emulator',
  what: "the emulated bootloader's command parser: random and half-valid byte streams and resets, then a reset and a full identify must work",
  property: (stats) =>
    fc.asyncProperty(
      fc.constantFrom(...EMU_BOARDS).chain((id) => fc.tuple(fc.constant(id), fc.array(emuChunk(emuBoard(id).board), { maxLength: 30 }), fc.boolean())),
      async ([id, chunks, rdp]) => {
        const { board, image } = emuBoard(id);
        unhandled = null;
        process.on('unhandledRejection', onUnhandled);
        try {
          const t = new EmulatedTerminal(board, { image: image.slice(), seed: 7, rdp: rdp ? 1 : 0 });
          const accepted = new Set<string>();
          t.observe((e) => {
            if (e.type === 'command' && e.accepted) accepted.add(`0x${e.code.toString(16).padStart(2, '0')}`);
            if (e.type === 'flash') accepted.add(e.kind);
            if (e.type === 'go') accepted.add(`go ${e.into}`);
          });
          for (const c of chunks) {
            if (c.k === 'reset') {
              t.setSignals({ dtr: c.boot0, rts: true });
              t.setSignals({ rts: false });
            } else {
              try {
                t.receive(c.bytes);
              } catch (e) {
                throw new Broken(`receive threw ${(e as Error).stack}`);
              }
            }
            expect(await settle(t), 'the bootloader loop never came back to waiting for input (hang)');
            expect(unhandled === null, `the bootloader loop died: ${(unhandled as Error)?.stack ?? String(unhandled)}`);
            t.discardOutput();
          }
          // a reset into the bootloader, then a whole identification over the real client
          t.setSignals({ dtr: true, rts: true });
          t.setSignals({ rts: false });
          const cl = new BootloaderClient(new EmulatedTransport(t));
          await cl.sync();
          const pid = await cl.getId();
          expect(board.productIds.includes(pid), `after a reset the part answers product ID ${pid.toString(16)}`);
          await cl.get();
          expect(unhandled === null, `the bootloader loop died: ${(unhandled as Error)?.stack ?? String(unhandled)}`);
          count(stats, `identified after reset${t.rdpLevel ? ' (read-protected)' : ''}`);
          for (const a of accepted) count(stats, `reached: ${a}`);
          return true;
        } catch (e) {
          if (e instanceof Broken) throw e;
          throw new Broken(`after the reset the part does not answer: ${(e as Error).stack}`);
        } finally {
          process.off('unhandledRejection', onUnhandled);
        }
      },
    ),
};

// ---------------------------------------------------------------------------------------------
// 4. the board loader

let boardSeeds: { name: string; text: string; json: Json }[] | null = null;
let boardDir: string | null = null;
function boardFiles(): { name: string; text: string; json: Json }[] {
  if (!boardSeeds) {
    const dirs = [boardsDir(), join(boardsDir(), 'families'), join(packageRoot(), 'tests', 'fixtures', 'boards', 'good')];
    boardSeeds = [];
    for (const d of dirs) {
      let names: string[] = [];
      try {
        names = readdirSync(d).filter((n) => n.endsWith('.json'));
      } catch {
        continue;
      }
      for (const n of names) {
        const text = readFileSync(join(d, n), 'utf8');
        try {
          boardSeeds.push({ name: n, text, json: JSON.parse(text) as Json });
        } catch {
          // not a seed
        }
      }
    }
  }
  return boardSeeds;
}

/** Loaded boards must be usable: sectors tile the flash, regions lie inside it, the planner accepts it. */
function checkLoadedBoard(b: Board): void {
  const sectors = sectorsOf(b);
  let at = b.flash.base;
  for (const s of sectors) {
    expect(s.address === at && s.size > 0, `accepted board: sector ${s.index} at 0x${s.address.toString(16)} does not follow 0x${at.toString(16)}`);
    at += s.size;
  }
  expect(at === b.flash.base + b.flash.size, 'accepted board: the sectors do not cover the flash');
  for (const r of b.regions)
    expect(r.size > 0 && r.address >= b.flash.base && r.address + r.size <= b.flash.base + b.flash.size, `accepted board: region ${r.name} outside the flash`);
  try {
    planErase(b);
  } catch (e) {
    throw new Broken(`accepted board that the planner rejects: ${(e as Error).stack}`);
  }
}

const boards: FuzzTarget = {
  name: 'boards',
  what: 'loadBoard on mutated board files (edited JSON fields, byte mutations, random JSON): a Board that plans, or a BoardError',
  property: (stats) => {
    const seeds = boardFiles();
    boardDir ??= mkdtempSync(join(tmpdir(), 'poswipe-fuzz-boards-'));
    return fc.property(
      fc.nat(seeds.length - 1),
      fc.oneof(
        { weight: 5, arbitrary: fc.record({ k: fc.constant('json' as const), ops: fc.array(jsonOp, { minLength: 1, maxLength: 4 }) }) },
        { weight: 3, arbitrary: fc.record({ k: fc.constant('bytes' as const), ops: fc.array(byteOp, { minLength: 1, maxLength: 4 }) }) },
        { weight: 1, arbitrary: fc.record({ k: fc.constant('random' as const), v: fc.jsonValue({ maxDepth: 3 }) }) },
      ),
      (i, m) => {
        const seed = seeds[i];
        const text =
          m.k === 'json'
            ? JSON.stringify(applyJson(seed.json, m.ops), null, 2)
            : m.k === 'bytes'
              ? Buffer.from(applyBytes(Buffer.from(seed.text), m.ops)).toString('latin1')
              : JSON.stringify(m.v);
        // named like its seed: a board's id must match its file name
        const file = join(boardDir!, seed.name);
        writeFileSync(file, text, 'latin1');
        if (process.env.POSWIPE_FUZZ_TRACE) writeFileSync(process.env.POSWIPE_FUZZ_TRACE, `${seed.name}\n${text}`);
        const r = only(
          () => loadBoard(file),
          [BoardError],
          stats,
          (e) => `BoardError ${(e as BoardError).rule}`,
        );
        if (r.ok) checkLoadedBoard(r.value);
        else expect(r.error.message.length > 0 && (r.error as BoardError).problems.length > 0, 'a BoardError without problems');
        return true;
      },
    );
  },
};

// ---------------------------------------------------------------------------------------------
// 5. erase images

interface ImageSeed {
  trusted: KeyObject;
  signKey: KeyObject;
  other: KeyObject;
  manifest: Manifest;
  module: Uint8Array;
  agent: Uint8Array;
  bytes: Uint8Array;
}
let imageSeed: ImageSeed | null = null;
function imageFixture(): ImageSeed {
  if (!imageSeed) {
    const pair = generateKeyPairSync('ed25519');
    const other = generateKeyPairSync('ed25519');
    const board = loadBoard('stm32f407');
    const module = loadEngineModule('terminal');
    const agent = agentOfKind(loadAgentManifest(), board.agent!.binary).bytes;
    const spec = METHOD_SPECS.clear;
    const manifest: Manifest = {
      board: {
        id: board.id,
        name: board.name,
        productIds: board.productIds.map((p) => `0x${p.toString(16).padStart(4, '0')}`),
        flash: { base: `0x${board.flash.base.toString(16).padStart(8, '0')}`, size: board.flash.size },
      },
      method: { name: spec.name, nistType: spec.nistType, passes: spec.passes.map((p) => p.name) },
      verify: 'full',
      blockSize: planErase(board).blockSize,
      engine: { abiVersion: ABI_VERSION, bytes: module.length, sha256: createHash('sha256').update(module).digest('hex') },
      agent: {
        kind: board.agent!.binary,
        load: `0x${board.agent!.load.toString(16).padStart(8, '0')}`,
        bytes: agent.length,
        sha256: createHash('sha256').update(agent).digest('hex'),
      },
      signer: { keyId: imageKeyId(pair.privateKey) },
      tool: { name: 'poswipe', version: 'fuzz' },
      builtAt: new Date(0).toISOString(),
      conformance: { runtimes: ['v8'], skipped: [], jobs: 1, digests: 1, selfcontainedSha256: '0'.repeat(64) },
    };
    const bytes = signImage({ manifest, module, agent }, pair.privateKey).bytes;
    const opened = openImage(bytes, [pair.publicKey]);
    if (opened.method !== 'clear') throw new Error('fuzz: the seed image does not open');
    imageSeed = { trusted: pair.publicKey, signKey: pair.privateKey, other: other.privateKey, manifest, module, agent, bytes };
  }
  return imageSeed;
}

const image: FuzzTarget = {
  name: 'image',
  what: 'openImage (parse, both signatures, manifest, module) on mutated signed images, re-signed edited manifests, unsigned and foreign-signed images',
  property: (stats) => {
    const s = imageFixture();
    return fc.property(
      fc.oneof(
        { weight: 5, arbitrary: fc.record({ k: fc.constant('bytes' as const), ops: fc.array(byteOp, { minLength: 1, maxLength: 3 }) }) },
        {
          weight: 4,
          arbitrary: fc.record({
            k: fc.constant('manifest' as const),
            ops: fc.array(jsonOp, { minLength: 1, maxLength: 3 }),
            signer: fc.constantFrom('trusted', 'trusted', 'trusted', 'other', 'none'),
          }),
        },
        {
          weight: 1,
          arbitrary: fc.record({
            k: fc.constant('header' as const),
            field: fc.integer({ min: 0, max: 6 }),
            v: fc.oneof(interesting32, fc.integer({ min: 0, max: 0xffffffff })),
          }),
        },
        { weight: 1, arbitrary: fc.record({ k: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 256 }) }) },
      ),
      (m) => {
        let bytes: Uint8Array;
        let genuine = false;
        if (m.k === 'bytes') bytes = applyBytes(s.bytes, m.ops, IMAGE_HEADER_SIZE + 2000);
        else if (m.k === 'header') {
          const b = Buffer.from(s.bytes);
          b.writeUInt32LE(m.v >>> 0, 8 + 4 * m.field);
          bytes = new Uint8Array(b);
        } else if (m.k === 'random') bytes = m.bytes;
        else {
          const manifest = applyJson(s.manifest as unknown as Json, m.ops);
          const text = new TextEncoder().encode(JSON.stringify(manifest, null, 2));
          if (m.signer === 'none') bytes = encodeImage({ manifest: text, module: s.module, agent: s.agent });
          else bytes = signImage({ manifest: text, module: s.module, agent: s.agent }, m.signer === 'trusted' ? s.signKey : s.other).bytes;
          genuine = m.signer === 'trusted';
        }
        const same = Buffer.from(bytes).equals(Buffer.from(s.bytes));
        const r = only(() => openImage(bytes, [s.trusted], 'fuzzed'), [InputError, SafetyError], stats, labelOf);
        if (r.ok) {
          // only an image signed by the trusted key opens, and then it is a usable one
          expect(same || genuine, `an altered or untrusted image opened (${m.k})`);
          expect(
            METHODS.includes(r.value.method) &&
              (r.value.verify === 'full' || r.value.verify === 'sample') &&
              r.value.productIds.every((p) => Number.isInteger(p)),
            'an opened image has a bad method or product ID',
          );
          expect(Buffer.from(r.value.module).equals(Buffer.from(s.module)), 'an opened image runs another module');
          expect(Buffer.from(r.value.agent).equals(Buffer.from(s.agent)), 'an opened image uploads another agent');
        } else {
          if (same) throw new Broken(`the genuine image was refused: ${r.error.message}`);
          if (m.k === 'manifest' && m.signer !== 'trusted')
            expect(r.error instanceof SafetyError || r.error instanceof InputError, 'an untrusted image was not refused');
        }
        return true;
      },
    );
  },
};

// ---------------------------------------------------------------------------------------------
// 6. backups

interface BackupSeed {
  dir: string;
  identity: string;
  recipient: string;
  /** the age file */
  bytes: Uint8Array;
  /** its plaintext: the container, its manifest length and manifest */
  container: Uint8Array;
  manifestLength: number;
  manifest: Json;
  data: Buffer[];
}
let backupSeed: BackupSeed | null = null;
async function backupFixture(): Promise<BackupSeed> {
  if (!backupSeed) {
    const key = newAgeIdentity();
    const board = loadBoard('acme-t400');
    const regions = board.regions.filter((r) => r.kind === 'data').map((r) => ({ ...r, size: Math.min(r.size, 512) }));
    const data = regions.map((r, i) => Buffer.alloc(r.size, 0x41 + i));
    const built = await buildBackupFile(
      { board: board.id, pid: 0x413, uid: 'a1b2c3d4e5f60718293a4b5c', created: new Date(0), tool: 'poswipe fuzz' },
      regions,
      data,
      { kind: 'recipients', recipients: [key.recipient], source: 'fuzz' },
    );
    const container = Buffer.from(
      encodeContainer(
        { board: board.id, pid: '0x0413', uid: 'a1b2c3d4e5f60718293a4b5c', created: new Date(0).toISOString(), tool: 'poswipe fuzz' },
        regions,
        data,
      ).bytes,
    );
    const m = container.readUInt32LE(CONTAINER_MAGIC.length);
    backupSeed = {
      dir: mkdtempSync(join(tmpdir(), 'poswipe-fuzz-backup-')),
      identity: key.identity,
      recipient: key.recipient,
      bytes: built.bytes,
      container,
      manifestLength: m,
      manifest: JSON.parse(container.subarray(12, 12 + m).toString('utf8')) as Json,
      data,
    };
  }
  return backupSeed;
}

/** Thrown by the fuzz's passphrase callback: a case that reached scrypt (the fixture is encrypted to a recipient). */
class ScryptReached extends Error {}

/** `only` for an async function. */
async function onlyAsync<T>(
  fn: () => Promise<T>,
  allowed: (new (...a: never[]) => Error)[],
  stats: Outcomes,
  label: (e: Error) => string,
): Promise<{ ok: true; value: T } | { ok: false; error: Error }> {
  let settled: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    settled = { ok: true, value: await fn() };
  } catch (e) {
    settled = { ok: false, error: e };
  }
  return only(
    () => {
      if (!settled.ok) throw settled.error;
      return settled.value;
    },
    allowed,
    stats,
    label,
  );
}

const backup: FuzzTarget = {
  name: 'backup',
  what: 'openBackup (age header, age decryption, container manifest, region hashes) on mutated age files and on authentic age files around edited containers',
  property: (stats) => {
    const keys = {
      identities: () => ({ identities: [backupSeed!.identity], source: 'fuzz identity' }),
      passphrase: (): string => {
        throw new ScryptReached('scrypt');
      },
    };
    return fc.asyncProperty(
      fc.oneof(
        { weight: 5, arbitrary: fc.record({ k: fc.constant('bytes' as const), ops: fc.array(byteOp, { minLength: 1, maxLength: 3 }) }) },
        {
          weight: 4,
          arbitrary: fc.record({ k: fc.constant('container' as const), ops: fc.array(jsonOp, { minLength: 1, maxLength: 3 }), fixLength: fc.boolean() }),
        },
        { weight: 1, arbitrary: fc.record({ k: fc.constant('plain' as const), ops: fc.array(byteOp, { minLength: 1, maxLength: 3 }) }) },
        { weight: 1, arbitrary: fc.record({ k: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 64 }), intro: fc.boolean() }) },
      ),
      async (m) => {
        const s = await backupFixture();
        const file = join(s.dir, 'fuzzed.pwbk');
        let bytes: Uint8Array;
        let same: boolean;
        if (m.k === 'bytes') {
          bytes = applyBytes(s.bytes, m.ops);
          same = Buffer.from(bytes).equals(Buffer.from(s.bytes));
        } else if (m.k === 'random') {
          bytes = m.intro ? Buffer.concat([Buffer.from('age-encryption.org/v1\n'), m.bytes]) : m.bytes;
          same = false;
        } else {
          // an authentic age file (the right recipient) around an edited container: only the container's own checks stand
          let container: Uint8Array;
          if (m.k === 'plain') container = applyBytes(s.container, m.ops, 12 + s.manifestLength);
          else {
            const json = Buffer.from(JSON.stringify(applyJson(s.manifest, m.ops), null, 1) + '\n', 'utf8');
            const len = Buffer.alloc(4);
            len.writeUInt32LE(m.fixLength ? json.length : s.manifestLength);
            container = Buffer.concat([Buffer.from(CONTAINER_MAGIC), len, json, Buffer.from(s.container).subarray(12 + s.manifestLength)]);
          }
          bytes = (await encryptBackup(container, { kind: 'recipients', recipients: [s.recipient], source: 'fuzz' })).bytes;
          same = Buffer.from(container).equals(Buffer.from(s.container));
        }
        writeFileSync(file, bytes);
        const r = await onlyAsync(() => openBackup(file, keys), [InputError, ScryptReached], stats, labelOf);
        if (r.ok && (m.k === 'container' || m.k === 'plain') && !same) {
          // an edited container inside an authentic age file may be accepted (whoever holds the recipient can write one),
          // but only with what it really holds: every region's bytes are the container's, and hash to the manifest's digest
          const inner = m.k === 'plain' ? applyBytes(s.container, m.ops, 12 + s.manifestLength) : null;
          const got = Buffer.concat(r.value.data);
          if (inner)
            expect(
              Buffer.from(inner)
                .subarray(inner.length - got.length)
                .equals(got),
              'the regions returned are not the tail of the container',
            );
          expect(
            r.value.header.regions.every(
              (h, i) => createHash('sha256').update(r.value.data[i]).digest('hex') === h.sha256 && r.value.data[i].length === h.size,
            ),
            'a region returned does not hash to its manifest digest',
          );
        } else if (r.ok) {
          expect(same, 'an altered backup decrypted and passed its checks');
          expect(r.value.data.length === s.data.length && r.value.data.every((d, i) => d.equals(s.data[i])), 'the genuine backup decrypted to other data');
        } else if (same) throw new Broken(`the genuine backup was refused: ${r.error.message}`);
        return true;
      },
    );
  },
};

// ---------------------------------------------------------------------------------------------
// 7. certificates

interface CertSeed {
  trusted: KeyObject;
  bytes: Uint8Array;
  doc: Json;
}
let certSeed: CertSeed | null = null;
function certFixture(): CertSeed {
  if (!certSeed) {
    const dir = mkdtempSync(join(tmpdir(), 'poswipe-fuzz-cert-'));
    try {
      const pair = generateKeyPairSync('ed25519');
      const keyFile = join(dir, 'sign.key.pem');
      writeFileSync(keyFile, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
      // a real certificate, from a real run (acme-t400: keys, protected and data regions, a backup)
      execFileSync(
        process.execPath,
        [
          join(packageRoot(), 'bin', 'poswipe.js'),
          'erase',
          '--board',
          'acme-t400',
          '--port',
          'emu',
          '--cert',
          join(dir, 'certs'),
          '--sign-key',
          keyFile,
          '--backup',
          join(dir, 'b.pwbk'),
          '--audit-db',
          join(dir, 'audit.sqlite'),
          '--operator-name',
          'Fuzz Ö. Tester',
        ],
        { cwd: dir, env: { ...process.env, POSWIPE_CONFIG_DIR: join(dir, 'cfg') }, stdio: 'pipe' },
      );
      const name = readdirSync(join(dir, 'certs')).find((f) => f.endsWith('.cert.json'));
      if (!name) throw new Error('fuzz: the erase run wrote no certificate');
      const bytes = new Uint8Array(readFileSync(join(dir, 'certs', name)));
      const trusted = createPublicKey(pair.privateKey);
      if (verifyCertificate(bytes, trusted).status !== 'valid') throw new Error('fuzz: the seed certificate does not verify');
      certSeed = { trusted, bytes, doc: JSON.parse(Buffer.from(bytes).toString('utf8')) as Json };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return certSeed;
}

const certificate: FuzzTarget = {
  name: 'certificate',
  what: 'verifyCertificate on mutated certificates (byte edits, edited fields written back canonically or not): never throws, never valid unless untouched',
  property: (stats) => {
    const s = certFixture();
    return fc.property(
      fc.oneof(
        { weight: 5, arbitrary: fc.record({ k: fc.constant('bytes' as const), ops: fc.array(byteOp, { minLength: 1, maxLength: 3 }) }) },
        {
          weight: 4,
          arbitrary: fc.record({ k: fc.constant('json' as const), ops: fc.array(jsonOp, { minLength: 1, maxLength: 3 }), canonical: fc.boolean() }),
        },
        { weight: 1, arbitrary: fc.record({ k: fc.constant('random' as const), v: fc.jsonValue({ maxDepth: 3 }) }) },
      ),
      (m) => {
        let bytes: Uint8Array;
        if (m.k === 'bytes') bytes = applyBytes(s.bytes, m.ops);
        else if (m.k === 'random') bytes = Buffer.from(JSON.stringify(m.v), 'utf8');
        else {
          const doc = applyJson(s.doc, m.ops);
          let text: string;
          try {
            text = m.canonical ? prettyJson(doc) : JSON.stringify(doc, null, 2) + '\n';
          } catch {
            text = JSON.stringify(doc, null, 2) + '\n';
          }
          bytes = Buffer.from(text, 'utf8');
        }
        const same = Buffer.from(bytes).equals(Buffer.from(s.bytes));
        let r: ReturnType<typeof verifyCertificate>;
        try {
          r = verifyCertificate(bytes, s.trusted);
        } catch (e) {
          throw new Broken(`verifyCertificate threw ${(e as Error).stack}`);
        }
        expect(['valid', 'invalid', 'malformed'].includes(r.status), `status ${String((r as { status: unknown }).status)}`);
        if (r.status === 'valid') expect(same, 'an edited certificate verified');
        else {
          if (same) throw new Broken('the genuine certificate did not verify');
          if (r.status === 'malformed') expect(r.problem.length > 0, 'malformed without a problem');
          else
            expect(
              r.checks.some((c) => !c.ok && c.detail.length > 0),
              'invalid without a failed check that says why',
            );
        }
        count(
          stats,
          r.status === 'invalid'
            ? `invalid: ${r.checks
                .filter((c) => !c.ok)
                .map((c) => c.name)
                .join(', ')}`.slice(0, 70)
            : r.status,
        );
        return true;
      },
    );
  },
};

export const TARGETS: FuzzTarget[] = [frames, client, emulator, boards, image, backup, certificate];

// ---------------------------------------------------------------------------------------------
// running

export interface TargetResult {
  name: string;
  cases: number;
  seconds: number;
  ok: boolean;
  /** fast-check's report of the first failure, with its seed and path to replay it */
  failure: string | null;
  outcomes: Record<string, number>;
}

export async function runTarget(t: FuzzTarget, o: { cases: number; seed: number }): Promise<TargetResult> {
  const stats: Outcomes = new Map();
  const t0 = Date.now();
  const prop = t.property(stats);
  const details = await fc.check(prop, { numRuns: o.cases, seed: o.seed, endOnFailure: true, markInterruptAsFailure: true });
  const seconds = (Date.now() - t0) / 1000;
  const outcomes = Object.fromEntries([...stats.entries()].sort((a, b) => b[1] - a[1]));
  const err = details.errorInstance as Error | null | undefined;
  const failure = details.failed
    ? `${fc.defaultReportMessage(details) ?? 'failed'}\n${err ? (err instanceof Broken ? err.message : (err.stack ?? String(err))) : ''}`
    : null;
  return { name: t.name, cases: details.numRuns, seconds: +seconds.toFixed(1), ok: !details.failed, failure, outcomes };
}

export function cleanupFuzz(): void {
  for (const d of [boardDir, backupSeed?.dir]) if (d) rmSync(d, { recursive: true, force: true });
  boardDir = null;
  if (backupSeed) backupSeed = null;
}

export function formatFuzz(results: TargetResult[]): string {
  const lines = [`${'target'.padEnd(12)}${'cases'.padStart(9)}${'seconds'.padStart(9)}${'cases/s'.padStart(9)}  result`];
  for (const r of results) {
    lines.push(
      `${r.name.padEnd(12)}${String(r.cases).padStart(9)}${r.seconds.toFixed(1).padStart(9)}${String(Math.round(r.cases / Math.max(r.seconds, 0.001))).padStart(9)}  ${r.ok ? 'ok' : 'FAILED'}`,
    );
    const top = Object.entries(r.outcomes).slice(0, 8);
    for (const [k, n] of top) lines.push(`${''.padEnd(14)}${String(n).padStart(8)}  ${k}`);
    if (Object.keys(r.outcomes).length > top.length) lines.push(`${''.padEnd(24)}… ${Object.keys(r.outcomes).length - top.length} more kinds`);
    if (r.failure)
      lines.push(
        r.failure
          .split('\n')
          .map((l) => `    ${l}`)
          .join('\n'),
      );
  }
  return lines.join('\n');
}

/** libFuzzer executions per agent harness in `npm run fuzz` (at least 1,000,000 per parser) */
export const AGENT_FUZZ_RUNS = 1_000_000;
/** the libFuzzer step's name for --target */
const AGENT_TARGET = 'agent';

export interface AgentFuzzResult {
  name: string;
  runs: number;
  seconds: number;
  ok: boolean;
  /** why it did not run (clang missing), or null */
  skipped: string | null;
  /** agent/fuzz/run.sh's lines: per harness, runs and time, or the failure */
  report: string;
}

/** Runs agent/fuzz/run.sh <runs> (both libFuzzer harnesses); skipped when clang is missing unless POSWIPE_REQUIRE_ALL=1. */
export function runAgentFuzz(runs: number): AgentFuzzResult {
  const base = { name: AGENT_TARGET, runs, seconds: 0 };
  const clang = spawnSync('sh', ['-c', 'command -v clang'], { encoding: 'utf8' }).status === 0;
  if (!clang && process.env.POSWIPE_REQUIRE_ALL !== '1') return { ...base, ok: true, skipped: 'clang is not installed', report: '' };
  const t0 = Date.now();
  const r = spawnSync('sh', [join(packageRoot(), 'agent', 'fuzz', 'run.sh'), String(runs)], { encoding: 'utf8' });
  const seconds = +((Date.now() - t0) / 1000).toFixed(1);
  const report = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim();
  return { ...base, seconds, ok: r.status === 0, skipped: null, report };
}

async function cli(): Promise<void> {
  const argv = process.argv.slice(2);
  let cases = 100_000;
  let seed = 1;
  let json = false;
  let agentRuns = AGENT_FUZZ_RUNS;
  let agent = true;
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--cases') cases = Number(argv[++i]);
    else if (a === '--seed') seed = Number(argv[++i]);
    else if (a === '--target') names.push(argv[++i]);
    else if (a === '--json') json = true;
    else if (a === '--agent-runs') agentRuns = Number(argv[++i]);
    else if (a === '--no-agent') agent = false;
    else {
      process.stderr.write(
        `fuzz: unknown option ${a}\nusage: npm run fuzz -- [--cases <n>] [--seed <s>] [--target <${[...TARGETS.map((t) => t.name), AGENT_TARGET].join('|')}>]... [--agent-runs <n>] [--no-agent] [--json]\n`,
      );
      process.exitCode = 2;
      return;
    }
  }
  if (!Number.isInteger(cases) || cases < 1 || !Number.isInteger(seed) || !Number.isInteger(agentRuns) || agentRuns < 1) {
    process.stderr.write('fuzz: --cases, --seed and --agent-runs take integers\n');
    process.exitCode = 2;
    return;
  }
  const unknown = names.filter((n) => n !== AGENT_TARGET && !TARGETS.some((t) => t.name === n));
  if (unknown.length) {
    process.stderr.write(`fuzz: unknown target(s) ${unknown.join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  const results: TargetResult[] = [];
  const t0 = Date.now();
  for (const t of TARGETS.filter((x) => !names.length || names.includes(x.name))) {
    process.stderr.write(`fuzz: ${t.name}: ${cases} cases: ${t.what}\n`);
    const r = await runTarget(t, { cases, seed });
    results.push(r);
    process.stderr.write(`fuzz: ${t.name}: ${r.ok ? 'ok' : 'FAILED'}, ${r.cases} cases in ${r.seconds} s\n`);
  }
  cleanupFuzz();
  let agentResult: AgentFuzzResult | null = null;
  if (agent && (!names.length || names.includes(AGENT_TARGET))) {
    process.stderr.write(
      `fuzz: ${AGENT_TARGET}: ${agentRuns} libFuzzer runs per harness (agent/fuzz/run.sh): the agent's frame receiver and parameter block parser\n`,
    );
    agentResult = runAgentFuzz(agentRuns);
    process.stderr.write(
      `fuzz: ${AGENT_TARGET}: ${agentResult.skipped ? `skipped (${agentResult.skipped})` : `${agentResult.ok ? 'ok' : 'FAILED'} in ${agentResult.seconds} s`}\n`,
    );
  }
  const total = +((Date.now() - t0) / 1000).toFixed(1);
  const ok = results.every((r) => r.ok) && (agentResult?.ok ?? true);
  if (json) process.stdout.write(JSON.stringify({ seed, casesPerTarget: cases, seconds: total, ok, targets: results, agent: agentResult }, null, 2) + '\n');
  else {
    process.stdout.write(`poswipe fuzz: seed ${seed}, ${cases} cases per target, ${total} s\n${formatFuzz(results)}\n`);
    if (agentResult) {
      const head = `agent (libFuzzer, ${agentResult.runs} runs per harness): ${agentResult.skipped ? `skipped: ${agentResult.skipped}` : agentResult.ok ? `ok, ${agentResult.seconds} s` : 'FAILED'}`;
      process.stdout.write(
        `${head}\n${agentResult.report
          .split('\n')
          .filter(Boolean)
          .map((l) => `    ${l}`)
          .join('\n')}\n`,
      );
    }
  }
  process.exitCode = ok ? 0 : 1;
}

if (require.main === module) void cli();
