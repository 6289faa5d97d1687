// Pinned engine and agent (host/agent/pinned.ts) and no guessing the board (host/cli/detect.ts):
// issue #15 items 3 and 6. The "locally changed build" runs happen in a copy of the package root
// (package.json, bin, build, agent, boards and a node_modules link), whose build/terminal.wasm or
// agent binary is then changed: the copy's poswipe pins against the copy's agent/manifest.json.
// "Before the port is opened" is proven with a pty whose other end records every byte (socat -u).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chooseEngine, loadPinned } from '../host/agent/pinned';
import { loadBoard } from '../host/boards/load';
import { boardOfProductId } from '../host/app/detect';
import { InputError, SafetyError } from '../host/errors';
import { parseImageHeader } from '../host/protocol/link';
import { CLI, ROOT, toolSkip } from './helpers';

const work = mkdtempSync(path.join(tmpdir(), 'poswipe-pinned-'));
const env = { POSWIPE_CONFIG_DIR: path.join(work, 'config'), POSWIPE_AUDIT_DB: path.join(work, 'audit.db') };
const hasSocat = spawnSync('sh', ['-c', 'command -v socat']).status === 0;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const manifest = JSON.parse(readFileSync(path.join(ROOT, 'agent', 'manifest.json'), 'utf8')) as {
  module: { sha256: string };
  agents: { kind: string; binary: string; sha256: string }[];
};

after(() => rmSync(work, { recursive: true, force: true }));

let copies = 0;
/** A copy of the package root that runs on its own (its build/ pins against its agent/manifest.json). */
function copyRoot(): string {
  const r = path.join(work, `root-${++copies}`);
  for (const d of ['package.json', 'bin', 'agent', 'boards']) cpSync(path.join(ROOT, d), path.join(r, d), { recursive: true });
  // the build without the agent's own test and fuzz builds (build/agent, large and not needed to run)
  cpSync(path.join(ROOT, 'build'), path.join(r, 'build'), {
    recursive: true,
    filter: (src) => !src.startsWith(path.join(ROOT, 'build', 'agent')) && !src.startsWith(path.join(ROOT, 'build', 'web')),
  });
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(r, 'node_modules'));
  return r;
}

/** flips one byte of `file` (in the middle), so its SHA-256 changes and nothing else about it */
function tamper(file: string): { before: string; after: string } {
  const b = readFileSync(file);
  const before = sha(b);
  b[b.length >> 1] ^= 0x01;
  writeFileSync(file, b);
  return { before, after: sha(b) };
}

function run(cli: string, args: string[], cwd = work): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [cli, ...args], { cwd, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const waitFor = async (p: string): Promise<void> => {
  for (let i = 0; i < 100 && !existsSync(p); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(existsSync(p), `${p} appeared`);
};

/** A pty at `link` whose every received byte goes to `record` (socat -u: pty to file only). */
async function recordingPty(name: string): Promise<{ link: string; record: string; bytes: () => number; stop: () => void }> {
  const link = path.join(work, `tty-${name}`);
  const record = path.join(work, `${name}.rec`);
  writeFileSync(record, '');
  const socat = spawn('socat', ['-u', `pty,link=${link},cfmakeraw,echo=0`, `OPEN:${record},append`], { stdio: 'ignore' });
  await waitFor(link);
  return { link, record, bytes: () => statSync(record).size, stop: () => socat.kill() };
}

test('a fresh build pins: build/terminal.wasm is the module agent/manifest.json names (a changed engine source would fail here)', () => {
  const { manifest: m, module } = loadPinned();
  assert.equal(sha(module), manifest.module.sha256);
  assert.equal(m.moduleSha256, manifest.module.sha256);
});

test('loadPinned on a copy: a changed terminal.wasm, a changed agent binary and a manifest whose list does not match are SafetyErrors naming the file and both hashes', () => {
  const r1 = copyRoot();
  const wasm = path.join(r1, 'build', 'terminal.wasm');
  const t = tamper(wasm);
  assert.throws(
    () => loadPinned(r1),
    (e: unknown) => e instanceof SafetyError && e.message.includes(wasm) && e.message.includes(t.after) && e.message.includes(manifest.module.sha256),
  );
  const r2 = copyRoot();
  const f4 = manifest.agents.find((a) => a.kind === 'f4')!;
  const a = tamper(path.join(r2, f4.binary));
  assert.throws(
    () => loadPinned(r2),
    (e: unknown) => e instanceof SafetyError && e.message.includes(f4.binary) && e.message.includes(a.after) && e.message.includes(f4.sha256),
  );
  // the manifest's own list: an entry whose load address is not the binary's header
  const r3 = copyRoot();
  const mf = path.join(r3, 'agent', 'manifest.json');
  writeFileSync(mf, readFileSync(mf, 'utf8').replace('"load": "0x20003000"', '"load": "0x20003400"'));
  assert.throws(
    () => loadPinned(r3),
    (e: unknown) => e instanceof SafetyError && /link address/.test(e.message),
  );
  // the control: an untouched copy pins
  assert.equal(loadPinned(copyRoot()).manifest.moduleSha256, manifest.module.sha256);
});

test("chooseEngine: pinned by default; --engine needs --agent on a serial port; --agent alone and a mismatching pair are bad input; on emu the model's agent carries the module", () => {
  const f407 = loadBoard('stm32f407');
  const pinned = chooseEngine(f407, { port: '/dev/ttyUSB0' });
  assert.deepEqual(pinned.engine, {
    source: 'manifest',
    moduleSha256: manifest.module.sha256,
    agentSha256: manifest.agents.find((a) => a.kind === 'f4')!.sha256,
  });
  assert.equal(pinned.agent, undefined);
  assert.equal(chooseEngine(loadBoard('stm32f103xb'), { port: 'emu' }).engine.agentSha256, null, 'a bootloader-only board has no agent');
  const debug = path.join(ROOT, 'build', 'debug.wasm');
  assert.throws(
    () => chooseEngine(f407, { port: '/dev/ttyUSB0', engineFile: debug }),
    (e: unknown) => e instanceof InputError && /needs --agent/.test(e.message),
  );
  assert.throws(() => chooseEngine(f407, { port: 'emu', agentFile: path.join(ROOT, 'agent', 'bin', 'f4.bin') }), InputError);
  assert.throws(
    () => chooseEngine(f407, { port: 'emu', engineFile: debug, agentFile: path.join(ROOT, 'agent', 'bin', 'f4.bin') }),
    (e: unknown) => e instanceof InputError && /must be built together/.test(e.message),
  );
  assert.throws(
    () => chooseEngine(f407, { port: 'emu', engineFile: debug, agentFile: path.join(ROOT, 'agent', 'bin', 'l4.bin') }),
    (e: unknown) => e instanceof InputError && /kind l4/.test(e.message),
  );
  assert.throws(
    () => chooseEngine(loadBoard('stm32f103xb'), { port: 'emu', engineFile: debug }),
    (e: unknown) => e instanceof InputError && /no engine runs/.test(e.message),
  );
  const custom = chooseEngine(f407, { port: 'emu', engineFile: debug });
  const debugSha = sha(readFileSync(debug));
  assert.equal(custom.engine.source, 'custom');
  assert.equal(custom.engine.moduleSha256, debugSha);
  assert.equal(custom.engine.file, debug);
  assert.equal(Buffer.from(parseImageHeader(custom.agent!).moduleSha256).toString('hex'), debugSha, 'the uploaded agent names the module it carries');
  assert.equal(custom.engine.agentSha256, sha(custom.agent!));
  assert.ok(custom.modelEngine);
});

test(
  'a changed build/terminal.wasm: erase, station and build refuse with exit 4 before the port opens, one line with the file and both hashes',
  { skip: toolSkip(hasSocat ? false : 'socat is not installed'), timeout: 60000 },
  async () => {
    const root = copyRoot();
    const cli = path.join(root, 'bin', 'poswipe.js');
    const wasm = path.join(root, 'build', 'terminal.wasm');
    const t = tamper(wasm);
    const pty = await recordingPty('changed-engine');
    try {
      for (const args of [
        ['erase', '--board', 'stm32f407', '--port', pty.link, '--no-backup'],
        ['erase', '--board', 'auto', '--port', pty.link, '--no-backup'],
        ['station', '--port', pty.link, '--board', 'stm32f407', '--once', '--no-backup', '--listen', '127.0.0.1:0'],
      ]) {
        const r = await run(cli, args);
        assert.equal(r.code, 4, `${args.join(' ')}: ${r.stderr}`);
        const lines = r.stderr.trim().split('\n');
        assert.equal(lines.length, 1, r.stderr);
        assert.ok(lines[0].includes(wasm) && lines[0].includes(t.after) && lines[0].includes(manifest.module.sha256), lines[0]);
      }
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(pty.bytes(), 0, 'nothing reached the port');
      // the control: the recorder does see bytes written to the pty
      writeFileSync(pty.link, 'x');
      for (let i = 0; i < 40 && pty.bytes() === 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(pty.bytes(), 1, 'the recorder records');
    } finally {
      pty.stop();
    }
    const key = path.join(work, 'k');
    assert.equal((await run(CLI, ['keys', 'new', '--out', key])).code, 0);
    const b = await run(cli, ['build', '--board', 'stm32f407', '--method', 'clear', '--key', `${key}.key.pem`, '--out', path.join(work, 'never.img')]);
    assert.equal(b.code, 4, b.stderr);
    assert.ok(!existsSync(path.join(work, 'never.img')), 'nothing signed');
    const web = await run(path.join(root, 'build', 'host', 'web', 'build.js'), [path.join(work, 'web-out')]);
    assert.equal(web.code, 4, web.stderr);
    assert.match(web.stderr, new RegExp(t.after));
    assert.ok(!existsSync(path.join(work, 'web-out', 'poswipe-web.js')), 'nothing bundled');
  },
);

test(
  'erase --board auto checks --engine/--agent before detection opens the port: a missing module, --agent alone (exit 2, nothing sent)',
  { skip: toolSkip(hasSocat ? false : 'socat is not installed'), timeout: 30000 },
  async () => {
    const pty = await recordingPty('auto-engine');
    try {
      const missing = await run(CLI, ['erase', '--board', 'auto', '--port', pty.link, '--no-backup', '--engine', path.join(work, 'no-such.wasm')]);
      assert.equal(missing.code, 2, missing.stderr);
      assert.match(missing.stderr, /--engine .*no-such\.wasm: no such file/);
      const alone = await run(CLI, ['erase', '--board', 'auto', '--port', pty.link, '--no-backup', '--agent', path.join(ROOT, 'agent', 'bin', 'f4.bin')]);
      assert.equal(alone.code, 2, alone.stderr);
      assert.match(alone.stderr, /--agent <file> goes with --engine <file>/);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(pty.bytes(), 0, 'nothing reached the port');
    } finally {
      pty.stop();
    }
  },
);

test('a changed agent binary: erase exits 4 naming it and both hashes, even for a board of another kind', async () => {
  const root = copyRoot();
  const l4 = manifest.agents.find((a) => a.kind === 'l4')!;
  const t = tamper(path.join(root, l4.binary));
  const r = await run(path.join(root, 'bin', 'poswipe.js'), [
    'erase',
    '--board',
    'stm32f407',
    '--port',
    'emu',
    '--no-backup',
    '--emu-log',
    path.join(work, 'agent-changed.log'),
  ]);
  assert.equal(r.code, 4, r.stderr);
  assert.ok(r.stderr.includes(l4.binary) && r.stderr.includes(t.after) && r.stderr.includes(l4.sha256), r.stderr);
  assert.ok(!existsSync(path.join(work, 'agent-changed.log')), 'no flash operation');
  // the control: the unchanged copy erases
  const ok = await run(path.join(copyRoot(), 'bin', 'poswipe.js'), ['erase', '--board', 'stm32f407', '--port', 'emu', '--no-backup', '--method', 'clear']);
  assert.equal(ok.code, 0, ok.stderr);
});

test('erase --engine <file> on an emulated port: the model runs it; report and certificate say custom; the pinned run says manifest', async () => {
  const debug = path.join(ROOT, 'build', 'debug.wasm');
  const certs = path.join(work, 'certs-custom');
  const r = await run(CLI, [
    'erase',
    '--board',
    'stm32f407',
    '--port',
    'emu',
    '--method',
    'clear',
    '--no-backup',
    '--json',
    '--cert',
    certs,
    '--engine',
    debug,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.emulation, 'model');
  assert.equal(report.engine.source, 'custom');
  assert.equal(report.engine.moduleSha256, sha(readFileSync(debug)));
  assert.equal(report.engine.sha256, sha(readFileSync(debug)), 'the module the session checked HELLO against');
  assert.equal(report.engine.file, debug);
  const cert = JSON.parse(readFileSync(report.certificate, 'utf8')).certificate;
  assert.equal(cert.sanitization.engine.source, 'custom');
  assert.equal(cert.sanitization.engine.sha256, sha(readFileSync(debug)), 'the certificate names it sha256 (docs/records.md)');
  const text = await run(CLI, ['erase', '--board', 'stm32f407', '--port', 'emu', '--method', 'clear', '--no-backup', '--cert', certs, '--engine', debug]);
  assert.match(text.stdout, /engine: CUSTOM module/);
  const pinned = await run(CLI, ['erase', '--board', 'stm32f407', '--port', 'emu', '--method', 'clear', '--no-backup', '--json', '--cert', certs]);
  assert.equal(pinned.code, 0, pinned.stderr);
  const p = JSON.parse(pinned.stdout);
  assert.equal(p.engine.source, 'manifest');
  assert.equal(JSON.parse(readFileSync(p.certificate, 'utf8')).certificate.sanitization.engine.source, 'manifest');
  assert.doesNotMatch(
    (await run(CLI, ['erase', '--board', 'stm32f407', '--port', 'emu', '--method', 'clear', '--no-backup', '--cert', certs])).stdout,
    /CUSTOM/,
  );
});

test('boardOfProductId: one match is taken; several are refused (SafetyError) listing them; none is a device problem', () => {
  const f407 = loadBoard('stm32f407');
  const t400 = loadBoard('acme-t400');
  assert.equal(boardOfProductId(0x413, [f407]).id, 'stm32f407');
  assert.throws(
    () => boardOfProductId(0x413, [f407, t400]),
    (e: unknown) => e instanceof SafetyError && /0x0413 matches several board files \(acme-t400, stm32f407\).*--board/.test(e.message),
  );
  assert.throws(
    () => boardOfProductId(0x999, []),
    (e: unknown) => !(e instanceof SafetyError) && /no board file/.test((e as Error).message),
  );
});

/** An emulated ACME T400 served on a pty by `poswipe emu`, its flash in `image` (made first by info). */
async function t400OnPty(name: string, sessions: number): Promise<{ link: string; image: string; original: Buffer; exited: Promise<void>; stop: () => void }> {
  const image = path.join(work, `${name}.bin`);
  assert.equal((await run(CLI, ['info', '--port', 'emu', '--board', 'acme-t400', '--emu-image', image])).code, 0);
  const original = readFileSync(image);
  const link = path.join(work, `tty-${name}`);
  const server = spawn(process.execPath, [CLI, 'emu', '--board', 'acme-t400', '--pty', link, '--emu-image', image, '--exit-after', String(sessions)], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => server.on('exit', () => resolve()));
  await waitFor(link);
  return { link, image, original, exited, stop: () => server.exitCode === null && server.kill() };
}

test(
  "erase --board auto on an emulated ACME T400 over a pty: exit 4, both candidates named, the terminal's image unchanged",
  { skip: toolSkip(hasSocat ? false : 'socat is not installed'), timeout: 30000 },
  async () => {
    const t = await t400OnPty('auto-t400', 1);
    try {
      const r = await run(CLI, ['erase', '--board', 'auto', '--port', t.link, '--method', 'clear', '--no-backup', '--json']);
      assert.equal(r.code, 4, r.stderr);
      assert.match(
        r.stderr,
        /product ID 0x0413 matches several board files \(acme-t400, stm32f407\): refused to guess; name the terminal's board with --board/,
      );
      assert.equal(r.stdout, '');
      await Promise.race([t.exited, new Promise((res) => setTimeout(res, 5000))]);
      assert.ok(readFileSync(t.image).equals(t.original), 'the T400 flash is unchanged');
    } finally {
      t.stop();
    }
  },
);

test(
  'station --once with an ambiguous serial terminal (emulated T400 on a pty): its tile is refused, exit 4, the image unchanged',
  { skip: toolSkip(hasSocat ? false : 'socat is not installed'), timeout: 30000 },
  async () => {
    const t = await t400OnPty('station-t400', 1);
    try {
      const r = await run(CLI, [
        'station',
        '--port',
        t.link,
        '--method',
        'clear',
        '--no-backup',
        '--once',
        '--listen',
        '127.0.0.1:0',
        '--cert',
        path.join(work, 'station-certs'),
      ]);
      assert.equal(r.code, 4, r.stdout + r.stderr);
      assert.match(r.stdout, /t1 .*: error \(product ID 0x0413 matches several board files \(acme-t400, stm32f407\)/);
      await Promise.race([t.exited, new Promise((res) => setTimeout(res, 5000))]);
      assert.ok(readFileSync(t.image).equals(t.original), 'the T400 flash is unchanged');
    } finally {
      t.stop();
    }
  },
);
