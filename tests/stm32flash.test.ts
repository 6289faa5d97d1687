/**
 * The serial endpoint (`poswipe emu --pty` / `--stdio`) against clients written by others: the
 * Debian `stm32flash` 0.7 binary over a pseudo-terminal for every operation it offers that a
 * bench needs, and the host's own BootloaderClient over standard input/output. Results are
 * compared with the emulated flash, read from --emu-image after the emulator has saved it.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FAULT_HELP } from '../host/emulator/faults';
import type { SessionSummary } from '../host/emulator/serve';
import { TimeoutError } from '../host/errors';
import { BootloaderClient } from '../host/protocol/client';
import { stm32Crc32 } from '../host/protocol/frames';
import type { LinkStats, Transport } from '../host/transport/types';
import { CLI, ROOT, runCli } from './helpers';

const FLASH = 0x08000000;
const MIB = 0x100000;
const CHECKSUM_BOARD = path.join(ROOT, 'tests', 'fixtures', 'boards', 'good', 'stm32f407-checksum.json');
const work = mkdtempSync(path.join(tmpdir(), 'poswipe-stm32flash-'));
let serial = 0;

function installed(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !(r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT');
}
const HAVE_STM32FLASH = installed('stm32flash', ['-h']);
const HAVE_SOCAT = installed('socat', ['-V']);

/** Skips (with the reason shown) when the pty tools are missing; true when the test may run. */
function needTools(t: TestContext): boolean {
  if (process.env.POSWIPE_REQUIRE_ALL === '1' && !(HAVE_STM32FLASH && HAVE_SOCAT))
    throw new Error('POSWIPE_REQUIRE_ALL=1: stm32flash and socat must be installed');
  if (!HAVE_STM32FLASH) {
    t.skip('stm32flash not installed');
    return false;
  }
  if (!HAVE_SOCAT) {
    t.skip('socat not installed (poswipe emu --pty needs it)');
    return false;
  }
  return true;
}

/** A 1 MiB flash image with a known random content, or `fill`. */
function imageFile(fill?: number): { file: string; bytes: Buffer } {
  const file = path.join(work, `image-${++serial}.bin`);
  const bytes = fill === undefined ? randomBytes(MIB) : Buffer.alloc(MIB, fill);
  writeFileSync(file, bytes);
  return { file, bytes };
}

interface Emu {
  proc: ChildProcess;
  tty: string;
  /** sessions reported so far (JSON lines) */
  sessions: SessionSummary[];
  /** waits for the emulator to exit (SIGTERM first unless it is exiting on its own) */
  stop(signal?: boolean): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Starts `poswipe emu --pty <tmp>/ttyN --json …` and waits until the pty is linked. */
async function startEmu(args: string[]): Promise<Emu> {
  const tty = path.join(work, `tty${++serial}`);
  const proc = spawn(process.execPath, [CLI, 'emu', '--pty', tty, '--json', ...args], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const sessions: SessionSummary[] = [];
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`emu did not start: ${stdout}${stderr}`)), 10000);
    proc.stdout!.setEncoding('utf8');
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (s: string) => (stderr += s));
    proc.stdout!.on('data', (s: string) => {
      stdout += s;
      for (const line of s.split('\n')) if (line.startsWith('{')) sessions.push(JSON.parse(line));
      if (/serving on/.test(stdout)) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`emu exited with ${code} before serving: ${stdout}${stderr}`));
    });
  });
  return {
    proc,
    tty,
    sessions,
    stop: async (signal = true) => {
      if (signal && proc.exitCode === null) proc.kill('SIGTERM');
      const code = await exited;
      return { code, stdout, stderr };
    },
  };
}

/** Runs stm32flash against the emulator's pty (8N1: a pty carries no parity). */
function stm32flash(emu: Emu, args: string[]): { code: number; out: string } {
  const r = spawnSync('stm32flash', ['-m', '8n1', '-b', '115200', ...args, emu.tty], { encoding: 'utf8', timeout: 20000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** The session lines arrive asynchronously: wait until `n` have been reported. */
async function sessions(emu: Emu, n: number): Promise<SessionSummary[]> {
  for (let i = 0; i < 200 && emu.sessions.length < n; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(emu.sessions.length >= n, `expected ${n} session line(s), got ${emu.sessions.length}`);
  return emu.sessions;
}

function crcOf(bytes: Uint8Array): string {
  return `0x${stm32Crc32(bytes).toString(16).padStart(8, '0')}`;
}

test('stm32flash identifies the emulated F407 from its own device table (PID 0x413)', async (t) => {
  if (!needTools(t)) return;
  const emu = await startEmu(['--board', 'stm32f407']);
  try {
    const r = stm32flash(emu, []);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /Interface serial_posix: 115200 8N1/);
    assert.match(r.out, /Version\s+: 0x31/);
    assert.match(r.out, /Device ID\s+: 0x0413 \(STM32F40xxx\/41xxx\)/);
    assert.doesNotMatch(r.out, /Warning/);
    const [s] = await sessions(emu, 1);
    assert.equal(s.ended, 'port closed');
    assert.deepEqual(s.commands, { 'Get Version': 1, Get: 1, 'Get ID': 1 });
    assert.equal(s.syncs, 1);
    assert.equal(s.bytesIn, 7); // 0x7F and three commands
  } finally {
    await emu.stop();
  }
});

test('stm32flash reads ranges to a file, byte for byte the emulated flash', async (t) => {
  if (!needTools(t)) return;
  const img = imageFile();
  const emu = await startEmu(['--board', 'stm32f407', '--emu-image', img.file]);
  try {
    for (const [address, length] of [
      [FLASH, 0x400],
      [0x080e0010, 1000], // not a multiple of 256: the last read is short
    ]) {
      const out = path.join(work, `read-${++serial}.bin`);
      const r = stm32flash(emu, ['-r', out, '-S', `0x${address.toString(16)}:${length}`]);
      assert.equal(r.code, 0, r.out);
      assert.ok(readFileSync(out).equals(img.bytes.subarray(address - FLASH, address - FLASH + length)), `read of 0x${address.toString(16)}`);
    }
  } finally {
    await emu.stop();
  }
  assert.ok(readFileSync(img.file).equals(img.bytes), 'reading changed nothing');
});

test('stm32flash writes with verify: the sector is erased first, the data lands, padding is 0xFF, nothing else moves', async (t) => {
  if (!needTools(t)) return;
  const img = imageFile();
  const data = randomBytes(3001); // not a multiple of 4: stm32flash pads the last word with 0xFF
  const file = path.join(work, `write-${++serial}.bin`);
  writeFileSync(file, data);
  const emu = await startEmu(['--board', 'stm32f407', '--emu-image', img.file]);
  try {
    const r = stm32flash(emu, ['-w', file, '-v', '-S', '0x08008000']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /Wrote and verified address 0x08008bb9 \(100\.00%\)/);
    const [s] = await sessions(emu, 1);
    assert.equal(s.commands['Extended Erase'], 1);
    assert.equal(s.flash.erases, 1);
    assert.equal(s.commands['Write Memory'], 12);
    assert.ok(s.commands['Read Memory'] >= 12, 'verified by reading back');
  } finally {
    await emu.stop();
  }
  const after = readFileSync(img.file);
  const off = 0x8000;
  assert.ok(after.subarray(off, off + data.length).equals(data), 'written bytes');
  assert.ok(
    after.subarray(off + data.length, off + 0x4000).every((b) => b === 0xff),
    'rest of sector 2 erased (and the padding left it so)',
  );
  assert.ok(after.subarray(0, off).equals(img.bytes.subarray(0, off)), 'sectors 0-1 untouched');
  assert.ok(after.subarray(off + 0x4000).equals(img.bytes.subarray(off + 0x4000)), 'sectors 3-11 untouched');
});

test('stm32flash erase only (-o): a page-aligned range erases exactly its sectors, no range erases everything', async (t) => {
  if (!needTools(t)) return;
  const img = imageFile();
  const emu = await startEmu(['--board', 'stm32f407', '--emu-image', img.file]);
  try {
    let r = stm32flash(emu, ['-o', '-S', '0x08004000:0x8000']);
    assert.equal(r.code, 0, r.out);
    const [s] = await sessions(emu, 1);
    assert.equal(s.flash.erases, 2, 'sectors 1 and 2 in one Extended Erase page list');
    const mid = readFileSync(img.file);
    assert.ok(mid.subarray(0x4000, 0xc000).every((b) => b === 0xff));
    assert.ok(mid.subarray(0, 0x4000).equals(img.bytes.subarray(0, 0x4000)));
    assert.ok(mid.subarray(0xc000).equals(img.bytes.subarray(0xc000)));

    r = stm32flash(emu, ['-o']);
    assert.equal(r.code, 0, r.out);
    const [, whole] = await sessions(emu, 2);
    assert.equal(whole.commands['Extended Erase'], 1, 'one mass erase (0xFFFF)');
    assert.equal(whole.flash.erases, 12);
    assert.ok(whole.terminalSeconds > 8 && whole.terminalSeconds < 9.5, `mass erase takes the board's sector times: ${whole.terminalSeconds}`);
  } finally {
    await emu.stop();
  }
  assert.ok(
    readFileSync(img.file).every((b) => b === 0xff),
    'all 0xFF',
  );
});

test('stm32flash -C: by reading back (no 0xA1) and by Get Checksum (0xA1), both equal to the CRC of the flash', async (t) => {
  if (!needTools(t)) return;
  const img = imageFile();
  const range = { address: 0x08010000, length: 0x1000 };
  const expected = crcOf(img.bytes.subarray(range.address - FLASH, range.address - FLASH + range.length));
  for (const board of ['stm32f407', CHECKSUM_BOARD]) {
    const emu = await startEmu(['--board', board, '--emu-image', img.file]);
    try {
      const r = stm32flash(emu, ['-C', '-S', `0x${range.address.toString(16)}:${range.length}`]);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, new RegExp(`CRC\\(0x08010000-0x08011000\\) = ${expected}`));
      const [s] = await sessions(emu, 1);
      if (board === CHECKSUM_BOARD) {
        assert.equal(s.commands['Get Checksum'], 1);
        assert.equal(s.commands['Read Memory'], undefined);
      } else {
        assert.equal(s.commands['Get Checksum'], undefined);
        assert.equal(s.commands['Read Memory'], 16);
      }
    } finally {
      await emu.stop();
    }
  }
});

test('stm32flash -j: RDP level 1 and a reset; reads are then refused, the flash is kept', async (t) => {
  if (!needTools(t)) return;
  const img = imageFile();
  const emu = await startEmu(['--board', 'stm32f407', '--emu-image', img.file]);
  try {
    let r = stm32flash(emu, ['-j']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /Read-Protecting flash\s+Done\./);
    const [s] = await sessions(emu, 1);
    assert.deepEqual(s.rdp, { from: 0, to: 1 });
    assert.match(s.ended, /^part reset: readout protect/);

    r = stm32flash(emu, ['-r', path.join(work, `locked-${++serial}.bin`), '-S', '0x08000000:256']);
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, /Got NACK from device on command 0x11/);
    const [, locked] = await sessions(emu, 2);
    assert.deepEqual(locked.refused, { 'Read Memory': 1 });
  } finally {
    await emu.stop();
  }
  assert.ok(readFileSync(img.file).equals(img.bytes), 'readout protect erases nothing');
});

test('stm32flash -k: the protected part mass-erases itself, drops to RDP 0 and resets; reads work again', async (t) => {
  if (!needTools(t)) return;
  const img = imageFile();
  const emu = await startEmu(['--board', 'stm32f407', '--emu-image', img.file, '--emu-rdp', '1']);
  try {
    let r = stm32flash(emu, ['-k']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /Read-UnProtecting flash\s+Done\./);
    const [s] = await sessions(emu, 1);
    assert.deepEqual(s.rdp, { from: 1, to: 0 });
    assert.equal(s.flash.erases, 12);
    assert.match(s.ended, /^part reset: readout unprotect/);

    const out = path.join(work, `unlocked-${++serial}.bin`);
    r = stm32flash(emu, ['-r', out, '-S', '0x08000000:512']);
    assert.equal(r.code, 0, r.out);
    assert.ok(readFileSync(out).every((b) => b === 0xff));
  } finally {
    await emu.stop();
  }
  assert.ok(
    readFileSync(img.file).every((b) => b === 0xff),
    'mass-erased',
  );
});

test('stm32flash -g: the application starts and the bootloader stops answering until a reset', async (t) => {
  if (!needTools(t)) return;
  const emu = await startEmu(['--board', 'stm32f407', '--no-hangup-reset']);
  try {
    let r = stm32flash(emu, ['-g', '0x08000000']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /Starting execution at address 0x08000000\.\.\. done\./);
    const [s] = await sessions(emu, 1);
    assert.equal(s.ended, 'application started at 0x08000000');
    assert.deepEqual(s.go, [{ address: '0x08000000', into: 'application' }]);
    r = stm32flash(emu, []);
    assert.notEqual(r.code, 0, 'nobody answers the sync while the application runs');
    assert.match(r.out, /Failed to init device/);
  } finally {
    await emu.stop();
  }
});

test('stm32flash -R resets the part through code in RAM (SYSRESETREQ); the next run finds the bootloader', async (t) => {
  if (!needTools(t)) return;
  const emu = await startEmu(['--board', 'stm32f407', '--no-hangup-reset']);
  try {
    let r = stm32flash(emu, ['-R']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /Reset done\./);
    const [s] = await sessions(emu, 1);
    assert.match(s.ended, /^part reset: software reset \(SYSRESETREQ\)/);
    assert.deepEqual(s.go, [{ address: '0x20003000', into: 'reset' }]);
    r = stm32flash(emu, []);
    assert.equal(r.code, 0, r.out);
    assert.doesNotMatch(r.out, /Warning/, 'a fresh sync after the reset: ACK, not NACK');
  } finally {
    await emu.stop();
  }
});

test('stm32flash on a part with the legacy Erase (0x43, STM32F103xB): write, verify, erase', async (t) => {
  if (!needTools(t)) return;
  const img = { file: path.join(work, `f103-${++serial}.bin`), bytes: randomBytes(128 * 1024) };
  writeFileSync(img.file, img.bytes);
  const data = randomBytes(2048);
  const file = path.join(work, `w103-${++serial}.bin`);
  writeFileSync(file, data);
  const emu = await startEmu(['--board', 'stm32f103xb', '--emu-image', img.file]);
  try {
    let r = stm32flash(emu, ['-w', file, '-v', '-S', '0x08001000']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /Device ID\s+: 0x0410/);
    const [s] = await sessions(emu, 1);
    assert.equal(s.commands.Erase, 1);
    assert.equal(s.flash.erases, 2, 'two 1 KiB pages');
    const mid = readFileSync(img.file);
    assert.ok(mid.subarray(0x1000, 0x1800).equals(data));
    assert.ok(mid.subarray(0x1800).equals(img.bytes.subarray(0x1800)));
    r = stm32flash(emu, ['-o']);
    assert.equal(r.code, 0, r.out);
  } finally {
    await emu.stop();
  }
  assert.ok(readFileSync(img.file).every((b) => b === 0xff));
});

test('emu --exit-after 2 stops by itself after two sessions, image saved', async (t) => {
  if (!needTools(t)) return;
  const image = path.join(work, `exit-after-${++serial}.bin`);
  const emu = await startEmu(['--board', 'stm32f407', '--emu-image', image, '--exit-after', '2']);
  assert.equal(stm32flash(emu, []).code, 0);
  assert.equal(stm32flash(emu, ['-o', '-S', '0x08000000:0x4000']).code, 0);
  const r = await emu.stop(false);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(emu.sessions.length, 2);
  assert.ok(!existsSync(emu.tty), 'the pty link is removed');
  assert.ok(
    readFileSync(image)
      .subarray(0, 0x4000)
      .every((b) => b === 0xff),
  );
});

/** A Transport over a child's standard input/output. */
class PipeTransport implements Transport {
  readonly description = 'emu --stdio';
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private counters: LinkStats = { bytesTx: 0, bytesRx: 0 };
  private readonly t0 = Date.now();

  constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.counters.bytesRx += c.length;
      this.waiter?.();
    });
  }
  async write(data: Uint8Array): Promise<void> {
    this.counters.bytesTx += data.length;
    await new Promise<void>((resolve, reject) => this.child.stdin!.write(data, (err) => (err ? reject(err) : resolve())));
  }
  async read(n: number, timeoutMs: number): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    while (this.buf.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError(`expected ${n} byte(s), got ${this.buf.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
    const out = new Uint8Array(this.buf.subarray(0, n));
    this.buf = this.buf.subarray(n);
    return out;
  }
  async discardInput(): Promise<void> {
    this.buf = Buffer.alloc(0);
  }
  async setSignals(): Promise<void> {}
  async sleep(ms: number): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
  }
  async close(): Promise<void> {
    this.child.stdin!.end();
  }
  stats(): LinkStats {
    return { ...this.counters };
  }
  terminalTime(): number {
    return (Date.now() - this.t0) / 1000;
  }
}

test('emu --stdio: the host BootloaderClient talks AN3155 through the pipes; the image keeps what it wrote', async () => {
  const img = imageFile();
  const child = spawn(process.execPath, [CLI, 'emu', '--stdio', '--json', '--board', CHECKSUM_BOARD, '--emu-image', img.file], {
    cwd: work,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => (stderr += s));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const transport = new PipeTransport(child);
  const client = new BootloaderClient(transport, { byteTimeoutMs: 3000 });
  await client.sync();
  const info = await client.get();
  assert.equal(info.version, 0x31);
  assert.ok(info.commands.includes(0xa1));
  assert.equal(await client.getId(), 0x413);
  const head = await client.readMemory(FLASH, 600);
  assert.ok(Buffer.from(head).equals(img.bytes.subarray(0, 600)));
  await client.erasePages([1], 5000);
  const data = randomBytes(1000);
  await client.writeMemory(0x08004000, data);
  const expected = Buffer.alloc(0x4000, 0xff);
  data.copy(expected);
  assert.equal(await client.getChecksum(0x08004000, 0x4000), stm32Crc32(expected));
  await transport.close();
  assert.equal(await exited, 0, stderr);
  const lines = stderr.split('\n').filter((l) => l.startsWith('{'));
  assert.equal(lines.length, 1, stderr);
  const s = JSON.parse(lines[0]) as SessionSummary;
  assert.equal(s.ended, 'input ended');
  assert.equal(s.flash.erases, 1);
  assert.equal(s.commands['Get Checksum'], 1);
  const after = readFileSync(img.file);
  assert.ok(after.subarray(0x4000, 0x8000).equals(expected));
  assert.ok(after.subarray(0x8000).equals(img.bytes.subarray(0x8000)));
});

test('emu: a bad fault spec is bad usage (exit 2) naming the spec; so is a missing endpoint', () => {
  let r = runCli(['emu', '--board', 'stm32f407', '--stdio', '--emu-fault', 'bad']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /bad fault spec "bad"/);
  r = runCli(['emu', '--board', 'stm32f407', '--stdio', '--fault', 'drop=2']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /bad fault spec "drop=2"/);
  r = runCli(['emu', '--board', 'stm32f407']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--pty <path> or --stdio/);
});

test('emu --help describes every fault', () => {
  const r = runCli(['emu', '--help']);
  assert.equal(r.code, 0, r.stderr);
  for (const line of FAULT_HELP) {
    const [spec, description] = line.split(/\s{2,}/);
    assert.ok(r.stdout.includes(spec), `help names ${spec}`);
    assert.ok(r.stdout.replace(/\s+/g, ' ').includes(description.replace(/\s+/g, ' ')), `help describes ${spec}`);
  }
  for (const opt of ['--pty <path>', '--stdio', '--exit-after <n>', '--emu-fault <spec>', '--emu-image <file>']) assert.ok(r.stdout.includes(opt), opt);
});
