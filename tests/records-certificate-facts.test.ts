/**
 * Certificates state only what happened (issue 15 item 7): the method as executed, how each
 * region was verified, the engine only where it ran, the flash sizes and the witness. Runs are
 * real emulated sessions with the pinned engine as `erase` chooses it, so the witness, the engine's
 * provenance and the flash sizes are the ones the run recorded; a failed witness comes from a lying
 * terminal (fake-digests), a lying flash-size register from the flash-size fault. Only what no
 * emulated run can produce (a Get Checksum part, a signed image's engine, a flash larger than the
 * board file) is SIMULATED on top of a real outcome, and named so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MethodName } from '../host/plan/methods';
import { chooseEngine, loadPinnedManifest } from '../host/agent/pinned';
import { agentOfKind } from '../host/agent/manifest';
import { parseFaults } from '../host/emulator/faults';
import { eraseTerminal } from '../host/session/erase';
import { buildCertificate, signCertificate, type CertificateInput } from '../host/records/certificate';
import { renderCertificatePdf } from '../host/records/certificate-pdf';
import { emptyOperatorConfig } from '../host/records/config';
import { emulated, engineModule, toolSkip } from './helpers';

type Obj = Record<string, any>;

const hex32 = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

/**
 * A real emulated erase with the pinned engine and its provenance, as `erase` runs it (host/cli/run-erase.ts
 * chooseEngine); `pinned: false` is a caller that names no provenance (the session then records `custom`).
 */
async function run(boardId: string, o: { method?: MethodName; rdp?: 1; faults?: string[]; pinned?: false } = {}): Promise<CertificateInput> {
  const { board, transport } = emulated(boardId, { ...(o.rdp ? { rdp: 1 as const } : {}), ...(o.faults ? { faults: parseFaults(o.faults) } : {}) });
  const chosen = o.pinned === false ? { module: engineModule() } : chooseEngine(board, { port: 'emu' });
  const outcome = await eraseTerminal(transport, { board, method: o.method ?? 'clear', verify: 'full', unlock: o.rdp === 1, ...chosen });
  if (!o.faults?.includes('fake-digests')) assert.equal(outcome.verified, true, outcome.reason ?? '');
  return {
    outcome,
    board,
    operator: emptyOperatorConfig(),
    backup: { taken: false, path: null, sha256: null, encryption: null, regions: [], note: 'none made (--no-backup)' },
    started: new Date(0),
    ended: new Date(1000),
    command: 'erase',
  };
}

function certOf(input: CertificateInput): { cert: Obj; text: string } {
  const cert = buildCertificate(input) as Obj;
  return { cert, text: signCertificate(cert, generateKeyPairSync('ed25519').privateKey) };
}

/** The real witness's chunks that fell in a region, counted here from the outcome (not by regionRows). */
function chunksIn(input: CertificateInput, r: Obj): number {
  const w = input.outcome.witness;
  assert.ok(w, 'the agent path ran the witness');
  return w.addresses.filter((a) => a >= Number(r.address) && a < Number(r.address) + r.size).length;
}

function hasPdftotext(): boolean {
  return spawnSync('pdftotext', ['-v'], { encoding: 'utf8' }).error === undefined;
}

async function pdfText(text: string): Promise<string> {
  const pdf = await renderCertificatePdf({ document: JSON.parse(text), jsonSha256: 'ef'.repeat(32), jsonName: 'x.cert.json' });
  const dir = mkdtempSync(join(tmpdir(), 'poswipe-certpdf-'));
  writeFileSync(join(dir, 'c.pdf'), pdf);
  const r = spawnSync('pdftotext', ['-layout', join(dir, 'c.pdf'), join(dir, 'c.txt')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  // pdftotext breaks long cells over lines: join them so that sentences can be searched whole
  return readFileSync(join(dir, 'c.txt'), 'utf8').replace(/\s+/g, ' ');
}

test('an unlocked dod3 run: the certificate says mass erase + blank check, lists only the passes that ran, and never says overwrite', async () => {
  const input = await run('acme-t400', { method: 'dod3', rdp: 1 });
  assert.equal(input.outcome.unlocked, true);
  const { cert, text } = certOf(input);
  const san = cert.sanitization;
  assert.equal(san.methodUsed, 'mass erase (Readout Unprotect) + blank check');
  assert.equal(san.methodType, 'Clear');
  assert.equal(san.method, 'dod3', 'the method asked for is kept, as asked');
  assert.equal(san.unlocked, true);
  assert.match(san.methodDetails, /the passes of the requested method \(dod3\) did not run/);
  assert.deepEqual(
    san.passes.map((p: Obj) => p.name),
    input.outcome.passes.map((p) => p.name),
  );
  assert.deepEqual(
    san.passes.map((p: Obj) => p.name),
    ['mass-erase-check'],
  );
  assert.doesNotMatch(text, /overwrite/i);
  assert.doesNotMatch(text, /0x00 pass|PRNG pass/);
  assert.match(san.keys.note, /went with the mass erase/);
  // the mass erase took the protected boot sector too: the check covered it, and the witness (one chunk in every planned sector at least)
  const boot = cert.regions.find((r: Obj) => r.name === 'boot');
  assert.ok(input.outcome.witness?.ok, 'the real witness ran and passed');
  assert.ok(boot.witnessChunks >= 1 && boot.witnessChunks === chunksIn(input, boot), JSON.stringify(boot));
  assert.deepEqual(boot.verifiedBy, ['agent digests', 'witness sample']);
});

test('a locked-out F103 (bootloader only) unlock: mass erase + blank check, checked by ROM read-back', async () => {
  const input = await run('stm32f103xb', { method: 'clear', rdp: 1 });
  const { cert, text } = certOf(input);
  assert.equal(cert.sanitization.methodUsed, 'mass erase (Readout Unprotect) + blank check');
  assert.doesNotMatch(text, /computed on the terminal/);
  assert.equal(cert.sanitization.engine, null);
});

test('an F103 run: digests not "computed on the terminal", no engine hash, every region by ROM read-back', async () => {
  const input = await run('stm32f103xb', { method: 'purge' });
  assert.equal(input.outcome.verification, 'read-back');
  const { cert, text } = certOf(input);
  const san = cert.sanitization;
  assert.doesNotMatch(text, /computed on the terminal/);
  assert.match(san.verification.digest, /read twice through the ROM bootloader \(Read Memory\)/);
  assert.equal(san.verification.check, 'read-back');
  assert.equal(san.engine, null, 'no engine ran on a bootloader-only part');
  assert.equal(san.methodUsed, 'overwrite and block erase', 'purge ran its PRNG pass');
  assert.ok(cert.regions.length > 0);
  for (const r of cert.regions) assert.deepEqual(r.verifiedBy, ['ROM read-back'], JSON.stringify(r));
  // no agent ran: there is no module hash to print anywhere
  assert.doesNotMatch(text, new RegExp(createHash('sha256').update(engineModule()).digest('hex')));
});

test('a Get Checksum part (SIMULATED verification kind on a real outcome): regions by ROM checksum, the CRC sentence', async () => {
  const input = await run('stm32f103xb');
  const { cert } = certOf({ ...input, outcome: { ...input.outcome, verification: 'get-checksum' } });
  assert.match(cert.sanitization.verification.digest, /Get Checksum \(0xA1\) CRC-32/);
  for (const r of cert.regions) assert.deepEqual(r.verifiedBy, ['ROM checksum']);
});

test('an F407 run: agent digests, the pinned engine (manifest), the witness\'s chunks; clear is "block erase", purge "overwrite and block erase"', async () => {
  const input = await run('stm32f407');
  const { cert, text } = certOf(input);
  const san = cert.sanitization;
  assert.equal(san.methodUsed, 'block erase');
  assert.match(san.verification.digest, /computed on the terminal by the engine/);
  assert.equal(san.engine.sha256, createHash('sha256').update(engineModule()).digest('hex'));
  assert.equal(san.engine.bytes, engineModule().length);
  assert.equal(san.engine.source, 'manifest');
  assert.equal(san.engine.custom, false);
  assert.equal(san.engine.agentSha256, agentOfKind(loadPinnedManifest(), input.board.agent!.binary).sha256);
  assert.equal(san.engine.file, null);
  assert.match(san.engine.note, /shipped with this version of poswipe \(agent\/manifest\.json\)/);
  const w = input.outcome.witness!;
  assert.ok(w.ok && w.chunks > 0);
  for (const r of cert.regions) {
    assert.equal(r.witnessChunks, chunksIn(input, r), r.name);
    assert.deepEqual(r.verifiedBy, r.witnessChunks > 0 ? ['agent digests', 'witness sample'] : ['agent digests'], JSON.stringify(r));
  }
  const wj = san.verification.witness;
  assert.deepEqual({ chunks: wj.chunks, ok: wj.ok, seed: wj.seed, mismatches: wj.mismatches }, { chunks: w.chunks, ok: true, seed: w.seed, mismatches: [] });
  assert.equal(wj.addresses, w.addresses.map(hex32).join(' '), 'the addresses as one space-separated string');
  assert.match(wj.sampler, /drawWitnessSample/);
  assert.match(text, /"check": "agent-digest"/);
  const purge = certOf(await run('stm32f407', { method: 'purge' })).cert;
  assert.equal(purge.sanitization.methodUsed, 'overwrite and block erase');
});

test('the engine source: a caller naming no provenance is custom, never manifest; a signed image (SIMULATED outcome.engine) says so', async () => {
  const input = await run('stm32f407', { pinned: false });
  const custom = certOf(input).cert.sanitization.engine;
  assert.deepEqual(
    { source: custom.source, custom: custom.custom, sha256: custom.sha256, agentSha256: custom.agentSha256, file: custom.file },
    { source: 'custom', custom: true, sha256: createHash('sha256').update(engineModule()).digest('hex'), agentSha256: null, file: null },
  );
  assert.match(custom.note, /^CUSTOM: /);
  // `flash` with a signed image is the only way to this source (host/cli, openImage); an emulated erase cannot produce it
  const signed = certOf({
    ...input,
    outcome: { ...input.outcome, engine: { source: 'signed-image', moduleSha256: '11'.repeat(32), agentSha256: '22'.repeat(32), file: '/tmp/x.img' } },
  }).cert.sanitization.engine;
  assert.deepEqual(
    { source: signed.source, custom: signed.custom, sha256: signed.sha256, agentSha256: signed.agentSha256, file: signed.file },
    { source: 'signed-image', custom: false, sha256: '11'.repeat(32), agentSha256: '22'.repeat(32), file: '/tmp/x.img' },
  );
  assert.match(signed.note, /signed image/);
});

// every run records its flash sizes (EraseOutcome.flashSize is not optional): there is no "not recorded" case left to certify
test('flash sizes: the register claim and the size found (a lying register: the flash-size fault), and the two agreeing', async () => {
  const input = await run('stm32f103xb', { faults: ['flash-size=64'] });
  const lied = { register: 65536, boardFile: 131072, found: 131072, planned: 131072, probe: 'read-memory' as const };
  assert.deepEqual(input.outcome.flashSize, lied, 'what the real probe recorded');
  const { cert } = certOf(input);
  const { note, ...sizes } = cert.media.flashSize;
  assert.deepEqual(sizes, lied);
  assert.equal(note, 'the flash-size register claimed 65536 bytes; 131072 bytes were found (read-memory) and 131072 bytes planned');
  assert.equal(cert.media.flashBytes, 131072);
  assert.match(cert.media.mediaType, /^internal NOR flash of the terminal's microcontroller, 128 KiB at 0x08000000/);
  // SIMULATED: the emulated part's flash is the board file's, so no run finds more than the board file says
  const bigger = certOf({ ...input, outcome: { ...input.outcome, flashSize: { ...lied, boardFile: 65536, found: 262144, planned: 262144 } } }).cert;
  assert.equal(bigger.media.flashBytes, 262144, "the size found, not the board file's");
  const same = certOf(await run('stm32f103xb')).cert;
  assert.deepEqual(same.media.flashSize, {
    register: 131072,
    boardFile: 131072,
    found: 131072,
    planned: 131072,
    probe: 'read-memory',
    note: 'the flash-size register and the probe agree: 131072 bytes',
  });
});

test('each region says how it was verified: the protected boot sector not covered, a witness sample only where a chunk fell and only when ok', async () => {
  const input = await run('acme-t400');
  const plain = certOf(input).cert;
  const boot = plain.regions.find((r: Obj) => r.name === 'boot');
  assert.deepEqual(boot.verifiedBy, ['not covered']);
  assert.equal(boot.note, 'not covered: protected region "boot", left as it was');
  assert.equal(boot.plannedBytes, 0);
  assert.equal(boot.witnessChunks, 0, 'the witness reads planned sectors only');
  const keys = plain.regions.find((r: Obj) => r.name === 'keys');
  assert.ok(keys.witnessChunks >= 1 && keys.witnessChunks === chunksIn(input, keys), JSON.stringify(keys));
  assert.deepEqual(keys.verifiedBy, ['agent digests', 'witness sample']);
  // the regions tile the flash as planned (board regions plus unnamed stretches), in address order
  let at = 0x08000000;
  for (const r of plain.regions) {
    assert.equal(Number(r.address), at, `${r.name} starts where the last ended`);
    at += r.size;
  }
  assert.equal(at, 0x08000000 + input.board.flash.size);

  const w = input.outcome.witness!;
  assert.equal(plain.sanitization.verification.witness.chunks, w.chunks);
  assert.equal(plain.sanitization.verification.witness.addresses.split(' ')[0], hex32(w.addresses[0]));
  assert.match(plain.sanitization.verification.witness.note, new RegExp(`^${w.chunks} chunks of ${w.chunkBytes} bytes read through the ROM bootloader`));
  for (const r of plain.regions) {
    if (r.name === 'boot') continue;
    assert.equal(r.witnessChunks, chunksIn(input, r), r.name);
    assert.deepEqual(r.verifiedBy, r.witnessChunks > 0 ? ['agent digests', 'witness sample'] : ['agent digests'], JSON.stringify(r));
  }
  // a lying terminal: its digests match, the real witness reads unerased chunks
  const lying = await run('acme-t400', { faults: ['fake-digests'] });
  assert.equal(lying.outcome.witness?.ok, false);
  const failed = buildCertificate(lying) as Obj;
  assert.equal(failed.result, 'NOT SANITIZED');
  assert.ok(
    failed.regions.every((r: Obj) => !r.verifiedBy.includes('witness sample')),
    'a failed witness verifies nothing',
  );
  assert.ok(
    failed.regions.some((r: Obj) => r.witnessChunks > 0),
    'although chunks fell in the regions',
  );
  const lied = lying.outcome.witness!;
  assert.ok(lied.mismatches.length > 0);
  assert.match(
    failed.sanitization.verification.witness.note,
    new RegExp(`^${lied.mismatches.length} of ${lied.chunks} chunks .* did not hold what they must$`),
  );
});

test(
  'the PDF says what happened, sentence by sentence',
  { skip: toolSkip(hasPdftotext() ? false : 'pdftotext not installed (apt-get install poppler-utils)') },
  async () => {
    // unlocked dod3: mass erase + blank check, no overwrite anywhere
    const unlocked = await pdfText(certOf(await run('stm32f407', { method: 'dod3', rdp: 1 })).text);
    assert.match(unlocked, /mass erase \(Readout Unprotect\) \+ blank check/);
    assert.match(unlocked, /the passes of the requested method \(dod3\) did not run/);
    assert.doesNotMatch(unlocked, /overwrite/i);

    // F103: ROM read-back, no engine, nothing "computed on the terminal"
    const f103 = await pdfText(certOf(await run('stm32f103xb')).text);
    assert.doesNotMatch(f103, /computed on the terminal/);
    assert.match(f103, /engine on the terminal: none: the bootloader's own commands erased and checked the flash; no code of poswipe ran on the terminal/);
    assert.match(f103, /ROM read-back: \d+ of \d+ blocks checked in the final check/);
    assert.match(f103, /no ROM witness ran/);
    // every run records its flash sizes: the F103's register and probe agree
    assert.match(f103, /the flash-size register and the probe agree: 131072 bytes/);

    // an ACME T400 whose flash-size register under-reports: agent digests + the real witness, the pinned engine, both sizes
    const input = await run('acme-t400', { faults: ['flash-size=512'] });
    const { cert, text } = certOf(input);
    const acme = await pdfText(text);
    assert.match(acme, /computed on the terminal by the engine/);
    assert.match(acme, /the engine module and agent binary shipped with this version of poswipe \(agent\/manifest\.json\)/);
    assert.doesNotMatch(acme, /CUSTOM/);
    assert.match(acme, new RegExp(`module SHA-256 ${input.outcome.engine!.moduleSha256}`));
    assert.match(acme, new RegExp(`agent SHA-256 ${input.outcome.engine!.agentSha256}`));
    assert.match(acme, /the flash-size register claimed 524288 bytes; 1048576 bytes were found \(read- ?memory\)/);
    const config = cert.regions.find((r: Obj) => r.name === 'config');
    assert.ok(config.witnessChunks >= 1);
    assert.match(acme, new RegExp(`agent digests \\+ witness sample: 4 of 4 blocks checked in the final check; ${config.witnessChunks} witness chunk`));
    assert.match(acme, /Region boot \(protected\) 0x08000000, 16 KiB: not covered: protected region "boot", left as it was/);
    const w = input.outcome.witness!;
    assert.match(acme, new RegExp(`${w.chunks} chunks of ${w.chunkBytes} bytes read through the ROM bootloader \\(Read Memory\\) after the agent finished`));
  },
);
