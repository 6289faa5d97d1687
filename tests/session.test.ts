import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eraseTerminal } from '../host/session/erase';
import { eraseReport } from '../host/app/report';
import { eraseSummary } from '../host/cli/summary';
import { DeviceError, SafetyError } from '../host/errors';
import { CYCLES_PER_INSTRUCTION } from '../host/emulator/cpu/machine';
import { parseFaults } from '../host/emulator/faults';
import { blankOutside, emulated, engineModule, referenceDigest } from './helpers';
import { loadBoard } from '../host/boards/load';
import { EmulatedTerminal } from '../host/emulator/terminal';
import { EmulatedTransport } from '../host/transport/emulated';
import { planErase } from '../host/plan/erase-plan';
import { MAX_RETRIES, conclude, type OutcomeParts } from '../host/session/outcome';
import { PhaseClock } from '../host/session/phase-clock';
import type { BlockState } from '../host/session/request';

/** a stop asked by the operator (the CLI's Ctrl-C, the station's Stop), as the test's own error class */
class StoppedError extends Error {}

test('clear on an emulated F407: 256 blocks verified, digests reproduce independently, flash blank', async () => {
  const { board, terminal, transport } = emulated('stm32f407');
  assert.ok(!blankOutside(terminal, 0xff), 'a new emulated terminal must not start blank');
  const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() });
  assert.equal(o.verified, true, o.reason ?? '');
  assert.equal(o.blocks.length, 256);
  assert.equal(o.blockSize, 4096);
  const ff = new Uint8Array(4096).fill(0xff);
  for (const b of o.blocks) {
    assert.equal(b.ok, true);
    // each block's digest is under its own job's nonce (one nonce per job)
    assert.equal(b.digest, referenceDigest(b.nonce!, b.address, ff));
  }
  assert.equal(o.blocks[0].address, 0x08000000);
  assert.equal(o.blocks[255].address, 0x080ff000);
  assert.ok(blankOutside(terminal, 0xff));
  assert.match(o.identity.uid ?? '', /^[0-9a-f]{24}$/);
  // the emulated terminal ran the agent with the model (no instruction-level runner registered here); the report says so
  assert.equal(o.emulation, terminal.emulation);
  assert.equal(eraseReport(o, { board: board.id, certificate: null, backup: null }).emulation, terminal.emulation);
  assert.match(eraseSummary(o, board.id), /emulated terminal: /);
});

test('a fresh nonce per run: the same terminal gives different digests', async () => {
  const { board, transport } = emulated('stm32f407');
  const a = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() });
  const b = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() });
  assert.notEqual(a.nonce, b.nonce);
  assert.notEqual(a.blocks[0].digest, b.blocks[0].digest);
});

test('stuck byte: not verified, the block 0x08012000 named, sector retried', async () => {
  const { board, terminal, transport } = emulated('stm32f407', { faults: parseFaults(['stuck@0x08012345']) });
  const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() });
  assert.equal(o.verified, false);
  assert.deepEqual(o.failed, [0x08012000]);
  assert.equal(o.retries, 3);
  assert.equal(o.failedSectors[0].index, 4);
  assert.notEqual(terminal.flash.bytes[0x12345], 0xff);
});

test('product ID mismatch is refused naming both IDs, before anything is written', async () => {
  const { terminal, transport } = emulated('stm32f205');
  const before = Buffer.from(terminal.flash.bytes);
  const { board } = emulated('stm32f407');
  await assert.rejects(eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() }), (err: Error) => {
    assert.ok(err instanceof DeviceError);
    assert.match(err.message, /0x0413/);
    assert.match(err.message, /0x0411/);
    return true;
  });
  assert.ok(before.equals(Buffer.from(terminal.flash.bytes)));
});

test('read-protected terminal: refused without --unlock, nothing changed', async () => {
  const { board, terminal, transport } = emulated('stm32f407', { rdp: 1 });
  const before = Buffer.from(terminal.flash.bytes);
  await assert.rejects(eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() }), SafetyError);
  assert.ok(before.equals(Buffer.from(terminal.flash.bytes)));
});

test('read-protected terminal with unlock: mass erase by the part, then every block verified', async () => {
  const { board, terminal, transport } = emulated('stm32f407', { rdp: 1 });
  const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', unlock: true, module: engineModule() });
  assert.equal(o.verified, true, o.reason ?? '');
  assert.equal(o.unlocked, true);
  assert.equal(o.blocks.length, 256);
  assert.equal(terminal.rdpLevel, 0);
  assert.ok(blankOutside(terminal, 0xff));
});

test('erase failure of one sector: not verified, that sector named', async () => {
  const { board, transport } = emulated('stm32f407', { faults: parseFaults(['erase-fail@0x08040000']) });
  const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() });
  assert.equal(o.verified, false);
  assert.ok(
    o.failedSectors.some((s) => s.address === 0x08040000 || s.index === 6),
    JSON.stringify(o.failedSectors),
  );
});

test('purge and dod3 end blank and verified, with each pattern pass verified by digest', async () => {
  for (const method of ['purge', 'dod3'] as const) {
    const { board, terminal, transport } = emulated('stm32f407');
    const o = await eraseTerminal(transport, { board, method, verify: 'full', module: engineModule() });
    assert.equal(o.verified, true, `${method}: ${o.reason}`);
    assert.ok(
      o.passes.some((p) => p.kind === 'program' && p.verified && p.blocks === 256),
      method,
    );
    assert.ok(blankOutside(terminal, 0xff), method);
  }
});

test('purge refuses sampled verification', async () => {
  const { board, transport } = emulated('stm32f407');
  await assert.rejects(eraseTerminal(transport, { board, method: 'purge', verify: 'sample', module: engineModule() }), /full verification/);
});

test('keys are zeroized before any sector is erased (operation log order)', async () => {
  const lines: string[] = [];
  const { board, terminal, transport } = emulated('acme-t400', { log: (l) => lines.push(l) });
  const keys = board.regions.filter((r) => r.kind === 'keys');
  assert.ok(keys.length > 0);
  const protectedRegions = board.regions.filter((r) => r.kind === 'protected');
  const before = Buffer.from(terminal.flash.bytes);
  const o = await eraseTerminal(transport, { board, method: 'purge', verify: 'full', module: engineModule() });
  assert.equal(o.verified, true, o.reason ?? '');
  const firstErase = lines.findIndex((l) => / erase /.test(l));
  const keyProgram = lines.findIndex((l) => l.includes(`program 0x${keys[0].address.toString(16).padStart(8, '0')}`));
  assert.ok(keyProgram >= 0 && keyProgram < firstErase, `key program at ${keyProgram}, first erase at ${firstErase}`);
  // protected regions byte-identical, everything else blank
  for (const r of protectedRegions) {
    const off = r.address - board.flash.base;
    assert.ok(before.subarray(off, off + r.size).equals(Buffer.from(terminal.flash.bytes.subarray(off, off + r.size))));
  }
  assert.ok(blankOutside(terminal, 0xff, protectedRegions));
});

test('every board with an agent erases and verifies (dual-bank F429, 2 KiB-page L476)', async () => {
  for (const id of ['stm32f205', 'stm32f429', 'stm32l476']) {
    const { board, terminal, transport } = emulated(id);
    const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() });
    assert.equal(o.verified, true, `${id}: ${o.reason}`);
    assert.equal(
      o.blocks.reduce((n, b) => n + b.size, 0),
      board.flash.size,
      id,
    );
    assert.ok(blankOutside(terminal, 0xff), id);
  }
});

test('line faults: drop and flip at 0.1% never give a false success', async () => {
  let verified = 0;
  for (let seed = 1; seed <= 6; seed++) {
    const { board, terminal, transport } = emulated('stm32f407', { seed, faults: parseFaults(['drop=0.001', 'flip=0.001']) });
    try {
      const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() });
      if (o.verified) {
        verified++;
        assert.ok(blankOutside(terminal, 0xff), `seed ${seed}: verified but flash not blank`);
      }
    } catch (err) {
      assert.ok(err instanceof DeviceError, `seed ${seed}: ${(err as Error).message}`);
    }
  }
  assert.ok(verified >= 5, `only ${verified} of 6 runs verified under light line faults`);
});

test('timing: an emulated F407 erase takes what the board figures and, at instruction level, the hashing predict (within 10%)', async () => {
  const { board, terminal, transport } = emulated('stm32f407');
  const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() });
  assert.equal(o.verified, true);
  const eraseS = board.flash.sectors.reduce((n, r) => n + r.count * board.timing.erase.find((e) => e.unitBytes === r.size)!.typicalMs, 0) / 1000;
  const lineS = ((o.wire.bytesTx + o.wire.bytesRx) * 11) / 115200;
  // at instruction level the agent's own computation is charged too: hashing the flash once costs
  // about 41 Cortex-M4 instructions per byte (the engine under wasm2c at -O2, npm run bench) at the
  // documented CPI, on the reset clock (HSI 16 MHz); the model charges no computation
  const computeS = terminal.emulation === 'instruction' ? (board.flash.size * 41 * CYCLES_PER_INSTRUCTION) / 16e6 : 0;
  const predicted = eraseS + lineS + computeS;
  const measured = terminal.clock.now();
  assert.ok(Math.abs(measured - predicted) / predicted < 0.1, `emulated ${measured.toFixed(3)} s, predicted ${predicted.toFixed(3)} s`);
  assert.ok(Math.abs(o.terminalTimings.total - measured) < 0.01);
});

// 10 seeds here (npm test's time); the soak campaign (npm run soak) runs drop and flip over many more
test('line faults: drop and flip at 0.1% on the F407 end verified in at least 9 of 10 seeded runs', async () => {
  let verified = 0;
  for (let seed = 100; seed < 110; seed++) {
    const { board, terminal, transport } = emulated('stm32f407', { seed, faults: parseFaults(['drop=0.001', 'flip=0.001']) });
    try {
      const o = await eraseTerminal(transport, { board, method: 'purge', verify: 'full', module: engineModule() });
      if (o.verified) {
        verified++;
        assert.ok(blankOutside(terminal, 0xff), `seed ${seed}: verified but not blank`);
      }
    } catch (err) {
      assert.ok(err instanceof DeviceError, `seed ${seed}: ${(err as Error).message}`);
    }
  }
  assert.ok(verified >= 9, `${verified} of 10 verified`);
});

// ---- the one erase driver, the same cases over both backends: the agent (F407) and the ROM bootloader alone (F103xB)

const BACKENDS = [
  { id: 'stm32f407', verification: 'agent-digest', stuck: 0x08012345, block: 0x08012000 },
  { id: 'stm32f103xb', verification: 'read-back', stuck: 0x08002345, block: 0x08002000 },
] as const;

function plannedBlocks(id: string, blockSize = 4096): number[] {
  return planErase(loadBoard(id), { blockSize }).blocks.map((b) => b.address);
}

for (const be of BACKENDS) {
  test(`${be.id} (${be.verification}): an already-aborted signal throws before anything is written, no block state`, async () => {
    const { board, terminal, transport } = emulated(be.id);
    const before = Buffer.from(terminal.flash.bytes);
    const c = new AbortController();
    c.abort(new StoppedError('stop asked'));
    let blocks = 0;
    const run = eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule(), signal: c.signal, onBlock: () => blocks++ });
    await assert.rejects(run, (err: Error) => err instanceof StoppedError);
    assert.equal(blocks, 0);
    assert.ok(before.equals(Buffer.from(terminal.flash.bytes)), 'the emulated flash is unchanged');
  });

  test(`${be.id} (${be.verification}): an abort during a pass stops after that phase: erase-1 done, prng never started`, async () => {
    const { board, terminal, transport } = emulated(be.id);
    const c = new AbortController();
    const phases: string[] = [];
    const states: string[] = [];
    const run = eraseTerminal(transport, {
      board,
      method: 'purge',
      verify: 'full',
      module: engineModule(),
      signal: c.signal,
      onBlock: (_a, s) => states.push(s),
      onProgress: (p) => {
        phases.push(p.phase);
        if (p.phase === 'erase-1' && !c.signal.aborted) c.abort(new StoppedError('stop asked'));
      },
    });
    await assert.rejects(run, (err: Error) => err instanceof StoppedError && /stop asked/.test(err.message));
    assert.ok(c.signal.aborted);
    assert.ok(!phases.includes('prng'), `no phase after erase-1: ${[...new Set(phases)].join(', ')}`);
    assert.ok(!states.includes('programmed'), 'nothing programmed after the stop');
    // the phase under way when the stop came ran to its end: the whole flash was erased
    assert.ok(blankOutside(terminal, 0xff), 'erase-1 completed');
  });

  test(`${be.id} (${be.verification}): block progress for every planned block, each ending verified`, async () => {
    const { board, transport } = emulated(be.id);
    const seen = new Map<number, BlockState[]>();
    const onBlock = (a: number, s: BlockState): void => void seen.set(a, [...(seen.get(a) ?? []), s]);
    const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule(), onBlock });
    assert.equal(o.verified, true, o.reason ?? '');
    assert.equal(o.verification, be.verification);
    assert.deepEqual(
      [...seen.keys()].sort((x, y) => x - y),
      plannedBlocks(be.id),
    );
    for (const [a, s] of seen) assert.deepEqual(s, ['erased', 'verified'], `block 0x${a.toString(16)}`);
  });

  test(`${be.id} (${be.verification}): sampling checks a sample drawn after the erase, not every block`, async () => {
    // small blocks so that the flash has enough of them to sample (2 per subsection, 1,000 subsections)
    const blockSize = be.id === 'stm32f407' ? 256 : 64;
    const { board, terminal, transport } = emulated(be.id);
    const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'sample', blockSize, module: engineModule() });
    assert.equal(o.verified, true, o.reason ?? '');
    const planned = plannedBlocks(be.id, blockSize).length;
    assert.equal(o.coverage.everyBlock, false);
    assert.ok(o.coverage.fraction >= 0.1 && o.blocks.length < planned, `${o.blocks.length} of ${planned} blocks checked`);
    assert.ok(blankOutside(terminal, 0xff));
  });

  test(`${be.id} (${be.verification}): a stuck byte: its sector retried ${MAX_RETRIES} times, the block failed and named`, async () => {
    const { board, transport } = emulated(be.id, { faults: parseFaults([`stuck@0x${be.stuck.toString(16)}`]) });
    const seen = new Map<number, BlockState[]>();
    const onBlock = (a: number, s: BlockState): void => void seen.set(a, [...(seen.get(a) ?? []), s]);
    const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule(), onBlock });
    assert.equal(o.verified, false);
    assert.equal(o.retries, MAX_RETRIES);
    assert.deepEqual(o.failed, [be.block]);
    assert.ok(
      o.failedSectors.some((s) => be.block >= s.address),
      JSON.stringify(o.failedSectors),
    );
    const states = seen.get(be.block)!;
    assert.equal(states.filter((s) => s === 'erased').length, MAX_RETRIES + 1);
    assert.equal(states.at(-1), 'failed');
  });

  test(`${be.id} (${be.verification}): unlock path: the part's mass erase checked on every block`, async () => {
    const { board, terminal, transport } = emulated(be.id, { rdp: 1 });
    const o = await eraseTerminal(transport, { board, method: 'purge', verify: 'full', unlock: true, module: engineModule() });
    assert.equal(o.verified, true, o.reason ?? '');
    assert.equal(o.unlocked, true);
    assert.deepEqual(
      o.passes.map((p) => p.name),
      ['mass-erase-check'],
    );
    assert.deepEqual(
      o.blocks.map((b) => b.address),
      plannedBlocks(be.id),
    );
    assert.ok(blankOutside(terminal, 0xff));
  });

  test(`${be.id} (${be.verification}): an already-aborted signal with --unlock: the part is not mass-erased`, async () => {
    const { board, terminal, transport } = emulated(be.id, { rdp: 1 });
    const before = Buffer.from(terminal.flash.bytes);
    const c = new AbortController();
    c.abort(new StoppedError('stop asked'));
    const run = eraseTerminal(transport, { board, method: 'clear', verify: 'full', unlock: true, module: engineModule(), signal: c.signal });
    await assert.rejects(run, StoppedError);
    assert.equal(terminal.rdpLevel, 1);
    assert.ok(before.equals(Buffer.from(terminal.flash.bytes)));
  });
}

// ---- one nonce per job (issue #15 item 4)

test("every agent job has its own nonce, and each block digest recomputes under its own job's nonce", async () => {
  const { board, terminal, transport } = emulated('acme-t400');
  const o = await eraseTerminal(transport, { board, method: 'dod3', verify: 'full', module: engineModule() });
  assert.equal(o.verified, true, o.reason ?? '');
  const ff = new Uint8Array(4096).fill(0xff);
  for (const b of o.blocks) assert.equal(b.digest, referenceDigest(b.nonce!, b.address, ff.subarray(0, b.size)));
  // keys, zeros, erase-1, prng, erase-2: at least five jobs, no nonce twice; the top-level nonce is the first job's
  const report = eraseReport(o, { board: board.id, certificate: null, backup: null }) as { nonce: string; blocks: { nonce: string }[] };
  assert.equal(report.blocks[0].nonce, o.blocks[0].nonce);
  assert.notEqual(o.nonce, o.blocks[0].nonce, "the final check ran under a later job's nonce than the first");
  assert.ok(
    blankOutside(
      terminal,
      0xff,
      board.regions.filter((r) => r.kind === 'protected'),
    ),
  );
});

test('the read-back backend records its nonce with each block too', async () => {
  const { board, transport } = emulated('stm32f103xb');
  const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() });
  assert.equal(o.verification, 'read-back');
  const ff = new Uint8Array(4096).fill(0xff);
  for (const b of o.blocks) assert.equal(b.digest, referenceDigest(b.nonce!, b.address, ff.subarray(0, b.size)));
});

test("an agent that replays an earlier job's result table (simulated, replay-results) is caught: never verified with data left", async () => {
  // purge's erase-2 jobs are erase-1's jobs but for the nonce: the lying agent skips them and sends erase-1's tables
  const { board, terminal, transport } = emulated('stm32f407', { emulation: 'model', faults: parseFaults(['replay-results']) });
  const o = await eraseTerminal(transport, { board, method: 'purge', verify: 'full', module: engineModule() });
  const erase2 = o.passes.find((p) => p.name === 'erase-2')!;
  // with one nonce for the whole session the replayed tables matched and this run was VERIFIED with the PRNG stream left in flash
  assert.equal(erase2.verified, false, "the replayed tables were not taken for this job's");
  assert.equal(o.verified, false);
  assert.equal(erase2.failed.length, 256);
  assert.ok(!blankOutside(terminal, 0xff), 'the lying agent left the flash programmed (the test really simulates one)');
});

// ---- the verdict depends on every term (outcome.ts conclude)

function verdictParts(over: Partial<OutcomeParts>): OutcomeParts {
  const { board, transport } = emulated('stm32f407');
  const plan = planErase(board, {});
  const good = plan.blocks.map((b) => ({ address: b.address, size: b.size, digest: '00', blank: true, ok: true }));
  return {
    // only the identity's presence matters to the verdict
    identity: { pid: 0x413, uid: null, readProtected: false, flashSizeRegister: null, commands: [] } as unknown as OutcomeParts['identity'],
    plan,
    req: { board, method: 'clear', verify: 'full', module: new Uint8Array(0) },
    nonces: ['00'.repeat(32)],
    finalBlocks: good,
    failedSectors: [],
    passes: [{ name: 'erase', kind: 'erase', blocks: good.length, failed: [], verified: true }],
    keyRegions: [],
    keysZeroized: true,
    coverage: { subsections: good.length, fraction: 1, everyBlock: true },
    retries: 0,
    unlocked: false,
    clock: new PhaseClock(transport),
    transport,
    verification: 'agent-digest',
    ...over,
  };
}

test('conclude: verified only with every term good; dropping any one term of the verdict fails a case', () => {
  assert.equal(conclude(verdictParts({})).verified, true, 'the all-good case verifies');
  const cases: [string, Partial<OutcomeParts>][] = [
    ['no block checked', { finalBlocks: [] }],
    ['a final block not blank', { finalBlocks: verdictParts({}).finalBlocks.map((b, i) => (i === 3 ? { ...b, ok: false, blank: false } : b)) }],
    ['a pattern pass not verified', { passes: [{ name: 'prng', kind: 'program', blocks: 256, failed: [0x08000000], verified: false }] }],
    ['the key store not zeroized', { keysZeroized: false }],
    // a sector that failed to erase while every block reads blank: only failedSectors says so
    ['a sector that would not erase, all blocks blank', { failedSectors: [{ index: 6, address: 0x08040000, reason: 'erase-1: ERASE_FAILED' }] }],
  ];
  for (const [what, over] of cases) {
    const o = conclude(verdictParts(over));
    assert.equal(o.verified, false, what);
    assert.ok(o.reason && o.reason.length > 0, `${what}: a reason`);
  }
});

test('F103 (read-back): a sector whose erase reports failure while all its blocks read blank is never verified', async () => {
  // a blank image: every block reads blank although the bootloader refused the erase of one sector
  const board = loadBoard('stm32f103xb');
  const terminal = new EmulatedTerminal(board, { image: new Uint8Array(board.flash.size).fill(0xff), faults: parseFaults(['erase-fail@0x08004000']) });
  const o = await eraseTerminal(new EmulatedTransport(terminal), { board, method: 'clear', verify: 'full', module: engineModule() });
  assert.deepEqual(o.failed, []);
  assert.ok(o.blocks.every((b) => b.ok && b.blank));
  assert.equal(o.verified, false);
  assert.ok(o.failedSectors.length > 0, JSON.stringify(o.failedSectors));
});
