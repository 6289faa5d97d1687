/**
 * Certificates state only what happened (issue 15 item 7): the method as executed, how each
 * region was verified, the engine only where it ran, the flash sizes and the witness. Runs are
 * real emulated sessions; the outcome fields other branches add (witness, engine, flashSize) are
 * SIMULATED here by adding them to a real outcome, and the certificate is checked with and without.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MethodName } from '../host/plan/methods';
import { eraseTerminal, type EraseOutcome } from '../host/session/erase';
import type { WitnessOutcome } from '../host/session/outcome';
import { buildCertificate, signCertificate, type CertificateInput } from '../host/records/certificate';
import { renderCertificatePdf } from '../host/records/certificate-pdf';
import { emptyOperatorConfig } from '../host/records/config';
import { emulated, engineModule, toolSkip } from './helpers';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function run(boardId: string, o: { method?: MethodName; rdp?: 1 } = {}): Promise<CertificateInput> {
  const { board, transport } = emulated(boardId, o.rdp ? { rdp: 1 } : {});
  const outcome = await eraseTerminal(transport, { board, method: o.method ?? 'clear', verify: 'full', unlock: o.rdp === 1, module: engineModule() });
  assert.equal(outcome.verified, true, outcome.reason ?? '');
  return { outcome, board, operator: emptyOperatorConfig(), backup: { taken: false, path: null, sha256: null, encryption: null,
      regions: [], note: 'none made (--no-backup)' }, started: new Date(0), ended: new Date(1000), command: 'erase' };
}

function certOf(input: CertificateInput): { cert: Obj; text: string } {
  const cert = buildCertificate(input) as Obj;
  return { cert, text: signCertificate(cert, generateKeyPairSync('ed25519').privateKey) };
}

/** A witness that read one chunk at the start of every planned sector (SIMULATED: H-witness computes the real one). */
function simulatedWitness(outcome: EraseOutcome, ok = true): WitnessOutcome {
  const addresses = outcome.plan.sectors.map((s) => s.address);
  return { chunks: addresses.length, chunkBytes: 64, addresses, mismatches: ok ? [] : [addresses[0]], ok, seed: 'ab'.repeat(32),
      target: { fraction: 0.05, escape: 1e-6 }, uniform: 0, perSector: addresses.length, escapeBound: 1, error: null };
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
  assert.deepEqual(san.passes.map((p: Obj) => p.name), input.outcome.passes.map((p) => p.name));
  assert.deepEqual(san.passes.map((p: Obj) => p.name), ['mass-erase-check']);
  assert.doesNotMatch(text, /overwrite/i);
  assert.doesNotMatch(text, /0x00 pass|PRNG pass/);
  assert.match(san.keys.note, /went with the mass erase/);
  // the mass erase took the protected boot sector too, and the check covered it
  assert.deepEqual(cert.regions.find((r: Obj) => r.name === 'boot').verifiedBy, ['agent digests']);
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

test('an F407 run: agent digests, engine hash of the module that ran; clear is "block erase", purge "overwrite and block erase"', async () => {
  const input = await run('stm32f407');
  const { cert, text } = certOf(input);
  const san = cert.sanitization;
  assert.equal(san.methodUsed, 'block erase');
  assert.match(san.verification.digest, /computed on the terminal by the engine/);
  assert.equal(san.engine.sha256, createHash('sha256').update(engineModule()).digest('hex'));
  assert.equal(san.engine.bytes, engineModule().length);
  assert.equal(san.engine.source, null, 'this outcome does not record the source: not guessed');
  assert.match(san.engine.note, /did not record/);
  for (const r of cert.regions) assert.deepEqual(r.verifiedBy, ['agent digests']);
  assert.equal(san.verification.witness, null);
  assert.match(text, /"check": "agent-digest"/);
  const purge = certOf(await run('stm32f407', { method: 'purge' })).cert;
  assert.equal(purge.sanitization.methodUsed, 'overwrite and block erase');
});

test('the engine source (SIMULATED outcome.engine): manifest, signed image, and a custom engine marked custom', async () => {
  const input = await run('stm32f407');
  const engine = (source: 'manifest' | 'signed-image' | 'custom', file?: string): CertificateInput => ({ ...input,
      outcome: { ...input.outcome, engine: { source, moduleSha256: '11'.repeat(32), agentSha256: '22'.repeat(32),
      file } } });
  const custom = certOf(engine('custom', '/tmp/my.wasm')).cert.sanitization.engine;
  assert.deepEqual({ source: custom.source, custom: custom.custom, sha256: custom.sha256, agentSha256: custom.agentSha256,
      file: custom.file }, { source: 'custom', custom: true, sha256: '11'.repeat(32), agentSha256: '22'.repeat(32),
      file: '/tmp/my.wasm' });
  assert.match(custom.note, /^CUSTOM: /);
  const manifest = certOf(engine('manifest')).cert.sanitization.engine;
  assert.equal(manifest.custom, false);
  assert.match(manifest.note, /shipped with this version/);
  assert.equal(manifest.file, null);
  assert.match(certOf(engine('signed-image', 'x.img')).cert.sanitization.engine.note, /signed image/);
});

test('flash sizes (SIMULATED outcome.flashSize): the register claim and the size found; absent: only the board file, said so', async () => {
  const input = await run('stm32f103xb');
  const lied = { register: 65536, boardFile: 131072, found: 131072, planned: 131072, probe: 'read-memory' as const };
  const { cert } = certOf({ ...input, outcome: { ...input.outcome, flashSize: lied } });
  const { note, ...sizes } = cert.media.flashSize;
  assert.deepEqual(sizes, lied);
  assert.equal(note, 'the flash-size register claimed 65536 bytes; 131072 bytes were found (read-memory) and 131072 bytes planned');
  assert.equal(cert.media.flashBytes, 131072);
  assert.match(cert.media.mediaType, /^internal NOR flash of the terminal's microcontroller, 128 KiB at 0x08000000/);
  const bigger = certOf({ ...input, outcome: { ...input.outcome, flashSize: { ...lied, boardFile: 65536, found: 262144, planned: 262144 } } }).cert;
  assert.equal(bigger.media.flashBytes, 262144, 'the size found, not the board file\'s');
  const same = certOf({ ...input, outcome: { ...input.outcome, flashSize: { ...lied, register: 131072 } } }).cert;
  assert.match(same.media.flashSize.note, /agree: 131072 bytes/);
  const none = certOf(input).cert;
  assert.deepEqual(none.media.flashSize, { register: null, boardFile: input.board.flash.size, found: null, planned: null,
      probe: null, note: `the run did not record the flash sizes: the board file says ${input.board.flash.size} bytes` });
});

test('each region says how it was verified: the protected boot sector not covered, a witness sample only where a chunk fell and only when ok', async () => {
  const input = await run('acme-t400');
  const plain = certOf(input).cert;
  const boot = plain.regions.find((r: Obj) => r.name === 'boot');
  assert.deepEqual(boot.verifiedBy, ['not covered']);
  assert.equal(boot.note, 'not covered: protected region "boot", left as it was');
  assert.equal(boot.plannedBytes, 0);
  const keys = plain.regions.find((r: Obj) => r.name === 'keys');
  assert.deepEqual(keys.verifiedBy, ['agent digests']);
  assert.equal(keys.witnessChunks, null);
  // the regions tile the flash as planned (board regions plus unnamed stretches), in address order
  let at = 0x08000000;
  for (const r of plain.regions) {
    assert.equal(Number(r.address), at, `${r.name} starts where the last ended`);
    at += r.size;
  }
  assert.equal(at, 0x08000000 + input.board.flash.size);

  const w = simulatedWitness(input.outcome);
  const witnessed = certOf({ ...input, outcome: { ...input.outcome, witness: w } }).cert;
  assert.equal(witnessed.sanitization.verification.witness.chunks, w.chunks);
  assert.equal(witnessed.sanitization.verification.witness.addresses[0], `0x${w.addresses[0].toString(16).padStart(8, '0')}`);
  assert.match(witnessed.sanitization.verification.witness.note, new RegExp(`^${w.chunks} chunks of 64 bytes read through the ROM bootloader`));
  for (const r of witnessed.regions) {
    if (r.name === 'boot') assert.deepEqual(r.verifiedBy, ['not covered'], 'no chunk fell in the kept boot sector');
    else assert.deepEqual(r.verifiedBy, ['agent digests', 'witness sample'], JSON.stringify(r));
  }
  const failed = certOf({ ...input, outcome: { ...input.outcome, witness: simulatedWitness(input.outcome, false) } }).cert;
  assert.ok(failed.regions.every((r: Obj) => !r.verifiedBy.includes('witness sample')), 'a failed witness verifies nothing');
  assert.match(failed.sanitization.verification.witness.note, /^1 of \d+ chunks .* did not hold what they must$/);
});

test('the PDF says what happened, sentence by sentence', { skip: toolSkip(hasPdftotext() ? false : 'pdftotext not installed (apt-get install poppler-utils)') },
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
  assert.match(f103, /the run did not record the flash sizes/);

  // F407 with the other branches' fields (SIMULATED): agent digests + witness, custom engine, flash sizes
  const input = await run('acme-t400');
  const full = { ...input.outcome, witness: simulatedWitness(input.outcome), engine: { source: 'custom' as const,
      moduleSha256: '33'.repeat(32), agentSha256: '44'.repeat(32), file: 'my.wasm' }, flashSize: { register: 524288,
      boardFile: 1048576, found: 1048576, planned: 1048576, probe: 'read-memory' as const } };
  const acme = await pdfText(certOf({ ...input, outcome: full }).text);
  assert.match(acme, /computed on the terminal by the engine/);
  assert.match(acme, /CUSTOM: an engine module given with --engine/);
  assert.match(acme, new RegExp(`module SHA-256 ${'33'.repeat(32)}`));
  assert.match(acme, new RegExp(`agent SHA-256 ${'44'.repeat(32)}`));
  assert.match(acme, /the flash-size register claimed 524288 bytes; 1048576 bytes were found \(read- ?memory\)/);
  assert.match(acme, /agent digests \+ witness sample: 4 of 4 blocks checked in the final check; 1 witness chunk/);
  assert.match(acme, /Region boot \(protected\) 0x08000000, 16 KiB: not covered: protected region "boot", left as it was/);
  assert.match(acme, /chunks of 64 bytes read through the ROM bootloader \(Read Memory\) after the agent finished/);
});
