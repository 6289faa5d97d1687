/**
 * The bad-input catalogue: one test per bad input a bench meets, each through the real command
 * line (`node bin/poswipe.js`, cwd and config in a temp folder), each asserting the exact exit code
 * (docs/cli.md: 1 not verified, 2 bad usage or input file, 3 device or link, 4 refused for safety)
 * and that the message names the problem, so that a swallowed error fails the test.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadBoard } from '../host/boards/load';
import { initialImage } from '../host/emulator/image';
import { encodeImage, parseImage } from '../host/image/format';
import { openBackup } from '../host/records/backup';
import { CLI, runCli, toolSkip } from './helpers';

const work = mkdtempSync(join(tmpdir(), 'poswipe-bad-inputs-'));
const env = {
  POSWIPE_CONFIG_DIR: join(work, 'cfg'),
  POSWIPE_AUDIT_DB: join(work, 'audit.sqlite'),
  POSWIPE_BACKUP_PASSPHRASE: '',
  XDG_CONFIG_HOME: join(work, 'xdg'),
};
const cli = (args: string[], extra: NodeJS.ProcessEnv = {}): ReturnType<typeof runCli> => runCli(args, { cwd: work, env: { ...env, ...extra } });
const at = (name: string): string => join(work, name);
const hasSocat = spawnSync('sh', ['-c', 'command -v socat']).status === 0;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const mounts: string[] = [];

/** the first line poswipe prints for an error */
function errorLine(r: { stderr: string }): string {
  return /^poswipe: error: (.*)$/m.exec(r.stderr)?.[1] ?? `(no "poswipe: error:" line; stderr: ${r.stderr.slice(-300)})`;
}

/** exit code and message, in one assertion that shows both when it fails */
function expectFailure(r: ReturnType<typeof runCli>, code: number, message: RegExp, where: 'error' | 'stdout' = 'error'): void {
  const text = where === 'error' ? errorLine(r) : r.stdout;
  assert.equal(r.code, code, `expected exit ${code}, got ${r.code}: ${text}\n${r.stderr.slice(-500)}`);
  assert.match(text, message);
}

/** a flash image file of a new emulated terminal of `board` (seed 1, as --emu-seed defaults) */
function freshImage(name: string, board: string): { path: string; bytes: Buffer } {
  const bytes = Buffer.from(initialImage(loadBoard(board), 1));
  const path = at(name);
  writeFileSync(path, bytes);
  return { path, bytes };
}

/** a tmpfs of `kib` KiB (root only); null with the reason when it cannot be mounted here */
function tinyDisk(name: string, kib: number): { dir: string } | { skip: string } {
  if (!isRoot) return { skip: 'mounting a tmpfs needs root' };
  const dir = at(name);
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) return { skip: `cannot mount a tmpfs here: ${(r.stderr || r.error?.message || '').trim()}` };
  mounts.push(dir);
  return { dir };
}

let image = ''; // a signed erase image for stm32f407 (clear), trusted by k.pub.pem
let backupFile = ''; // a passphrase backup of the acme-t400 terminal of seed 1

before(() => {
  writeFileSync(at('pass.txt'), 'the right passphrase\n');
  writeFileSync(at('wrong-pass.txt'), 'not the passphrase\n');
  mkdirSync(at('a-directory.json'));
  const keys = cli(['keys', 'new', '--out', 'k']);
  assert.equal(keys.code, 0, keys.stderr);
  const build = cli(['build', '--board', 'stm32f407', '--method', 'clear', '--key', 'k.key.pem', '--out', 'f407.pwimg']);
  assert.equal(build.code, 0, build.stderr);
  image = at('f407.pwimg');
  const bk = cli(['backup', '--board', 'acme-t400', '--port', 'emu', '--out', 'acme.pwbk', '--passphrase-file', 'pass.txt']);
  assert.equal(bk.code, 0, bk.stderr);
  backupFile = at('acme.pwbk');
});

after(() => {
  for (const m of mounts) spawnSync('umount', [m]);
  rmSync(work, { recursive: true, force: true });
});

// ---- missing files

test('missing board file: exit 2, names the file and says it cannot be read', () => {
  expectFailure(
    cli(['erase', '--board', './no-such-board.json', '--port', 'emu']),
    2,
    /no-such-board\.json: \(file\): file-readable: cannot read the board file: no such file/,
  );
});

test('missing erase image: exit 2, names the image', () => {
  expectFailure(cli(['flash', '--image', 'no-such.pwimg', '--port', 'emu', '--trust', 'k.pub.pem']), 2, /--image no-such\.pwimg: no such file/);
});

test('missing trusted key: exit 2, names the key file', () => {
  expectFailure(cli(['flash', '--image', image, '--port', 'emu', '--trust', 'no-such.pub.pem']), 2, /--trust no-such\.pub\.pem: no such file/);
});

test('missing backup file (restore --in): exit 2, names it', () => {
  expectFailure(
    cli(['restore', '--board', 'acme-t400', '--port', 'emu', '--in', 'no-such.pwbk', '--passphrase-file', 'pass.txt']),
    2,
    /backup no-such\.pwbk: no such file/,
  );
});

test('missing certificate (cert verify): exit 2, names it', () => {
  expectFailure(cli(['cert', 'verify', 'no-such.cert.json', '--trust', 'k.pub.pem']), 2, /certificate no-such\.cert\.json: no such file/);
});

test('missing signing key (--sign-key): exit 2 before the terminal is touched', () => {
  const img = freshImage('missing-key.bin', 'stm32f205');
  expectFailure(
    cli(['erase', '--board', 'stm32f205', '--port', 'emu', '--no-backup', '--emu-image', img.path, '--sign-key', 'no-such.key.pem']),
    2,
    /--sign-key no-such\.key\.pem: no such file/,
  );
  assert.ok(readFileSync(img.path).equals(img.bytes), 'nothing erased');
});

test('missing passphrase file: exit 2, names it', () => {
  expectFailure(
    cli(['erase', '--board', 'acme-t400', '--port', 'emu', '--backup', 'x.pwbk', '--passphrase-file', 'no-such-pass.txt']),
    2,
    /--passphrase-file no-such-pass\.txt: no such file/,
  );
});

// ---- unreadable files (a directory where a file should be: unreadable even for root)

test('unreadable board file: exit 2, file-readable names the file', () => {
  expectFailure(
    cli(['erase', '--board', 'a-directory.json', '--port', 'emu']),
    2,
    /a-directory\.json: \(file\): file-readable: cannot read the board file: illegal operation on a directory/,
  );
});

test('unreadable erase image: exit 2 naming the image (not a device error)', () => {
  expectFailure(cli(['flash', '--image', 'a-directory.json', '--port', 'emu', '--trust', 'k.pub.pem']), 2, /--image a-directory\.json: cannot read: EISDIR/);
});

test('unreadable trusted key: exit 2 naming it', () => {
  expectFailure(cli(['flash', '--image', image, '--port', 'emu', '--trust', 'a-directory.json']), 2, /--trust a-directory\.json: cannot read: EISDIR/);
});

test('unreadable backup file: exit 2 naming it', () => {
  expectFailure(
    cli(['restore', '--board', 'acme-t400', '--port', 'emu', '--in', 'a-directory.json', '--passphrase-file', 'pass.txt']),
    2,
    /backup a-directory\.json: cannot read: EISDIR/,
  );
});

test('unreadable certificate: exit 2 naming it', () => {
  expectFailure(cli(['cert', 'verify', 'a-directory.json', '--trust', 'k.pub.pem']), 2, /certificate a-directory\.json: cannot read: EISDIR/);
});

test('unreadable passphrase file: exit 2 naming it', () => {
  expectFailure(
    cli(['erase', '--board', 'acme-t400', '--port', 'emu', '--backup', 'y.pwbk', '--passphrase-file', 'a-directory.json']),
    2,
    /--passphrase-file a-directory\.json: cannot read: EISDIR/,
  );
});

test('unreadable emulator image (--emu-image): exit 2 naming it', () => {
  expectFailure(
    cli(['erase', '--board', 'stm32f205', '--port', 'emu', '--no-backup', '--emu-image', 'a-directory.json']),
    2,
    /--emu-image a-directory\.json: is a folder, not a file/,
  );
});

test(
  'board file without read permission (chmod 000): exit 2, permission denied',
  { skip: isRoot ? 'running as root: chmod 000 does not stop root from reading; the directory cases above cover unreadable files' : false },
  () => {
    const file = at('stm32f205-locked.json');
    writeFileSync(file, readFileSync(loadBoard('stm32f205').source));
    chmodSync(file, 0o000);
    expectFailure(cli(['erase', '--board', file, '--port', 'emu']), 2, /file-readable: cannot read the board file: permission denied/);
  },
);

// ---- board files

test('malformed JSON board file: exit 2, json-syntax with line and column', () => {
  writeFileSync(at('broken.json'), '{\n  "id": "broken",\n  "inherits": "stm32f407",\n  "name": "missing comma"\n  "productIds": ["0x413"]\n}\n');
  expectFailure(cli(['erase', '--board', 'broken.json', '--port', 'emu']), 2, /broken\.json: \(file\): json-syntax: not valid JSON at line 5, column 3/);
});

test('board whose sector runs overlap (do not tile the flash): exit 2, runs-tile-flash', () => {
  writeFileSync(
    at('overlap.json'),
    JSON.stringify({
      id: 'overlap',
      inherits: 'stm32f407',
      name: 'runs that overlap',
      flash: {
        sectors: [
          { count: 4, size: '0x4000' },
          { count: 2, size: '0x10000' },
          { count: 7, size: '0x20000' },
        ],
      },
    }),
  );
  expectFailure(
    cli(['erase', '--board', 'overlap.json', '--port', 'emu']),
    2,
    /flash\.sectors: runs-tile-flash: sector runs add up to 0x110000 .* but flash\.size is 0x100000/,
  );
});

test('unknown board: exit 2, the known boards are listed', () => {
  expectFailure(cli(['erase', '--board', 'stm32f999', '--port', 'emu']), 2, /no board "stm32f999"; known boards: .*stm32f407/);
});

// ---- ports and devices

test('a port that does not exist: exit 3, names the port', () => {
  expectFailure(cli(['erase', '--board', 'stm32f407', '--port', '/dev/ttyNOSUCH7', '--no-backup']), 3, /serial port \/dev\/ttyNOSUCH7 does not exist/);
});

test(
  'a port that answers garbage (a pty served by socat and a random-byte answerer): exit 3, no bootloader',
  { skip: toolSkip(hasSocat ? false : 'socat is not installed') },
  async () => {
    const answerer = at('garbage.js');
    writeFileSync(
      answerer,
      "process.stdin.on('data', (d) => { const out = []; for (let i = 0; i < 2 * d.length; i++) { let b; do b = Math.floor(Math.random() * 256); while (b === 0x79 || b === 0x1f); out.push(b); } process.stdout.write(Buffer.from(out)); });\n",
    );
    const link = at('tty-garbage');
    const socat = spawn('socat', [`pty,link=${link},cfmakeraw,echo=0,wait-slave`, `SYSTEM:${JSON.stringify(process.execPath)} ${JSON.stringify(answerer)}`], {
      stdio: 'ignore',
    });
    try {
      for (let i = 0; i < 100 && !existsSync(link); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(existsSync(link), 'socat made no pty');
      const r = await runAsync(['erase', '--board', 'stm32f407', '--port', link, '--no-backup']);
      expectFailure(r, 3, /no bootloader answers on .*tty-garbage \(sync 0x7F got no ACK after \d+ tries: unexpected answer 0x[0-9a-f]+ to the sync byte\)/);
    } finally {
      socat.kill();
    }
  },
);

test("wrong device: an image built for stm32f407 run on an emulated stm32f205: exit 4, not the image's board", () => {
  // (was exit 3 from the product ID check in the session; --board must now be the image's board file: refused before the port opens)
  const img = freshImage('wrong-device.bin', 'stm32f205');
  expectFailure(
    cli(['flash', '--image', image, '--trust', 'k.pub.pem', '--port', 'emu', '--board', 'stm32f205', '--no-backup', '--emu-image', img.path]),
    4,
    /is built for board stm32f407, the terminal is stm32f205 \(--board stm32f205\): refused/,
  );
  assert.ok(readFileSync(img.path).equals(img.bytes), 'nothing written to the wrong device');
});

test('locked device (RDP level 1) without --unlock: exit 4, refused, the flash untouched', () => {
  const img = freshImage('locked.bin', 'acme-t400');
  expectFailure(
    cli([
      'erase',
      '--board',
      'acme-t400',
      '--port',
      'emu',
      '--emu-rdp',
      '1',
      '--emu-image',
      img.path,
      '--backup',
      'locked.pwbk',
      '--passphrase-file',
      'pass.txt',
    ]),
    4,
    /refuses Read Memory \(NACK\), as a read-protected part \(RDP level 1\) does.*only if it is read-protected, pass --unlock/,
  );
  assert.ok(readFileSync(img.path).equals(img.bytes));
  assert.ok(!existsSync(at('locked.pwbk')), 'no backup of a locked part');
});

// ---- erase images

function flashImage(file: string, logName: string): ReturnType<typeof runCli> {
  return cli(['flash', '--image', file, '--trust', 'k.pub.pem', '--port', 'emu', '--no-backup', '--emu-log', at(logName)]);
}

test('truncated erase image: exit 2, "truncated", nothing sent to the terminal', () => {
  writeFileSync(at('truncated.pwimg'), readFileSync(image).subarray(0, 3000));
  expectFailure(flashImage('truncated.pwimg', 'truncated.log'), 2, /image truncated\.pwimg: truncated or lengths do not add up/);
  assert.ok(!existsSync(at('truncated.log')), 'no flash operation');
});

test('tampered erase image (one byte of the module changed): exit 4, the signature does not verify', () => {
  const bytes = Buffer.from(readFileSync(image));
  const parsed = parseImage(bytes);
  const moduleAt = bytes.indexOf(Buffer.from(parsed.module.subarray(0, 64)));
  bytes[moduleAt + 100] ^= 0x01;
  writeFileSync(at('tampered.pwimg'), bytes);
  expectFailure(flashImage('tampered.pwimg', 'tampered.log'), 4, /image tampered\.pwimg: the image signature does not verify against the trusted key/);
  assert.ok(!existsSync(at('tampered.log')), 'no flash operation');
});

test('unsigned erase image: exit 4, "not signed"', () => {
  const parsed = parseImage(readFileSync(image));
  writeFileSync(at('unsigned.pwimg'), encodeImage({ manifest: parsed.manifestBytes, module: parsed.module, agent: parsed.agent }));
  expectFailure(flashImage('unsigned.pwimg', 'unsigned.log'), 4, /image unsigned\.pwimg is not signed: flash runs only images signed by a trusted key/);
  assert.ok(!existsSync(at('unsigned.log')), 'no flash operation');
});

// ---- backups and certificates

test('wrong backup passphrase: exit 2, "wrong passphrase or corrupted backup", nothing written', () => {
  const img = freshImage('wrong-pass.bin', 'acme-t400');
  expectFailure(
    cli(['restore', '--board', 'acme-t400', '--port', 'emu', '--in', backupFile, '--passphrase-file', 'wrong-pass.txt', '--emu-image', img.path]),
    2,
    /acme\.pwbk: wrong passphrase or corrupted backup/,
  );
  assert.ok(readFileSync(img.path).equals(img.bytes));
});

test('backup of another terminal (another unique ID) without --force: exit 4, both IDs named, nothing written', () => {
  const other = Buffer.from(initialImage(loadBoard('acme-t400'), 2));
  writeFileSync(at('other.bin'), other);
  const r = cli([
    'restore',
    '--board',
    'acme-t400',
    '--port',
    'emu',
    '--emu-seed',
    '2',
    '--emu-image',
    at('other.bin'),
    '--in',
    backupFile,
    '--passphrase-file',
    'pass.txt',
  ]);
  expectFailure(r, 4, /the backup was taken from unique ID [0-9a-f]{24}, this terminal is [0-9a-f]{24}: pass --force/);
  assert.ok(readFileSync(at('other.bin')).equals(other), 'nothing written to the other terminal');
});

test('a certificate edited by one byte: cert verify exits 1 and names the edited section', () => {
  const img = freshImage('cert.bin', 'stm32f205');
  const run = cli([
    'erase',
    '--board',
    'stm32f205',
    '--port',
    'emu',
    '--no-backup',
    '--emu-image',
    img.path,
    '--cert',
    'cert-dir',
    '--sign-key',
    'k.key.pem',
    '--json',
  ]);
  assert.equal(run.code, 0, run.stderr);
  const certPath: string = JSON.parse(run.stdout).certificate;
  const good = cli(['cert', 'verify', certPath, '--trust', 'k.pub.pem']);
  assert.equal(good.code, 0, good.stdout + good.stderr);
  const text = readFileSync(certPath, 'utf8');
  const uid: string = JSON.parse(text).certificate.media.serialNumber;
  const pos = text.indexOf(`"serialNumber": "${uid}"`) + '"serialNumber": "'.length;
  const edited = Buffer.from(text, 'utf8');
  edited[pos] = edited[pos] === 0x30 ? 0x31 : 0x30; // one hex digit of the unique ID
  assert.equal(Buffer.compare(edited, Buffer.from(text)) !== 0, true);
  writeFileSync(at('edited.cert.json'), edited);
  const r = cli(['cert', 'verify', 'edited.cert.json', '--trust', 'k.pub.pem']);
  expectFailure(
    r,
    1,
    /^INVALID: edited\.cert\.json\n {2}FAILED sections: certificate\.media was edited\n {2}FAILED signature\.value: the Ed25519 signature does not match/,
    'stdout',
  );
});

test('disk full while writing the backup: exit 4 "backup failed, nothing was erased", no file, the flash untouched', (t) => {
  const disk = tinyDisk('tiny-backup', 64); // the acme-t400 backup is about 81 KiB
  if ('skip' in disk) return t.skip(disk.skip);
  const img = freshImage('disk-full-backup.bin', 'acme-t400');
  const target = join(disk.dir, 'acme.pwbk');
  expectFailure(
    cli(['erase', '--board', 'acme-t400', '--port', 'emu', '--emu-image', img.path, '--backup', target, '--passphrase-file', 'pass.txt']),
    4,
    /backup failed, nothing was erased: ENOSPC: no space left on device/,
  );
  assert.deepEqual(readdirSync(disk.dir), [], 'no backup and no partial file left');
  assert.ok(readFileSync(img.path).equals(img.bytes), 'nothing erased');
});

test('disk full while writing the certificate: exit 2 (a local disk error on the folder named) "no space left on device", no certificate file (not even a truncated one)', (t) => {
  const disk = tinyDisk('tiny-cert', 64);
  if ('skip' in disk) return t.skip(disk.skip);
  writeFileSync(join(disk.dir, 'filler'), Buffer.alloc(60 * 1024)); // one 4 KiB page left: the certificate JSON (~8 KiB) does not fit
  const img = freshImage('disk-full-cert.bin', 'stm32f205');
  const certs = join(disk.dir, 'certs');
  expectFailure(
    cli(['erase', '--board', 'stm32f205', '--port', 'emu', '--no-backup', '--emu-image', img.path, '--cert', certs, '--sign-key', 'k.key.pem']),
    2,
    /cannot write .*certs.*: ENOSPC: no space left on device/,
  );
  const left = existsSync(certs) ? readdirSync(certs) : [];
  assert.deepEqual(
    left.filter((f) => !/\.NOT-SANITIZED\.json$/.test(f)),
    [],
    `no certificate (at most a failure report) in the certificate folder: ${left.join(', ')}`,
  );
});

test('disk full between the certificate PDF and its JSON: no signed certificate (nor its PDF) left for a run that exits non-zero', (t) => {
  const disk = tinyDisk('tiny-pdf', 64);
  if ('skip' in disk) return t.skip(disk.skip);
  // 8 KiB left: the PDF (about 5 KiB, written first) fits, the signed JSON (about 8 KiB) then does not
  writeFileSync(join(disk.dir, 'filler'), Buffer.alloc(56 * 1024));
  const img = freshImage('disk-full-pdf.bin', 'stm32f205');
  const certs = join(disk.dir, 'certs');
  const r = cli(['erase', '--board', 'stm32f205', '--port', 'emu', '--no-backup', '--emu-image', img.path, '--cert', certs, '--sign-key', 'k.key.pem']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /ENOSPC/);
  assert.deepEqual(existsSync(certs) ? readdirSync(certs).filter((f) => /\.cert\.(json|pdf)$/.test(f)) : [], []);
});

// ---- interrupted run

function runAsync(args: string[], onSpawn?: (pid: number) => void): Promise<{ code: number; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CLI, ...args], { cwd: work, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('close', (code, signal) => resolve({ code: code ?? -1, signal, stdout, stderr }));
    if (c.pid) onSpawn?.(c.pid);
  });
}

test('interrupted run (SIGINT during the erase): no certificate, the image file whole, and a second run completes with a blank flash', async () => {
  const img = freshImage('interrupted.bin', 'acme-t400');
  const log = at('interrupted.log');
  let pid = 0;
  const first = runAsync(
    [
      'erase',
      '--board',
      'acme-t400',
      '--port',
      'emu',
      '--method',
      'clear',
      '--realtime',
      '--emu-baud',
      '1000000',
      '--emu-image',
      img.path,
      '--emu-log',
      log,
      '--backup',
      'interrupted.pwbk',
      '--passphrase-file',
      'pass.txt',
      '--cert',
      'interrupted-certs',
    ],
    (p) => (pid = p),
  );
  // wait for the first sector erase on the terminal, then interrupt
  for (let i = 0; i < 600 && !(existsSync(log) && /erase sector/.test(readFileSync(log, 'utf8'))); i++) await new Promise((r) => setTimeout(r, 50));
  assert.match(readFileSync(log, 'utf8'), /erase sector/, 'the first run reached the erase');
  process.kill(pid, 'SIGINT');
  const r1 = await first;
  // Ctrl-C stops the run after its current phase: exit 3 with the reason, recorded in the audit log
  assert.equal(r1.code, 3, `the first run ended by the interrupt (code ${r1.code}, signal ${r1.signal}): ${r1.stderr}`);
  assert.match(r1.stderr, /interrupted by the operator \(SIGINT\)/);
  const rows = JSON.parse(cli(['audit', 'list', '--json']).stdout) as { exitCode: number; reason: string }[];
  assert.ok(
    rows.some((row) => row.exitCode === 3 && /interrupted by the operator/.test(row.reason)),
    'the interrupted run has its audit row',
  );
  assert.doesNotMatch(r1.stdout, /VERIFIED/);
  const left = existsSync(at('interrupted-certs')) ? readdirSync(at('interrupted-certs')) : [];
  assert.deepEqual(
    left.filter((f) => /\.cert\./.test(f)),
    [],
    'no certificate for an interrupted run',
  );
  const reports = left.filter((f) => /\.NOT-SANITIZED\.json$/.test(f));
  assert.equal(reports.length, 1, `one failure report for the interrupted run: ${left.join(', ')}`);
  const report = JSON.parse(readFileSync(join(at('interrupted-certs'), reports[0]), 'utf8'));
  assert.equal(report.result, 'NOT SANITIZED');
  assert.match(report.reason, /interrupted by the operator \(SIGINT\)/);
  assert.ok(
    rows.some((row) => row.exitCode === 3 && /interrupted/.test(row.reason)),
    'the audit row of the interrupted run',
  );
  assert.equal(readFileSync(img.path).length, img.bytes.length, 'the image file is whole');
  assert.deepEqual(
    readdirSync(work).filter((f) => f.startsWith('interrupted.bin.tmp')),
    [],
    'no temporary image left',
  );
  // the backup taken before the interrupt is intact
  const b = await openBackup(at('interrupted.pwbk'), { passphrase: () => 'the right passphrase' });
  const board = loadBoard('acme-t400');
  for (const [i, reg] of b.header.regions.entries())
    assert.ok(b.data[i].equals(img.bytes.subarray(reg.address - board.flash.base, reg.address - board.flash.base + reg.size)), `backup region ${reg.name}`);
  // the second run completes
  const r2 = cli([
    'erase',
    '--board',
    'acme-t400',
    '--port',
    'emu',
    '--method',
    'clear',
    '--emu-image',
    img.path,
    '--no-backup',
    '--cert',
    'interrupted-certs',
    '--include-protected',
  ]);
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stdout, /^VERIFIED/);
  assert.ok(
    readFileSync(img.path).every((v) => v === 0xff),
    'the flash is blank',
  );
});
