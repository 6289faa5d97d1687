// Erase images end to end: `poswipe build` signs an image for stm32f407, `poswipe flash` runs it on
// emulated terminals. Every CLI run happens in a temporary working directory with its own
// POSWIPE_CONFIG_DIR, so backups, certificates and keys never land in the repository or $HOME.
// "Nothing sent" is proven with --emu-log (one line per flash operation: the file never appears)
// and --emu-image (the flash file stays byte-identical); a control run shows both do change when
// the image is good.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadEngineModule } from '../host/engine/module';
import { InputError, SafetyError } from '../host/errors';
import { openImage } from '../host/image/build';
import { loadTrustKeys } from '../host/image/sign';
import { encodeImage, parseImage, IMAGE_HEADER_SIZE, decodeManifest } from '../host/image/format';
import { ROOT, runCli } from './helpers';

let dir = '';
let env: NodeJS.ProcessEnv = {};
let image = '';
let imageBytes: Buffer = Buffer.alloc(0);
const F407_FLASH = 1024 * 1024;

function writeKeys(prefix: string): void {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  fs.writeFileSync(path.join(dir, `${prefix}.key.pem`), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  fs.writeFileSync(path.join(dir, `${prefix}.pub.pem`), publicKey.export({ type: 'spki', format: 'pem' }));
}

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  return runCli(args, { cwd: dir, env });
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'poswipe-image-'));
  env = { POSWIPE_CONFIG_DIR: path.join(dir, 'config') };
  writeKeys('fw');
  writeKeys('other');
  image = path.join(dir, 'f407.img');
});

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('build signs an image for stm32f407 and reports the terminal module in bytes', () => {
  const r = cli(['build', '--board', 'stm32f407', '--method', 'purge', '--key', 'fw.key.pem', '--out', 'f407.img']);
  assert.equal(r.code, 0, r.stderr);
  const moduleBytes = loadEngineModule('terminal').length;
  assert.match(r.stdout, new RegExp(`terminal module: ${moduleBytes} bytes`));
  assert.match(r.stdout, /v8:terminal: agrees/);
  imageBytes = fs.readFileSync(image);
  const parsed = parseImage(new Uint8Array(imageBytes));
  assert.equal(parsed.module.length, moduleBytes);
  assert.equal(parsed.agentSignature.length, 64);
  assert.deepEqual([...parsed.agent], [...fs.readFileSync(path.join(ROOT, 'agent', 'bin', 'f4.bin'))], 'the committed f4 agent, byte for byte');
  assert.equal(parsed.imageSignature.length, 64);
  const m = decodeManifest(parsed);
  assert.equal(m.board.id, 'stm32f407');
  assert.deepEqual(m.board.productIds, ['0x0413']);
  assert.deepEqual(m.method, { name: 'purge', nistType: 'Purge', passes: ['erase-1', 'prng', 'erase-2'] });
  assert.equal(m.verify, 'full');
  assert.equal(m.blockSize, 4096);
  assert.equal(m.engine.abiVersion, 1);
  assert.equal(m.agent.kind, 'f4');
  assert.equal(m.agent.load, '0x20003000');
  assert.equal(m.agent.bytes, parsed.agent.length);
  assert.ok(m.conformance.runtimes.includes('v8:terminal') && m.conformance.runtimes.includes('v8:selfcontained'));
});

test('build refuses bad input: unknown method, sampling for purge, a key that is not Ed25519, a board without an agent', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
  fs.writeFileSync(path.join(dir, 'rsa.key.pem'), rsa);
  const cases: [string[], RegExp][] = [
    [['--board', 'stm32f407', '--method', 'shred', '--key', 'fw.key.pem'], /unknown method/],
    [['--board', 'stm32f407', '--method', 'purge', '--verify', 'sample', '--key', 'fw.key.pem'], /requires full verification/],
    [['--board', 'stm32f407', '--method', 'clear', '--key', 'rsa.key.pem'], /Ed25519/],
    [['--board', 'stm32f407', '--method', 'clear', '--key', 'missing.pem'], /no such file/],
    [['--board', 'stm32f103xb', '--method', 'clear', '--key', 'fw.key.pem'], /no room for the agent \(bootloader-only path\)/],
  ];
  for (const [args, why] of cases) {
    const r = cli(['build', ...args, '--out', 'never.img']);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, why);
  }
  assert.equal(fs.existsSync(path.join(dir, 'never.img')), false);
});

test('flash runs the image on an emulated F407 and verifies (exit 0), reading the log and image it was given', () => {
  const log = path.join(dir, 'ok.log');
  const flash = path.join(dir, 'ok.bin');
  fs.writeFileSync(flash, Buffer.alloc(F407_FLASH, 0x5a));
  const r = cli(['flash', '--image', 'f407.img', '--port', 'emu', '--trust', 'fw.pub.pem', '--json', '--emu-log', log, '--emu-image', flash]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { verified: boolean; board: string; pid: string; method: string; verify: string; engine: { bytes: number } };
  assert.equal(report.verified, true);
  assert.equal(report.board, 'stm32f407');
  assert.equal(report.pid, '0x0413');
  assert.equal(report.method, 'purge');
  assert.equal(report.verify, 'full');
  assert.equal(report.engine.bytes, loadEngineModule('terminal').length);
  // the control for the "nothing sent" tests below: a real run does show up in both
  assert.ok(fs.existsSync(log) && fs.readFileSync(log, 'utf8').length > 0, 'a run writes the flash log');
  assert.ok(
    fs.readFileSync(flash).every((b) => b === 0xff),
    'the emulated flash was erased',
  );
});

test("the same image with --board stm32f205 is refused before the port opens: not the image's board (exit 4)", () => {
  // (this was exit 3 from the session's product ID check; --board must now name the image's own board file)
  const r = cli(['flash', '--image', 'f407.img', '--port', 'emu', '--board', 'stm32f205', '--trust', 'fw.pub.pem']);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /image f407\.img is built for board stm32f407, the terminal is stm32f205 \(--board stm32f205\): refused/);
});

test('a stm32f407 image on --board acme-t400 (same product ID, another board file) is refused: exit 4, nothing sent', () => {
  const log = path.join(dir, 'acme.log');
  const flash = path.join(dir, 'acme.bin');
  const original = Buffer.alloc(F407_FLASH, 0x5a);
  fs.writeFileSync(flash, original);
  const r = cli([
    'flash',
    '--image',
    'f407.img',
    '--port',
    'emu',
    '--board',
    'acme-t400',
    '--trust',
    'fw.pub.pem',
    '--no-backup',
    '--emu-log',
    log,
    '--emu-image',
    flash,
  ]);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /built for board stm32f407, the terminal is acme-t400/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.ok(!fs.existsSync(log), 'no flash operation');
  assert.ok(fs.readFileSync(flash).equals(original), 'the emulated T400 is unchanged');
  // the control: naming the image's own board runs it
  const ok = cli([
    'flash',
    '--image',
    'f407.img',
    '--port',
    'emu',
    '--board',
    'stm32f407',
    '--trust',
    'fw.pub.pem',
    '--no-backup',
    '--emu-log',
    log,
    '--emu-image',
    flash,
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(fs.existsSync(log), 'the control run wrote the flash');
});

function assertNothingSent(args: string[], want: number, why: RegExp, label: string): void {
  const log = path.join(dir, 'refused.log');
  const flash = path.join(dir, 'refused.bin');
  fs.rmSync(log, { force: true });
  const original = Buffer.alloc(F407_FLASH, 0x5a);
  fs.writeFileSync(flash, original);
  const r = cli([...args, '--port', 'emu', '--emu-log', log, '--emu-image', flash]);
  assert.equal(r.code, want, `${label}: exit ${r.code}, ${r.stderr}`);
  assert.match(r.stderr, why, label);
  assert.equal(fs.existsSync(log), false, `${label}: the terminal saw flash operations`);
  assert.ok(fs.readFileSync(flash).equals(original), `${label}: the emulated flash changed`);
}

test('every single flipped byte of the image is refused before any terminal is involved: exit 2 for structure, 4 for the signature', () => {
  const trusted = loadTrustKeys([path.join(dir, 'fw.pub.pem')]);
  const good = new Uint8Array(imageBytes);
  assert.equal(openImage(good, trusted).manifest.board.id, 'stm32f407');
  const moduleAt = IMAGE_HEADER_SIZE + parseImage(good).manifestBytes.length;
  const agentMagicAt = moduleAt + parseImage(good).module.length + 0x40;
  const counts = { 2: 0, 4: 0 };
  for (let at = 0; at < good.length; at++) {
    const bad = Uint8Array.from(good);
    bad[at] ^= 1 << (at % 8);
    let code = 0;
    try {
      openImage(bad, trusted);
    } catch (err) {
      assert.ok(err instanceof InputError || err instanceof SafetyError, `offset ${at}: ${String(err)}`);
      code = (err as InputError | SafetyError).exitCode;
    }
    // the header (magic, version, header size, lengths), the module's Wasm magic and the agent's PWAG magic are structure
    const structural = at < IMAGE_HEADER_SIZE || (at >= moduleAt && at < moduleAt + 4) || (at >= agentMagicAt && at < agentMagicAt + 4);
    assert.equal(code, structural ? 2 : 4, `byte ${at} flipped: exit ${code}`);
    counts[code as 2 | 4]++;
  }
  assert.equal(counts[2], IMAGE_HEADER_SIZE + 4 + 4);
});

test('a flipped byte in each part of the image is refused by flash with nothing sent to the terminal', () => {
  const parsed = parseImage(new Uint8Array(imageBytes));
  const manifestAt = IMAGE_HEADER_SIZE;
  const moduleAt = manifestAt + parsed.manifestBytes.length;
  const agentAt = moduleAt + parsed.module.length;
  const agentSigAt = agentAt + parsed.agent.length;
  const imgSigAt = agentSigAt + 64;
  const end = imgSigAt + 64;
  assert.equal(end, imageBytes.length);
  const positions: [number, number, RegExp, string][] = [
    [0, 2, /wrong magic/, 'magic'],
    [8, 2, /unknown image format version/, 'format version'],
    [12, 2, /header size/, 'header size'],
    [21, 2, /do not add up/, 'module length'],
    [25, 2, /do not add up|agent length/, 'agent length'],
    [32, 2, /do not add up|signature length/, 'image signature length'],
    [manifestAt + (parsed.manifestBytes.length >> 1), 4, /signature/, 'manifest'],
    [moduleAt, 2, /WebAssembly magic/, 'module, first byte'],
    [moduleAt + (parsed.module.length >> 1), 4, /signature/, 'module'],
    [agentAt + 4, 4, /signature/, 'agent, its reset vector'],
    [agentAt + 0x40, 2, /PWAG/, 'agent, its header magic'],
    [agentAt + (parsed.agent.length >> 1), 4, /signature/, 'agent code'],
    [agentSigAt + 10, 4, /signature/, 'agent signature'],
    [end - 1, 4, /signature/, 'image signature'],
  ];
  for (const [at, want, why, label] of positions) {
    const bad = Buffer.from(imageBytes);
    bad[at] ^= 0x01;
    fs.writeFileSync(path.join(dir, 'flipped.img'), bad);
    assertNothingSent(['flash', '--image', 'flipped.img', '--trust', 'fw.pub.pem'], want, why, `${label} (offset ${at})`);
  }
});

test('truncated, extended, untrusted and unsigned images are refused with nothing sent', () => {
  const write = (name: string, bytes: Uint8Array): string => {
    fs.writeFileSync(path.join(dir, name), bytes);
    return name;
  };
  const flash = (file: string, trust = 'fw.pub.pem') => ['flash', '--image', file, '--trust', trust];
  assertNothingSent(flash(write('short.img', imageBytes.subarray(0, imageBytes.length - 1))), 2, /truncated or lengths do not add up/, 'one byte short');
  assertNothingSent(flash(write('tiny.img', imageBytes.subarray(0, 20))), 2, /truncated/, 'header cut');
  assertNothingSent(flash(write('empty.img', new Uint8Array(0))), 2, /truncated/, 'empty file');
  assertNothingSent(flash(write('long.img', Buffer.concat([imageBytes, Buffer.from([0])]))), 2, /trailing/, 'one byte more');
  assertNothingSent(flash('f407.img', 'other.pub.pem'), 4, /not among the trusted key/, 'untrusted key');
  const parsed = parseImage(new Uint8Array(imageBytes));
  const unsigned = encodeImage({ manifest: parsed.manifestBytes, module: parsed.module, agent: parsed.agent });
  assertNothingSent(flash(write('unsigned.img', unsigned)), 4, /not signed/, 'unsigned image');
  assertNothingSent(flash('no-such.img'), 2, /no such file/, 'missing image');
  // several trusted keys: one of them signed it, so it runs (control for the untrusted case)
  fs.writeFileSync(
    path.join(dir, 'both.pub.pem'),
    fs.readFileSync(path.join(dir, 'other.pub.pem'), 'utf8') + fs.readFileSync(path.join(dir, 'fw.pub.pem'), 'utf8'),
  );
  const r = cli(['flash', '--image', 'f407.img', '--port', 'emu', '--trust', 'both.pub.pem']);
  assert.equal(r.code, 0, r.stderr);
});

test("a terminal that runs only signed code (simulated secure boot, --emu-trust) runs the signed image's agent and refuses an unsigned one", () => {
  const signed = cli(['flash', '--image', 'f407.img', '--port', 'emu', '--trust', 'fw.pub.pem', '--emu-trust', 'fw.pub.pem']);
  assert.equal(signed.code, 0, signed.stderr);
  assert.match(signed.stdout, /VERIFIED/);
  const wrongKey = cli(['flash', '--image', 'f407.img', '--port', 'emu', '--trust', 'fw.pub.pem', '--emu-trust', 'other.pub.pem']);
  assert.equal(wrongKey.code, 4, wrongKey.stderr);
  assert.match(wrongKey.stderr, /refused to start the agent.*not from a key it trusts/);
  const unsigned = cli(['erase', '--board', 'stm32f407', '--port', 'emu', '--method', 'clear', '--emu-trust', 'fw.pub.pem']);
  assert.equal(unsigned.code, 4, unsigned.stderr);
  assert.match(unsigned.stderr, /signature missing or not trusted/);
});

test('parseImage names each structural problem (InputError, exit 2)', () => {
  const bytes = new Uint8Array(imageBytes);
  const expectInput = (b: Uint8Array, why: RegExp) =>
    assert.throws(
      () => parseImage(b),
      (e: unknown) => e instanceof InputError && e.exitCode === 2 && why.test(e.message),
    );
  expectInput(bytes.subarray(0, 4), /truncated/);
  const v3 = Uint8Array.from(bytes);
  new DataView(v3.buffer).setUint32(8, 3, true);
  expectInput(v3, /unknown image format version 3/);
  const v1 = Uint8Array.from(bytes);
  new DataView(v1.buffer).setUint32(8, 1, true);
  expectInput(v1, /unknown image format version 1 \(this poswipe reads version 2\)/);
  const sig = Uint8Array.from(bytes);
  const dv = new DataView(sig.buffer);
  dv.setUint32(32, 63, true);
  expectInput(sig.subarray(0, sig.length - 1), /image signature length 63/);
  const p = parseImage(bytes);
  const one = encodeImage({ manifest: p.manifestBytes, module: p.module, agent: p.agent, agentSignature: new Uint8Array(64) });
  expectInput(one, /only one of the two signatures/);
});
