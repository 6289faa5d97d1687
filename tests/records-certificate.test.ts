import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseEngine } from '../host/agent/pinned';
import { eraseTerminal } from '../host/session/erase';
import { parseFaults } from '../host/emulator/faults';
import { canonicalJson, prettyJson } from '../host/records/canonical-json';
import { buildCertificate, buildFailureReport, sectorRows, signCertificate, verifyCertificate, type CertificateInput } from '../host/records/certificate';
import { renderCertificatePdf } from '../host/records/certificate-pdf';
import { emptyOperatorConfig, parseOperatorConfig } from '../host/records/config';
import { bodyKeyOf, signDocument, verifySignedDocument } from '../host/records/signed-document';
import { emulated, engineModule, runCli } from './helpers';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'poswipe-cert-'));

/** A real emulated erase with the pinned engine, as `erase` runs it (host/cli/run-erase.ts): the witness, engine and flash sizes it records. */
async function verifiedInput(boardId = 'acme-t400'): Promise<CertificateInput> {
  const { board, transport } = emulated(boardId);
  const outcome = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', ...chooseEngine(board, { port: 'emu' }) });
  assert.equal(outcome.verified, true, outcome.reason ?? '');
  const operator = parseOperatorConfig(
    JSON.stringify({ operator: { name: 'Dana Whitfield', organization: 'ACME Refurb' }, destination: { type: 'recycling-facility' }, notes: 'ünïcode ✓' }),
    'poswipe.json',
  );
  return {
    outcome,
    board,
    operator,
    backup: {
      taken: true,
      path: '/backups/x.pwbk',
      sha256: 'ab'.repeat(32),
      encryption: 'scrypt passphrase',
      regions: [{ name: 'config', address: 0x0800c000, size: 16384, sha256: 'cd'.repeat(32) }],
      note: 'test',
    },
    started: new Date('2026-01-02T03:04:05.000Z'),
    ended: new Date('2026-01-02T03:04:35.500Z'),
    command: 'erase',
  };
}

test('canonical JSON: sorted keys, no whitespace, stable numbers and escapes; pretty is the same with indentation', () => {
  const v = { b: 1, a: [true, null, 'x"\n\u2028'], '10': 0.5, '9': { z: -0, y: 1e21 }, u: undefined };
  assert.equal(canonicalJson(v), '{"10":0.5,"9":{"y":1e+21,"z":0},"a":[true,null,"x\\"\\n\u2028"],"b":1}');
  assert.deepEqual(JSON.parse(prettyJson(v)), JSON.parse(canonicalJson(v)));
  assert.equal(prettyJson(JSON.parse(prettyJson(v))), prettyJson(v));
  assert.throws(() => canonicalJson({ n: NaN }), /finite/);
});

test('a certificate carries the NIST fields, the sector map and verifies with the signing key only', async () => {
  const input = await verifiedInput();
  const cert = buildCertificate(input);
  const media = cert.media as Record<string, unknown>;
  const san = cert.sanitization as Record<string, unknown>;
  assert.equal(cert.result, 'SANITIZED');
  assert.equal(media.serialNumber, input.outcome.identity.uid);
  assert.equal(media.dataBackedUp, 'yes');
  assert.equal(media.backupLocation, '/backups/x.pwbk');
  assert.equal(san.methodType, 'Clear');
  assert.equal((san.verification as Record<string, unknown>).method, 'full');
  assert.equal((cert.timing as Record<string, unknown>).durationSeconds, 30.5);
  const rows = sectorRows(input.outcome, input.board);
  assert.equal(rows.length, 12);
  assert.deepEqual(
    rows.map((r) => r.result),
    ['protected', ...Array(11).fill('erased')],
  );
  assert.deepEqual(rows[1].regions, ['keys (keys)']);

  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const text = signCertificate(cert, privateKey);
  const r = verifyCertificate(Buffer.from(text), publicKey);
  assert.equal(r.status, 'valid', JSON.stringify(r));
  const other = generateKeyPairSync('ed25519').publicKey;
  const bad = verifyCertificate(Buffer.from(text), other);
  assert.ok(bad.status === 'invalid' && bad.checks.some((c) => c.name === 'signature.keyId' && !c.ok && /not by the trusted key/.test(c.detail)));
});

test('flipping any single byte of a certificate makes verification fail (every position)', async () => {
  const input = await verifiedInput('stm32f407');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const bytes = Buffer.from(signCertificate(buildCertificate(input), privateKey), 'utf8');
  assert.equal(verifyCertificate(bytes, publicKey).status, 'valid');
  let malformed = 0;
  let flips = 0;
  for (let i = 0; i < bytes.length; i++) {
    // every byte with its low bit flipped; every 7th also with its 0x20 bit (case, space/NUL, quote/'\x02')
    for (const mask of i % 7 === 0 ? [0x01, 0x20] : [0x01]) {
      flips++;
      const b = Buffer.from(bytes);
      b[i] ^= mask;
      const r = verifyCertificate(b, publicKey);
      assert.notEqual(r.status, 'valid', `byte ${i} ^ 0x${mask.toString(16)} ('${String.fromCharCode(bytes[i])}') still verifies`);
      if (r.status === 'malformed') malformed++;
    }
  }
  assert.ok(malformed < flips / 2, `most flips leave parseable JSON, caught by the checks (${malformed} of ${flips} malformed)`);
});

test('an edit is named: the section it touched, or the layout', async () => {
  const input = await verifiedInput('stm32f407');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const text = signCertificate(buildCertificate(input), privateKey);
  const uid = input.outcome.identity.uid!;
  const edited = text.replace(`"serialNumber": "${uid}"`, `"serialNumber": "${uid.slice(0, -1)}${uid.endsWith('0') ? '1' : '0'}"`);
  const r = verifyCertificate(Buffer.from(edited), publicKey);
  assert.ok(r.status === 'invalid');
  assert.ok(
    r.checks.some((c) => c.name === 'sections' && /certificate\.media was edited/.test(c.detail)),
    JSON.stringify(r.checks),
  );
  assert.ok(r.checks.some((c) => c.name === 'signature.value' && !c.ok));
  const spaced = text.replace('"certificate": {', '"certificate":  {');
  const s = verifyCertificate(Buffer.from(spaced), publicKey);
  assert.ok(s.status === 'invalid' && s.checks.some((c) => c.name === 'layout' && !c.ok && /byte \d+ \(line 2/.test(c.detail)), JSON.stringify(s));
  assert.equal(verifyCertificate(Buffer.from('{"certificate": '), publicKey).status, 'malformed');
  assert.equal(verifyCertificate(Buffer.from('[1,2]'), publicKey).status, 'malformed');
});

test('a failure report is marked NOT SANITIZED and carries no signature', async () => {
  const { board, transport } = emulated('stm32f407', { faults: parseFaults(['stuck@0x08012345']) });
  const outcome = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() });
  assert.equal(outcome.verified, false);
  const input: CertificateInput = {
    outcome,
    board,
    operator: emptyOperatorConfig(),
    backup: { taken: false, path: null, sha256: null, encryption: null, regions: [], note: 'none' },
    started: new Date(),
    ended: new Date(),
    command: 'erase',
  };
  const text = buildFailureReport(input, { verified: false });
  const doc = JSON.parse(text);
  assert.equal(doc.result, 'NOT SANITIZED');
  assert.match(doc.NOT_SANITIZED, /NOT sanitized/);
  assert.equal(doc.signature, undefined);
  assert.ok(doc.sectors.some((s: { result: string; index: number }) => s.result === 'failed' && s.index === 4));
  const r = verifyCertificate(Buffer.from(text), generateKeyPairSync('ed25519').publicKey);
  assert.equal(r.status, 'malformed');
});

function hasPdftoppm(): boolean {
  return spawnSync('pdftoppm', ['-v'], { encoding: 'utf8' }).error === undefined;
}

test(
  'the PDF renders: page 1 converts to a PNG',
  { skip: hasPdftoppm() ? false : 'pdftoppm not installed (apt-get install poppler-utils): PDF not rasterized' },
  async () => {
    const input = await verifiedInput();
    const { privateKey } = generateKeyPairSync('ed25519');
    const text = signCertificate(buildCertificate(input), privateKey);
    const pdf = await renderCertificatePdf({ document: JSON.parse(text), jsonSha256: 'ef'.repeat(32), jsonName: 'x.cert.json' });
    assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
    const dir = tmp();
    writeFileSync(join(dir, 'c.pdf'), pdf);
    const r = spawnSync('pdftoppm', ['-png', '-r', '50', '-f', '1', '-l', '1', join(dir, 'c.pdf'), join(dir, 'page')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const png = readFileSync(join(dir, 'page-1.png'));
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
    assert.ok(png.length > 5000, `page 1 has content (${png.length} bytes)`);
    const info = spawnSync('pdfinfo', [join(dir, 'c.pdf')], { encoding: 'utf8' });
    if (info.status === 0) assert.match(info.stdout, /Pages:\s+1\b/, 'one page');
  },
);

test('cert verify refuses a byte-order mark (not the canonical form): malformed, with the reason; a handover manifest too', async () => {
  const input = await verifiedInput('stm32f407');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const text = signCertificate(buildCertificate(input), privateKey);
  assert.equal(verifyCertificate(Buffer.from(text), publicKey).status, 'valid');
  const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
  const r = verifyCertificate(bom, publicKey);
  assert.ok(r.status === 'malformed' && /^starts with a UTF-8 byte-order mark \(EF BB BF\)/.test(r.problem), JSON.stringify(r).slice(0, 300));
  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
  const u = verifyCertificate(utf16, publicKey);
  assert.ok(u.status === 'malformed' && /UTF-16 byte-order mark/.test(u.problem));
  const manifest = signDocument('handover', { format: 'poswipe-handover', version: 1 }, privateKey);
  assert.equal(bodyKeyOf(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(manifest)])), 'handover', 'the kind is still recognised');
  const h = verifySignedDocument(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(manifest)]), publicKey, 'handover', () => []);
  assert.ok(h.status === 'malformed' && /byte-order mark/.test(h.problem));
});

test('cert verify on the command line: a byte-order mark is exit 2 with one line naming it', async () => {
  const input = await verifiedInput('stm32f407');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const dir = tmp();
  const pub = join(dir, 'k.pub.pem');
  writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }) as string);
  const text = signCertificate(buildCertificate(input), privateKey);
  writeFileSync(join(dir, 'ok.cert.json'), text);
  writeFileSync(join(dir, 'bom.cert.json'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]));
  assert.equal(runCli(['cert', 'verify', join(dir, 'ok.cert.json'), '--trust', pub]).code, 0);
  const r = runCli(['cert', 'verify', join(dir, 'bom.cert.json'), '--trust', pub]);
  assert.equal(r.code, 2, r.stderr + r.stdout);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /certificate .*bom\.cert\.json: malformed: starts with a UTF-8 byte-order mark \(EF BB BF\)/);
});

test('other canonical-form slips fail the layout check, each named: CRLF, no final newline, extra bytes after it', async () => {
  const input = await verifiedInput('stm32f407');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const text = signCertificate(buildCertificate(input), privateKey);
  const layout = (t: string): string => {
    const r = verifyCertificate(Buffer.from(t), publicKey);
    assert.equal(r.status, 'invalid', t.slice(-20));
    const c = r.status === 'invalid' ? r.checks.find((x) => x.name === 'layout') : undefined;
    assert.ok(c && !c.ok);
    return c.detail;
  };
  assert.match(layout(text.replace(/\n/g, '\r\n')), /CR \(CRLF\) line ends/);
  assert.match(layout(text.slice(0, -1)), /the final newline is missing/);
  assert.match(layout(text + '\n'), /extra bytes after the final newline/);
  assert.match(layout(text + ' '), /extra bytes after the final newline/);
});

test('cert verify accepts version 1 certificates as before, and refuses an unknown version', async () => {
  const input = await verifiedInput('stm32f407');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const cert = buildCertificate(input);
  assert.equal(cert.version, 2);
  const v1 = verifyCertificate(Buffer.from(signCertificate({ ...cert, version: 1 }, privateKey)), publicKey);
  assert.equal(v1.status, 'valid', JSON.stringify(v1).slice(0, 400));
  const v3 = verifyCertificate(Buffer.from(signCertificate({ ...cert, version: 3 }, privateKey)), publicKey);
  assert.ok(
    v3.status === 'invalid' && v3.checks.some((c) => c.name === 'certificate.format' && !c.ok && /accepted: poswipe-certificate versions 1, 2/.test(c.detail)),
  );
});
