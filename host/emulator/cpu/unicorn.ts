/**
 * Unicorn 2 (libunicorn.so.2) through koffi: the only module that touches the FFI. It declares
 * the C API the instruction-level terminal needs and wraps it in `Cpu`, one Cortex-M core with
 * its memory map, MMIO callbacks and hooks. Constants are from the 2.0.1 headers
 * (unicorn.h, arm.h), listed in /work/shared/reference/cortex-m.md.
 *
 * Nothing here throws at import time: `unicornAvailable()` is false on a machine without the
 * library (or without koffi's binary for the platform).
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import { packageRoot } from '../../files/package-root';

// koffi is loaded lazily so that a machine without its native part can still import this file.
type Koffi = typeof import('koffi');
type KoffiFunction = ReturnType<ReturnType<Koffi['load']>['func']>;

export const UC_ARCH_ARM = 1;
/** UC_MODE_THUMB (16) | UC_MODE_MCLASS (32) */
export const UC_MODE_THUMB_MCLASS = 48;
/** UC_CTL_WRITE(UC_CTL_CPU_MODEL, 1) */
const UC_CTL_CPU_MODEL_WRITE = 0x44000007;
export const UC_CPU_ARM_CORTEX_M3 = 8;
export const UC_CPU_ARM_CORTEX_M4 = 9;

export const UC_PROT_READ = 1;
export const UC_PROT_WRITE = 2;
export const UC_PROT_EXEC = 4;
export const UC_PROT_ALL = 7;

export const UC_HOOK_INTR = 1 << 0;
export const UC_HOOK_INSN_INVALID = 1 << 14;
export const UC_HOOK_CODE = 1 << 2;
export const UC_HOOK_MEM_READ_UNMAPPED = 1 << 4;
export const UC_HOOK_MEM_WRITE_UNMAPPED = 1 << 5;
export const UC_HOOK_MEM_FETCH_UNMAPPED = 1 << 6;
/** UC_HOOK_MEM_UNMAPPED | UC_HOOK_MEM_PROT: bits 4-6 and 7-9 */
export const UC_HOOK_MEM_INVALID = 0x3f0;

/** uc_mem_type values passed to event-memory hooks, by name */
export const UC_MEM_NAMES: Record<number, string> = {
  19: 'read of unmapped memory',
  20: 'write to unmapped memory',
  21: 'instruction fetch from unmapped memory',
  22: 'write to read-only memory',
  23: 'read of unreadable memory',
  24: 'instruction fetch from non-executable memory',
};

/** UC_ARM_REG_R0 + n for r0..r12 */
export function ucArmR(n: number): number {
  return 66 + n;
}

export const UC_ARM_REG = {
  R0: 66,
  LR: 10,
  PC: 11,
  SP: 12,
  MSP: 115,
  XPSR: 120,
} as const;

export const UC_ERR = {
  OK: 0,
  READ_UNMAPPED: 6,
  WRITE_UNMAPPED: 7,
  FETCH_UNMAPPED: 8,
  INSN_INVALID: 10,
  WRITE_PROT: 12,
  READ_PROT: 13,
  FETCH_PROT: 14,
  EXCEPTION: 21,
} as const;

export type MmioRead = (offset: number, size: number) => number;
export type MmioWrite = (offset: number, size: number, value: number) => void;
/** returns true when the write was handled (emulation continues) */

interface Api {
  koffi: Koffi;
  lib: ReturnType<Koffi['load']>;
  open: KoffiFunction;
  close: KoffiFunction;
  ctl: KoffiFunction;
  memMap: KoffiFunction;
  memMapPtr: KoffiFunction;
  memRead: KoffiFunction;
  memWrite: KoffiFunction;
  mmioMap: KoffiFunction;
  regRead: KoffiFunction;
  regWrite: KoffiFunction;
  emuStart: KoffiFunction;
  emuStop: KoffiFunction;
  hookAdd: KoffiFunction;
  errno: KoffiFunction;
  strerror: KoffiFunction;
  mmioReadProto: unknown;
  mmioWriteProto: unknown;
  eventMemProto: unknown;
  intrProto: unknown;
}

let api: Api | null | undefined;
let loadError = '';

const LIBRARY = 'libunicorn.so.2';

function loadApi(): Api | null {
  if (api !== undefined) return api;
  try {
    const koffi = require('koffi') as Koffi;
    const lib = koffi.load(LIBRARY);
    const mmioReadProto = koffi.proto('uint64_t PwMmioRead(void *uc, uint64_t offset, unsigned int size, void *user)');
    const mmioWriteProto = koffi.proto('void PwMmioWrite(void *uc, uint64_t offset, unsigned int size, uint64_t value, void *user)');
    const eventMemProto = koffi.proto('bool PwEventMem(void *uc, int type, uint64_t address, int size, int64_t value, void *user)');
    const intrProto = koffi.proto('void PwIntr(void *uc, uint32_t intno, void *user)');
    api = {
      koffi,
      lib,
      open: lib.func('int uc_open(int arch, int mode, _Out_ void **uc)'),
      close: lib.func('int uc_close(void *uc)'),
      ctl: lib.func('int uc_ctl(void *uc, int control, ...)'),
      memMap: lib.func('int uc_mem_map(void *uc, uint64_t address, size_t size, uint32_t perms)'),
      memMapPtr: lib.func('int uc_mem_map_ptr(void *uc, uint64_t address, size_t size, uint32_t perms, void *ptr)'),
      memRead: lib.func('int uc_mem_read(void *uc, uint64_t address, _Out_ uint8_t *bytes, size_t size)'),
      memWrite: lib.func('int uc_mem_write(void *uc, uint64_t address, const uint8_t *bytes, size_t size)'),
      mmioMap: lib.func(
        'int uc_mmio_map(void *uc, uint64_t address, size_t size, PwMmioRead *read_cb, void *user_read, PwMmioWrite *write_cb, void *user_write)',
      ),
      regRead: lib.func('int uc_reg_read(void *uc, int regid, _Out_ uint32_t *value)'),
      regWrite: lib.func('int uc_reg_write(void *uc, int regid, const uint32_t *value)'),
      emuStart: lib.func('int uc_emu_start(void *uc, uint64_t begin, uint64_t until, uint64_t timeout, size_t count)'),
      emuStop: lib.func('int uc_emu_stop(void *uc)'),
      hookAdd: lib.func('int uc_hook_add(void *uc, _Out_ size_t *hh, int type, void *callback, void *user_data, uint64_t begin, uint64_t end, ...)'),
      errno: lib.func('int uc_errno(void *uc)'),
      strerror: lib.func('const char *uc_strerror(int code)'),
      mmioReadProto,
      mmioWriteProto,
      eventMemProto,
      intrProto,
    };
  } catch (err) {
    loadError = (err as Error).message;
    api = null;
  }
  return api;
}

/** libunicorn.so.2 and koffi load on this machine. Never throws. */
export function unicornAvailable(): boolean {
  return loadApi() !== null;
}

/** Why `unicornAvailable()` is false ('' when it is true). */
export function unicornUnavailableReason(): string {
  loadApi();
  return api ? '' : `${LIBRARY} did not load: ${loadError}`;
}

/** The Unicorn error text for a uc_err code. */
export function ucStrerror(code: number): string {
  const a = loadApi();
  return a ? String(a.strerror(code)) : `uc_err ${code}`;
}

export class UnicornError extends Error {
  constructor(
    readonly call: string,
    readonly code: number,
  ) {
    super(`${call}: ${ucStrerror(code)} (uc_err ${code})`);
  }
}

// ---- the native instruction counter (build/native/libpwicount.so, scripts/build-icount.mjs) ----

interface Counter {
  /** address of pw_icount_hook, the UC_HOOK_CODE callback */
  hook: bigint;
  /** struct pw_counter (user data): count, limit, address of uc_emu_stop, address of the current instruction */
  cell: BigUint64Array;
}

/**
 * `lib` must stay referenced: koffi unloads a library (dlclose) when its handle is garbage
 * collected, and Unicorn would then call a hook that is no longer mapped (that crashed).
 */
let counterLib: { lib: unknown; hook: bigint; bytesRead: bigint } | null | undefined;
let counterError = '';

/** Where scripts/build-icount.mjs puts the counter: build/native/ of the checkout. */
export function counterLibraryPath(): string {
  return path.join(packageRoot(), 'build', 'native', 'libpwicount.so');
}

function loadCounter(): { lib: unknown; hook: bigint; bytesRead: bigint } | null {
  if (counterLib !== undefined) return counterLib;
  const a = loadApi();
  const file = counterLibraryPath();
  if (!a) {
    counterError = unicornUnavailableReason();
    counterLib = null;
  } else if (!fs.existsSync(file)) {
    counterError = `${file} is missing (npm run build:native)`;
    counterLib = null;
  } else {
    try {
      const lib = a.koffi.load(file);
      const hook = a.koffi.address(lib.symbol('pw_icount_hook'));
      const bytesRead = a.koffi.address(lib.symbol('pw_bytes_read'));
      counterLib = { lib, hook, bytesRead };
    } catch (err) {
      counterError = `${file} did not load: ${(err as Error).message}`;
      counterLib = null;
    }
  }
  return counterLib;
}

/** Unicorn and the native instruction counter both load: instruction-level emulation works. */
export function instructionLevelAvailable(): boolean {
  return loadCounter() !== null;
}

/** Why `instructionLevelAvailable()` is false ('' when it is true). */
export function instructionLevelUnavailableReason(): string {
  loadCounter();
  return counterLib ? '' : counterError;
}

// ---- one core ----

/**
 * One Unicorn instance in Cortex-M (Thumb, M-class) mode with the given CPU model. Callbacks
 * registered through it are released by `close()`. JS exceptions must never cross the FFI: the
 * callbacks given to `mmio`, `mmioBytes` and the hooks are wrapped so that a throw stops the CPU and is kept
 * in `pendingError`, which the caller of `run` gets back.
 */
export class Cpu {
  private readonly a: Api;
  private uc: unknown;
  private readonly callbacks: bigint[] = [];
  /** keeps memory given to uc_mem_map_ptr alive and unmoved while the instance lives */
  private readonly pinned: Uint8Array[] = [];
  private counter: Counter | null = null;
  /** first exception thrown inside a callback since the last `run` */
  pendingError: unknown = null;
  private closed = false;
  private readonly u32 = new Uint32Array(1);

  constructor(model: number) {
    const a = loadApi();
    if (!a) throw new Error(unicornUnavailableReason());
    this.a = a;
    const out: unknown[] = [null];
    check('uc_open', a.open(UC_ARCH_ARM, UC_MODE_THUMB_MCLASS, out));
    this.uc = out[0];
    const err = a.ctl(this.uc, UC_CTL_CPU_MODEL_WRITE, 'int', model);
    if (err !== UC_ERR.OK) {
      a.close(this.uc);
      throw new UnicornError('uc_ctl(CPU_MODEL)', err);
    }
  }

  /** Plain memory owned by Unicorn (zeroed). */
  map(address: number, size: number, perms: number): void {
    check(`uc_mem_map(0x${hex(address)}, 0x${size.toString(16)})`, this.a.memMap(this.uc, address, size, perms));
  }

  /** Memory backed by `bytes` itself: what the CPU writes lands there at once, and the reverse. */
  mapBytes(address: number, bytes: Uint8Array, perms: number): void {
    assertOffHeap(bytes);
    this.pinned.push(bytes);
    check(`uc_mem_map_ptr(0x${hex(address)}, 0x${bytes.length.toString(16)})`, this.a.memMapPtr(this.uc, address, bytes.length, perms, bytes));
  }

  /** A peripheral: every access in [address, address+size) calls `read`/`write` with the offset. */
  mmio(address: number, size: number, read: MmioRead, write: MmioWrite): void {
    const r = this.register((_uc: unknown, offset: number, sz: number): number => {
      try {
        return read(Number(offset), sz) >>> 0;
      } catch (err) {
        this.fail(err);
        return 0;
      }
    }, this.a.mmioReadProto);
    const w = this.register((_uc: unknown, offset: number, sz: number, value: number | bigint): void => {
      try {
        write(Number(offset), sz, Number(BigInt.asUintN(32, BigInt(value))));
      } catch (err) {
        this.fail(err);
      }
    }, this.a.mmioWriteProto);
    check(`uc_mmio_map(0x${hex(address)}, 0x${size.toString(16)})`, this.a.mmioMap(this.uc, address, size, r, null, w, null));
  }

  /**
   * Memory the host owns, read by the native callback of the counter library (no JS per read)
   * and written through `write` (JS): the flash array behind its interface model.
   */
  mmioBytes(address: number, bytes: Uint8Array, write: MmioWrite): void {
    const lib = loadCounter();
    if (!lib) throw new Error(instructionLevelUnavailableReason());
    assertOffHeap(bytes);
    this.pinned.push(bytes);
    const w = this.register((_uc: unknown, offset: number, sz: number, value: number | bigint): void => {
      try {
        write(Number(offset), sz, Number(BigInt.asUintN(32, BigInt(value))));
      } catch (err) {
        this.fail(err);
      }
    }, this.a.mmioWriteProto);
    check(`uc_mmio_map(0x${hex(address)}, 0x${bytes.length.toString(16)})`, this.a.mmioMap(this.uc, address, bytes.length, lib.bytesRead, bytes, w, null));
  }

  /**
   * Accesses to unmapped memory and protection violations call `hook` (type: a UC_MEM_* value),
   * then the CPU stops with the matching UC_ERR_*.
   */
  onInvalidMemory(hook: (type: number, address: number, size: number) => void): void {
    const cb = this.register((_uc: unknown, type: number, address: number | bigint, size: number): boolean => {
      try {
        hook(type, Number(address), size);
      } catch (err) {
        this.fail(err);
      }
      return false;
    }, this.a.eventMemProto);
    const hh = [0];
    check('uc_hook_add(MEM_INVALID)', this.a.hookAdd(this.uc, hh, UC_HOOK_MEM_INVALID, cb, null, 1, 0));
  }

  /** Every exception the core takes (intno: the ARM exception number, e.g. 3 HardFault... as QEMU numbers them). */
  onInterrupt(hook: (intno: number) => void): void {
    const cb = this.register((_uc: unknown, intno: number): void => {
      try {
        hook(intno);
      } catch (err) {
        this.fail(err);
      }
    }, this.a.intrProto);
    const hh = [0];
    check('uc_hook_add(INTR)', this.a.hookAdd(this.uc, hh, UC_HOOK_INTR, cb, null, 1, 0));
  }

  /**
   * Counts every executed instruction in native code (the counter library's UC_HOOK_CODE
   * callback, no JS per instruction). Read with `instructions`.
   */
  countInstructions(): void {
    const lib = loadCounter();
    if (!lib) throw new Error(instructionLevelUnavailableReason());
    // The native hook writes here from outside V8: the memory must never move. A small typed
    // array made with a length keeps its elements on the V8 heap, where the GC moves them (that
    // crashed); an ArrayBuffer made by its constructor has an off-heap backing store that stays put.
    const cell = new BigUint64Array(new ArrayBuffer(4 * 8));
    cell[2] = this.a.koffi.address(this.a.lib.symbol('uc_emu_stop'));
    this.counter = { hook: lib.hook, cell };
    this.pinnedCells.push(cell);
    const hh = [0];
    check('uc_hook_add(CODE)', this.a.hookAdd(this.uc, hh, UC_HOOK_CODE, lib.hook, cell, 1, 0));
  }

  private readonly pinnedCells: BigUint64Array[] = [];

  /** address of the instruction being executed (inside a callback: the one making the access) */
  get instructionAddress(): number {
    return this.counter ? Number(this.counter.cell[3]) : 0;
  }

  /**
   * Makes the current or next `run` stop once `instructions` reaches `at` (0 = no limit): the
   * native hook calls uc_emu_stop itself, so a slice costs nothing per instruction.
   */
  stopAt(at: number): void {
    if (this.counter) this.counter.cell[1] = BigInt(at);
  }

  /** instructions executed since `countInstructions` (exact: one hook call per instruction) */
  get instructions(): number {
    return this.counter ? Number(this.counter.cell[0]) : 0;
  }

  read(address: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    check(`uc_mem_read(0x${hex(address)})`, this.a.memRead(this.uc, address, out, length));
    return out;
  }

  write(address: number, bytes: Uint8Array): void {
    check(`uc_mem_write(0x${hex(address)})`, this.a.memWrite(this.uc, address, bytes, bytes.length));
  }

  reg(id: number): number {
    check('uc_reg_read', this.a.regRead(this.uc, id, this.u32));
    return this.u32[0] >>> 0;
  }

  setReg(id: number, value: number): void {
    this.u32[0] = value >>> 0;
    check('uc_reg_write', this.a.regWrite(this.uc, id, this.u32));
  }

  /**
   * Runs from `begin` (Thumb bit set) for at most `count` instructions (0 = no limit), at most
   * `timeoutUs` of wall time (0 = no limit; Unicorn stops the CPU from a timer thread) or until
   * `stop()`. Returns the uc_err code (0 when the count ran out or the CPU was stopped).
   */
  run(begin: number, count: number, timeoutUs = 0): number {
    this.pendingError = null;
    return this.a.emuStart(this.uc, begin, 0xffffffff, timeoutUs, count) as number;
  }

  /** Stops `run` after the current instruction; callable from inside a callback. */
  stop(): void {
    this.a.emuStop(this.uc);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.a.close(this.uc);
    for (const cb of this.callbacks) this.a.koffi.unregister(cb);
    this.callbacks.length = 0;
    this.pinned.length = 0;
  }

  private fail(err: unknown): void {
    if (this.pendingError === null) this.pendingError = err ?? new Error('callback threw');
    this.stop();
  }

  private register(fn: (...args: never[]) => unknown, proto: unknown): bigint {
    const p = this.a.koffi.register(fn, this.a.koffi.pointer(proto as never));
    this.callbacks.push(p);
    return p;
  }
}

/**
 * V8 keeps the elements of typed arrays up to 64 bytes made with a length on its heap, where the
 * GC moves them; memory given to Unicorn must not move. Larger arrays and every ArrayBuffer made
 * by its constructor live off the heap.
 */
const ON_HEAP_LIMIT = 64;

function assertOffHeap(bytes: Uint8Array): void {
  if (bytes.buffer.byteLength <= ON_HEAP_LIMIT) throw new RangeError(`${bytes.length} bytes may live on the V8 heap and move: give Unicorn a larger buffer`);
}

function check(call: string, code: number): void {
  if (code !== UC_ERR.OK) throw new UnicornError(call, code);
}

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}
