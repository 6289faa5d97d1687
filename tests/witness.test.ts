import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listBoards, sectorsOf } from '../host/boards/load';
import type { Board, Sector } from '../host/boards/types';
import { boardWithFlashSize } from '../host/boards/layout';
import { EmulatedTerminal, type TerminalOptions } from '../host/emulator/terminal';
import { EmulatedTransport } from '../host/transport/emulated';
import { parseFaults } from '../host/emulator/faults';
import { eraseReport } from '../host/app/report';
import { eraseSummary } from '../host/cli/summary';
import { buildCertificate } from '../host/records/certificate';
import { parseOperatorConfig } from '../host/records/config';
import { planErase } from '../host/plan/erase-plan';
import { METHODS, METHOD_SPECS } from '../host/plan/methods';
import { DEFAULT_WITNESS_TARGET, chunksForTarget, drawWitnessSample, escapeProbability, WITNESS_CHUNK_BYTES } from '../host/plan/witness-sample';
import { eraseTerminal, type EraseOutcome } from '../host/session/erase';
import { emulated, engineModule } from './helpers';

/** A pinned randomness source: SHA-256 of a label and a counter (so a run is reproducible). */
function pinned(label: string): (n: number) => Uint8Array {
  let i = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let off = 0; off < n; off += 32)
      out.set(
        createHash('sha256')
          .update(`${label}:${i++}`)
          .digest()
          .subarray(0, Math.min(32, n - off)),
        off,
      );
    return out;
  };
}

function inPlanned(o: EraseOutcome, address: number, size: number): boolean {
  return o.plan.sectors.some((s) => address >= s.address && address + size <= s.address + s.size);
}

const agentBoards = listBoards().filter((b) => b.agent);

// ---- the sampler (pure) ----

test('witness count rule: n = ceil(ln P / ln(1 - f)); the default f = 5 %, P = 1e-6 gives 270', () => {
  assert.equal(chunksForTarget(DEFAULT_WITNESS_TARGET), 270);
  assert.equal(chunksForTarget({ fraction: 0.01, escape: 1e-6 }), 1375);
  assert.equal(chunksForTarget({ fraction: 0.1, escape: 1e-3 }), 66);
  for (const t of [DEFAULT_WITNESS_TARGET, { fraction: 0.01, escape: 1e-9 }, { fraction: 0.2, escape: 0.01 }]) {
    const n = chunksForTarget(t);
    assert.ok(escapeProbability(t.fraction, n) <= t.escape, `n=${n} meets the target`);
    assert.ok(escapeProbability(t.fraction, n - 1) > t.escape, `n-1=${n - 1} does not: n is the smallest`);
  }
  assert.throws(() => chunksForTarget({ fraction: 0, escape: 1e-6 }), RangeError);
  assert.throws(() => chunksForTarget({ fraction: 0.05, escape: 1 }), RangeError);
});

test('witness sample: every planned sector gets a chunk, n more uniform, all inside planned sectors, no repeats', () => {
  for (const board of agentBoards) {
    const plan = planErase(board);
    const seed = new Uint8Array(32).fill(7);
    const s = drawWitnessSample(plan.sectors, seed);
    assert.equal(s.chunkBytes, WITNESS_CHUNK_BYTES);
    assert.equal(s.perSector, plan.sectors.length);
    assert.equal(s.uniform, 270, board.id);
    assert.equal(s.chunks.length, plan.sectors.length + 270, board.id);
    assert.equal(new Set(s.chunks.map((c) => c.address)).size, s.chunks.length, 'no chunk twice');
    for (const sector of plan.sectors)
      assert.ok(
        s.chunks.some((c) => c.address >= sector.address && c.address < sector.address + sector.size),
        `${board.id} sector ${sector.index} has a chunk`,
      );
    for (const c of s.chunks) {
      const sector = plan.sectors.find((x) => c.address >= x.address && c.address < x.address + x.size);
      assert.ok(sector, `${board.id} chunk 0x${c.address.toString(16)} lies in a planned sector`);
      assert.ok(c.address + c.size <= sector.address + sector.size);
      assert.equal((c.address - sector.address) % WITNESS_CHUNK_BYTES, 0);
    }
    // skipped (protected) sectors are never read: the plan keeps them as they are
    for (const k of plan.skipped) assert.ok(!s.chunks.some((c) => c.address >= k.sector.address && c.address < k.sector.address + k.sector.size));
    assert.deepEqual(
      s.chunks.map((c) => c.address),
      [...s.chunks.map((c) => c.address)].sort((a, b) => a - b),
    );
  }
});

test('witness sample: deterministic for one seed, different for another', () => {
  const board = agentBoards.find((b) => b.id === 'stm32f407')!;
  const sectors = planErase(board).sectors;
  const a = drawWitnessSample(sectors, new Uint8Array(32).fill(1));
  const b = drawWitnessSample(sectors, new Uint8Array(32).fill(1));
  const c = drawWitnessSample(sectors, new Uint8Array(32).fill(2));
  assert.deepEqual(a, b);
  const common = c.chunks.filter((x) => a.chunks.some((y) => y.address === x.address)).length;
  assert.ok(common < a.chunks.length / 4, `a fresh seed draws other addresses (${common} of ${a.chunks.length} in common)`);
});

test('witness sample: a flash with fewer slots than n is read whole; an odd sector size gives a short last chunk', () => {
  const sectors: Sector[] = [
    { index: 0, address: 0x1000, size: 64, bank: 1 },
    { index: 1, address: 0x2000, size: 100, bank: 1 },
  ];
  const s = drawWitnessSample(sectors, new Uint8Array(32));
  assert.deepEqual(s.chunks, [
    { address: 0x1000, size: 32 },
    { address: 0x1020, size: 32 },
    { address: 0x2000, size: 32 },
    { address: 0x2020, size: 32 },
    { address: 0x2040, size: 32 },
    { address: 0x2060, size: 4 },
  ]);
  assert.equal(s.uniform + s.perSector, 6);
});

// ---- sessions ----

test('a normal run verifies with the witness: ok, inside planned sectors, reported and summarised', async () => {
  const { board, transport } = emulated('acme-t400');
  const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() });
  assert.equal(o.verified, true, o.reason ?? '');
  assert.ok(o.witness);
  assert.equal(o.witness.ok, true);
  assert.deepEqual(o.witness.mismatches, []);
  assert.equal(o.witness.error, null);
  assert.equal(o.witness.chunks, o.witness.addresses.length);
  assert.equal(o.witness.chunks, o.plan.sectors.length + 270);
  assert.ok(o.plan.skipped.length > 0, 'acme-t400 keeps its boot sector');
  for (const a of o.witness.addresses) assert.ok(inPlanned(o, a, o.witness.chunkBytes), `0x${a.toString(16)} is planned`);
  assert.ok(o.witness.escapeBound <= 1e-6);
  assert.ok((o.terminalTimings.witness ?? 0) > 0, 'the witness has its own phase time');
  const report = eraseReport(o, { board: board.id, certificate: null, backup: null });
  assert.equal((report.witness as { ok: boolean }).ok, true);
  assert.match(eraseSummary(o, board.id), /witness \d+ chunks of 32 B read through the ROM bootloader: all erased/);
});

test('the witness seed is fresh: a pinned random gives the same addresses, another random other ones', async () => {
  const run = async (label: string): Promise<EraseOutcome> => {
    const { board, transport } = emulated('stm32f205', { emulation: 'model' });
    return eraseTerminal(transport, { board, method: 'clear', verify: 'sample', module: engineModule(), random: pinned(label) });
  };
  const a = await run('a');
  const b = await run('a');
  const c = await run('c');
  for (const o of [a, b, c]) assert.equal(o.verified, true, o.reason ?? '');
  assert.deepEqual(a.witness!.addresses, b.witness!.addresses);
  assert.equal(a.witness!.seed, b.witness!.seed);
  assert.notEqual(a.witness!.seed, c.witness!.seed);
  assert.notDeepEqual(a.witness!.addresses, c.witness!.addresses);
  // the witness seed is not the nonce the agent was given, nor any seed it saw
  assert.notEqual(a.witness!.seed, a.nonce);
  for (const p of a.passes) if (p.seed) assert.ok(!a.witness!.seed.startsWith(p.seed));
});

/** Every method with each verify mode it allows. */
const methodModes = METHODS.flatMap((method) =>
  (METHOD_SPECS[method].allowsSampling ? (['full', 'sample'] as const) : (['full'] as const)).map((verify) => ({ method, verify })),
);

/**
 * Runs every method on `board` with fake-digests and checks that the agent's side of the lie is
 * perfect (every digest matched) and the witness caught it, with the true flash untouched.
 */
async function fakeDigestsCaught(board: Board, options: TerminalOptions = {}): Promise<void> {
  for (const { method, verify } of methodModes) {
    const { terminal, transport } = emulatedBoard(board, { ...options, faults: parseFaults(['fake-digests']) });
    const before = Buffer.from(terminal.flash.bytes);
    const o = await eraseTerminal(transport, { board, method, verify, module: engineModule() });
    const what = `${board.id} (${board.flash.size / 1024} KiB) ${method} ${verify} (${o.emulation})`;
    assert.deepEqual(o.failed, [], what);
    assert.ok(
      o.passes.every((p) => p.verified),
      what,
    );
    assert.equal(o.verified, false, what);
    assert.ok(o.witness && !o.witness.ok && o.witness.mismatches.length > 0, what);
    assert.match(o.reason ?? '', new RegExp(`first at 0x${o.witness.mismatches[0].toString(16).padStart(8, '0')}`), what);
    assert.ok(before.equals(Buffer.from(terminal.flash.bytes)), `${what}: the true flash is unchanged`);
  }
}

function emulatedBoard(board: Board, options: TerminalOptions): { terminal: EmulatedTerminal; transport: EmulatedTransport } {
  const terminal = new EmulatedTerminal(board, options);
  return { terminal, transport: new EmulatedTransport(terminal) };
}

test('fake-digests, model runner: every agent board (whole flash) and method is not verified, the flash unchanged', async () => {
  for (const board of agentBoards) await fakeDigestsCaught(board, { emulation: 'model' });
});

// The instruction-level runner executes SHA-256 and the PRNG in emulated code: the whole matrix at
// full flash size takes minutes, so the file runs each F2/F4 board as its 128 KiB variant (the same
// sector layout, flash interface and agent; the part's flash-size register says 128 KiB) unless
// POSWIPE_WITNESS_FULL=1 asks for the full size.
test('fake-digests, default runner: every agent board and method is not verified, the flash unchanged', async () => {
  const full = process.env.POSWIPE_WITNESS_FULL === '1';
  // an L4 part's second bank lies at half its flash size: a cut-down copy of the 1 MiB board is not a real part, so it runs whole
  for (const board of agentBoards) await fakeDigestsCaught(full || board.flashInterface === 'stm32l4' ? board : boardWithFlashSize(board, 128 * 1024));
});

test('fake-digests on the model runner: not verified; the same terminal without the fault verifies', async () => {
  const { board, terminal, transport } = emulated('stm32l476', { emulation: 'model', faults: parseFaults(['fake-digests']) });
  const o = await eraseTerminal(transport, { board, method: 'dod3', verify: 'full', module: engineModule() });
  assert.equal(o.emulation, 'model');
  assert.equal(o.verified, false);
  assert.ok(
    o.passes.every((p) => p.verified),
    'the model reported the expected digests',
  );
  assert.equal(o.witness?.ok, false);
  terminal.faults.fakeDigests = false;
  const again = await eraseTerminal(transport, { board, method: 'dod3', verify: 'full', module: engineModule() });
  assert.equal(again.verified, true, again.reason ?? '');
  assert.equal(again.witness?.ok, true);
});

test('read protection set after the erase: the witness cannot read, the run is not verified and says so', async () => {
  const { board, terminal, transport } = emulated('stm32f407', { emulation: 'model' });
  let agentRan = false;
  // simulated: the part comes back from the agent with RDP level 1 (as if the option bytes were programmed)
  terminal.observe((e) => {
    if (e.type === 'go' && e.into === 'agent') agentRan = true;
    if (e.type === 'restart' && e.into === 'bootloader' && agentRan) terminal.setRdp(1);
  });
  const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'sample', module: engineModule() });
  assert.ok(agentRan);
  assert.equal(o.verified, false);
  assert.ok(
    o.passes.every((p) => p.verified),
    'the agent itself verified',
  );
  assert.match(o.witness?.error ?? '', /NACK/);
  assert.match(o.reason ?? '', /witness could not read/);
});

test("unlock path: the part's own mass erase is checked by the agent and witnessed through the ROM", async () => {
  const { board, transport } = emulated('stm32f407', { rdp: 1, emulation: 'model' });
  const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', unlock: true, module: engineModule() });
  assert.equal(o.unlocked, true);
  assert.equal(o.verified, true, o.reason ?? '');
  assert.equal(o.witness?.ok, true);
  // after Readout Unprotect the whole flash is planned (protected regions too), and the witness reads all of it
  assert.equal(o.witness!.perSector, o.plan.sectors.length);
});

test('the certificate carries the witness as data', async () => {
  const { board, transport } = emulated('stm32f205', { emulation: 'model' });
  const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'sample', module: engineModule() });
  assert.equal(o.verified, true, o.reason ?? '');
  const operator = parseOperatorConfig('{}', 'poswipe.json');
  const cert = buildCertificate({
    outcome: o,
    board,
    operator,
    backup: { taken: false, path: null, sha256: null, encryption: null, regions: [], note: 'test' },
    started: new Date(),
    ended: new Date(),
    command: 'erase',
  });
  const w = ((cert.sanitization as Record<string, unknown>).verification as Record<string, unknown>).witness as Record<string, unknown>;
  assert.equal(w.ok, true);
  assert.equal(w.chunks, o.witness!.chunks);
  assert.equal(w.seed, o.witness!.seed);
  assert.equal(w.addresses, o.witness!.addresses.map((a) => `0x${a.toString(16).padStart(8, '0')}`).join(' '));
  // the addresses follow from the seed and the planned sectors: a reader can recompute them
  const again = drawWitnessSample(o.plan.sectors, Buffer.from(String(w.seed), 'hex'));
  assert.deepEqual(
    again.chunks.map((c) => c.address),
    o.witness!.addresses,
  );
});

test("bootloader-only boards have no witness (their check is already the ROM's)", async () => {
  const { board, transport } = emulated('stm32f103xb');
  const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'sample', module: engineModule() });
  assert.equal(o.verified, true, o.reason ?? '');
  assert.equal(o.witness, null);
  assert.equal(eraseReport(o, { board: board.id, certificate: null, backup: null }).witness, null);
});

test('fake-digests through the CLI: exit 1, the JSON report shows the witness, no certificate', async () => {
  const { main } = await import('../host/cli/main');
  const dir = mkdtempSync(join(tmpdir(), 'poswipe-witness-'));
  const out: string[] = [];
  const ow = process.stdout.write;
  const ew = process.stderr.write;
  // the CLI writes strings; node --test's own reporter writes bytes on this stream too: those pass through
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk === 'string') return (out.push(chunk), true);
    return (ow as (...a: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
  }) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  let code: number;
  try {
    code = await main([
      'erase',
      '--board',
      'stm32f407',
      '--port',
      'emu',
      '--method',
      'clear',
      '--verify',
      'sample',
      '--no-backup',
      '--quiet',
      '--json',
      '--cert',
      join(dir, 'certs'),
      '--audit-db',
      join(dir, 'audit.db'),
      '--emu-fault',
      'fake-digests',
    ]);
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
  try {
    assert.equal(code, 1);
    const report = JSON.parse(out.join('')) as {
      verified: boolean;
      certificate: string | null;
      witness: { ok: boolean; mismatches: string[]; chunks: number };
    };
    assert.equal(report.verified, false);
    assert.equal(report.witness.ok, false);
    assert.ok(report.witness.mismatches.length > 0);
    assert.equal(report.certificate, null);
    const files = readdirSync(join(dir, 'certs'));
    assert.ok(!files.some((f) => f.endsWith('.cert.json')), files.join(', '));
    assert.ok(files.some((f) => f.endsWith('.NOT-SANITIZED.json')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('parseFaults: fake-digests', () => {
  assert.equal(parseFaults([]).fakeDigests, false);
  assert.equal(parseFaults(['fake-digests']).fakeDigests, true);
  assert.equal(sectorsOf(agentBoards[0]).length > 0, true);
});
