/**
 * Operator safety (issue 16), through the real command line like tests/bad-inputs.test.ts: each
 * case asserts the exit code of docs/cli.md, the one "poswipe: error:" line, and where nothing
 * may be written, that the emulated terminal's flash image is byte for byte what it was (and that
 * its --emu-log saw no flash operation).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadBoard } from '../host/boards/load';
import { initialImage } from '../host/emulator/image';
import { CLI, runCli } from './helpers';

const work = mkdtempSync(join(tmpdir(), 'poswipe-safety-'));
const env = {
  POSWIPE_CONFIG_DIR: join(work, 'cfg'),
  POSWIPE_AUDIT_DB: join(work, 'audit.sqlite'),
  POSWIPE_BACKUP_PASSPHRASE: 'the passphrase',
  XDG_CONFIG_HOME: join(work, 'xdg'),
};
const cli = (args: string[], extra: NodeJS.ProcessEnv = {}): ReturnType<typeof runCli> => runCli(args, { cwd: work, env: { ...env, ...extra } });
const at = (name: string): string => join(work, name);
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const mounts: string[] = [];

type Run = { code: number; stdout: string; stderr: string };

/** the one error line; more than one "poswipe: error:" line, or a stack frame, fails the test */
function errorLine(r: Run): string {
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('poswipe: error: '));
  assert.ok(!/^\s+at .+:\d+:\d+\)?$/m.test(r.stderr), `no stack trace on stderr:\n${r.stderr}`);
  assert.ok(!/^error: /m.test(r.stderr), `one error prefix ("poswipe: error:"):\n${r.stderr}`);
  assert.equal(lines.length, 1, `exactly one error line:\n${r.stderr}`);
  return lines[0].slice('poswipe: error: '.length);
}

function expectFailure(r: Run, code: number, message: RegExp): void {
  assert.equal(r.code, code, `expected exit ${code}, got ${r.code}:\n${r.stderr.slice(-600)}`);
  assert.match(errorLine(r), message);
}

/** a flash image of a new emulated terminal of `board` (seed 1) and its log path */
function terminal(name: string, board: string): { image: string; bytes: Buffer; log: string; args: string[]; untouched: () => void } {
  const bytes = Buffer.from(initialImage(loadBoard(board), 1));
  const image = at(`${name}.bin`);
  const log = at(`${name}.log`);
  writeFileSync(image, bytes);
  return {
    image,
    bytes,
    log,
    args: ['--emu-image', image, '--emu-log', log],
    untouched: () => {
      assert.ok(readFileSync(image).equals(bytes), 'the flash image is unchanged');
      assert.ok(!existsSync(log) || !/erase|program|write/i.test(readFileSync(log, 'utf8')), 'no flash operation in the emulator log');
    },
  };
}

/** a tmpfs (root only), read-only when asked; a skip reason when it cannot be mounted here */
function mountTmpfs(name: string, o: { kib: number; readOnly?: boolean; fill?: (dir: string) => void }): { dir: string } | { skip: string } {
  if (!isRoot) return { skip: 'mounting a tmpfs needs root' };
  const dir = at(name);
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${o.kib}k`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) return { skip: `cannot mount a tmpfs here: ${(r.stderr || r.error?.message || '').trim()}` };
  mounts.push(dir);
  o.fill?.(dir);
  if (o.readOnly) {
    const ro = spawnSync('mount', ['-o', 'remount,ro', dir], { encoding: 'utf8' });
    if (ro.status !== 0) return { skip: `cannot remount read-only: ${ro.stderr.trim()}` };
  }
  return { dir };
}

function auditRows(): { command: string; exitCode: number; reason: string | null; failureReportPath: string | null }[] {
  const r = cli(['audit', 'list', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

before(() => {
  mkdirSync(at('a-folder'));
  writeFileSync(at('a-file'), 'not a folder\n');
  writeFileSync(at('garbage.pem'), 'this is not a key\n');
  const keys = cli(['keys', 'new', '--out', 'k']);
  assert.equal(keys.code, 0, keys.stderr);
});

after(() => {
  for (const m of mounts.reverse()) spawnSync('umount', [m]);
  rmSync(work, { recursive: true, force: true });
});

// ---- conflicting options

for (const [name, order] of [
  ['--backup then --no-backup', ['--backup', 'conflict.pwbk', '--no-backup']],
  ['--no-backup then --backup', ['--no-backup', '--backup', 'conflict.pwbk']],
] as const) {
  test(`erase ${name}: exit 2, both named, no backup and nothing erased`, () => {
    const t = terminal(`conflict-${order[0]}`, 'acme-t400');
    expectFailure(cli(['erase', '--board', 'acme-t400', '--port', 'emu', ...order, ...t.args]), 2, /^--backup <file> and --no-backup contradict each other/);
    t.untouched();
    assert.ok(!existsSync(at('conflict.pwbk')));
  });
}

test('station --backup with --no-backup: exit 2 before any terminal is started', () => {
  const t = terminal('conflict-station', 'acme-t400');
  expectFailure(
    cli(['station', '--port', 'emu', '--board', 'acme-t400', '--once', '--no-backup', '--backup', 'conflict.pwbk', ...t.args]),
    2,
    /contradict each other/,
  );
  t.untouched();
});

// ---- every written path probed before the port is opened

const unwritable: [string, (t: ReturnType<typeof terminal>) => string[], RegExp][] = [
  ['--cert that is a regular file', () => ['--cert', at('a-file')], /^--cert .*a-file: is a file, not a folder/],
  ['--cert under /proc', () => ['--cert', '/proc/poswipe-certs'], /^--cert \/proc\/poswipe-certs: under \/proc, which holds devices and kernel interfaces/],
  ['--cert under /sys', () => ['--cert', '/sys/poswipe'], /^--cert \/sys\/poswipe: under \/sys/],
  ['--emu-log that is a folder', () => ['--emu-log', at('a-folder')], /^--emu-log .*a-folder: is a folder, not a file/],
  ['--emu-log under /proc', () => ['--emu-log', '/proc/self/poswipe.log'], /^--emu-log \/proc\/self\/poswipe\.log: under \/proc/],
  ['--emu-image that is a device', () => ['--emu-image', '/dev/null'], /^--emu-image \/dev\/null: under \/dev/],
  ['--audit-db under /proc', () => ['--audit-db', '/proc/poswipe.sqlite'], /^audit database \/proc\/poswipe\.sqlite: under \/proc/],
  ['--audit-db that is a folder', () => ['--audit-db', at('a-folder')], /^audit database .*a-folder: is a folder, not a file/],
];
for (const [name, extra, message] of unwritable) {
  test(`${name}: exit 2, one line, nothing written to the terminal`, () => {
    const t = terminal(`unwritable-${name.replace(/\W+/g, '-')}`, 'stm32f205');
    // --emu-log/--emu-image given twice: commander keeps the last, the case's own
    expectFailure(cli(['erase', '--board', 'stm32f205', '--port', 'emu', '--no-backup', '--sign-key', 'k.key.pem', ...t.args, ...extra(t)]), 2, message);
    t.untouched();
  });
}

test('station --cert under /proc: exit 2 before any tile starts', () => {
  const t = terminal('station-cert', 'stm32f205');
  expectFailure(
    cli(['station', '--port', 'emu', '--board', 'stm32f205', '--once', '--no-backup', '--cert', '/proc/poswipe-certs', ...t.args]),
    2,
    /^--cert \/proc\/poswipe-certs: under \/proc/,
  );
  t.untouched();
});

test('--backup under /proc: exit 2 at once (it used to hang at 100% CPU), nothing read or erased', () => {
  const t = terminal('backup-proc', 'acme-t400');
  const started = Date.now();
  expectFailure(
    cli(['erase', '--board', 'acme-t400', '--port', 'emu', '--backup', '/proc/poswipe.pwbk', ...t.args]),
    2,
    /^backup \/proc\/poswipe\.pwbk: under \/proc/,
  );
  assert.ok(Date.now() - started < 20000, 'refused quickly');
  t.untouched();
});

test('--cert on a read-only file system: exit 2 before the erase, no certificate, audit row 2', (t) => {
  const disk = mountTmpfs('ro-certs', { kib: 256, readOnly: true });
  if ('skip' in disk) return t.skip(disk.skip);
  const term = terminal('ro-certs', 'stm32f205');
  expectFailure(
    cli(['erase', '--board', 'stm32f205', '--port', 'emu', '--no-backup', '--sign-key', 'k.key.pem', '--cert', join(disk.dir, 'certs'), ...term.args]),
    2,
    /^--cert .*ro-certs\/certs: cannot write in .*ro-certs: EROFS/,
  );
  term.untouched();
  assert.equal(auditRows().at(-1)?.exitCode, 2, 'the refusal has its audit row');
});

test('--emu-image on a read-only file system: exit 2 up front, no VERIFIED, no certificate, no "ok" audit row', (t) => {
  const bytes = Buffer.from(initialImage(loadBoard('stm32f205'), 1));
  const disk = mountTmpfs('ro-image', { kib: 2048, readOnly: true, fill: (dir) => writeFileSync(join(dir, 'f205.bin'), bytes) });
  if ('skip' in disk) return t.skip(disk.skip);
  const image = join(disk.dir, 'f205.bin');
  const r = cli(['erase', '--board', 'stm32f205', '--port', 'emu', '--no-backup', '--sign-key', 'k.key.pem', '--cert', 'ro-image-certs', '--emu-image', image]);
  expectFailure(r, 2, /^--emu-image .*f205\.bin: cannot write/);
  assert.doesNotMatch(r.stdout, /VERIFIED/);
  assert.ok(!existsSync(at('ro-image-certs')) || readdirSync(at('ro-image-certs')).length === 0, 'no certificate');
  assert.ok(readFileSync(image).equals(bytes));
  assert.equal(auditRows().at(-1)?.exitCode, 2);
});

test('--emu-image on a disk too full to save it after the erase: no VERIFIED, no certificate; exit 2, a failure report and the audit row', (t) => {
  const bytes = Buffer.from(initialImage(loadBoard('stm32f205'), 1));
  // room for the 1 MiB image, not for the temporary copy it is saved through
  const disk = mountTmpfs('full-image', { kib: 1100, fill: (dir) => writeFileSync(join(dir, 'f205.bin'), bytes) });
  if ('skip' in disk) return t.skip(disk.skip);
  const image = join(disk.dir, 'f205.bin');
  const certs = 'full-image-certs';
  const r = cli([
    'erase',
    '--board',
    'stm32f205',
    '--port',
    'emu',
    '--method',
    'clear',
    '--no-backup',
    '--sign-key',
    'k.key.pem',
    '--cert',
    certs,
    '--emu-image',
    image,
  ]);
  expectFailure(r, 2, /^--emu-image .*f205\.bin: cannot save the emulated flash: ENOSPC/);
  assert.doesNotMatch(r.stdout, /VERIFIED/);
  const left = existsSync(at(certs)) ? readdirSync(at(certs)) : [];
  assert.deepEqual(
    left.filter((f) => /\.cert\./.test(f)),
    [],
    'no certificate',
  );
  assert.equal(left.filter((f) => /\.NOT-SANITIZED\.json$/.test(f)).length, 1, `a failure report: ${left.join(', ')}`);
  assert.deepEqual(readdirSync(disk.dir), ['f205.bin'], 'no temporary image left');
  const row = auditRows().at(-1)!;
  assert.equal(row.exitCode, 2);
  assert.ok(row.failureReportPath);
});

// ---- backups say what they hold

test('--backup on a board with no data regions: exit 2 saying why and what to do, nothing erased', () => {
  const t = terminal('no-regions', 'stm32f205');
  expectFailure(
    cli(['erase', '--board', 'stm32f205', '--port', 'emu', '--backup', 'empty.pwbk', ...t.args]),
    2,
    /^--backup empty\.pwbk: board stm32f205 declares no data regions, so there is nothing to back up .*name the regions to keep in a board file .*or pass --no-backup/,
  );
  t.untouched();
  assert.ok(!existsSync(at('empty.pwbk')));
});

test('backup on a board with no data regions: exit 2, no file', () => {
  expectFailure(cli(['backup', '--board', 'stm32f205', '--port', 'emu', '--out', 'empty2.pwbk']), 2, /^backup: board stm32f205 declares no data regions/);
  assert.ok(!existsSync(at('empty2.pwbk')));
});

test('a certificate of a run with nothing backed up says "no backup"', () => {
  const r = cli(['erase', '--board', 'stm32f205', '--port', 'emu', '--no-backup', '--sign-key', 'k.key.pem', '--cert', 'nb-certs', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const cert = JSON.parse(readFileSync(JSON.parse(r.stdout).certificate, 'utf8'));
  assert.equal(cert.certificate.media.dataBackedUp, 'no backup');
});

// ---- fault specs against the memory map

for (const [spec, message] of [
  ['stuck@0x0801234', /^bad fault spec "stuck@0x0801234": 0x00801234 is outside the flash of stm32f205 \(0x08000000 to 0x080fffff\)/],
  ['stuck@0x108012345', /^bad fault spec "stuck@0x108012345": 0x108012345 is wider than 32 bits/],
  ['erase-fail@0x20000000', /^bad fault spec "erase-fail@0x20000000": 0x20000000 is outside the flash/],
] as const) {
  test(`--emu-fault ${spec}: exit 2 naming the spec, nothing erased`, () => {
    const t = terminal(`fault-${spec.replace(/\W+/g, '-')}`, 'stm32f205');
    expectFailure(cli(['erase', '--board', 'stm32f205', '--port', 'emu', '--no-backup', '--emu-fault', spec, ...t.args]), 2, message);
    t.untouched();
  });
}

test('station emu:stuck@<address outside the flash>: exit 2 naming the spec', () => {
  expectFailure(cli(['station', '--port', 'emu:stuck@0x0801234', '--board', 'stm32f205', '--once', '--no-backup']), 2, /stuck@0x0801234.*outside the flash/);
});

// ---- signals

function runAsync(args: string[]): { pid: () => number; done: Promise<Run & { signal: NodeJS.Signals | null }> } {
  const c = spawn(process.execPath, [CLI, ...args], { cwd: work, env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  c.stdout.on('data', (d) => (stdout += d));
  c.stderr.on('data', (d) => (stderr += d));
  return { pid: () => c.pid ?? 0, done: new Promise((resolve) => c.on('close', (code, signal) => resolve({ code: code ?? -1, signal, stdout, stderr }))) };
}

// both signals at once, each on its own emulated terminal and certificate folder: the runs wait on real time (--realtime)
test('SIGTERM and SIGHUP during the erase: each stops after the phase, exit 3, a failure report and an audit row, no certificate', async () => {
  await Promise.all(
    (['SIGTERM', 'SIGHUP'] as const).map(async (sig) => {
      const t = terminal(`signal-${sig}`, 'stm32f205');
      const certs = `signal-${sig}-certs`;
      const run = runAsync([
        'erase',
        '--board',
        'stm32f205',
        '--port',
        'emu',
        '--method',
        'clear',
        '--realtime',
        '--emu-baud',
        '1000000',
        '--no-backup',
        '--sign-key',
        'k.key.pem',
        '--cert',
        certs,
        ...t.args,
      ]);
      for (let i = 0; i < 600 && !(existsSync(t.log) && /erase sector/.test(readFileSync(t.log, 'utf8'))); i++) await new Promise((r) => setTimeout(r, 50));
      assert.match(readFileSync(t.log, 'utf8'), /erase sector/, 'the run reached the erase');
      process.kill(run.pid(), sig);
      const r = await run.done;
      assert.equal(r.code, 3, `exit 3, not killed by the signal (code ${r.code}, signal ${r.signal}):\n${r.stderr}`);
      assert.match(errorLine(r), new RegExp(`^interrupted by the operator \\(${sig}\\)`));
      const left = existsSync(at(certs)) ? readdirSync(at(certs)) : [];
      assert.deepEqual(
        left.filter((f) => /\.cert\./.test(f)),
        [],
        'no certificate',
      );
      const reports = left.filter((f) => /\.NOT-SANITIZED\.json$/.test(f));
      assert.equal(reports.length, 1, `one failure report: ${left.join(', ')}`);
      const report = JSON.parse(readFileSync(join(at(certs), reports[0]), 'utf8'));
      assert.equal(report.result, 'NOT SANITIZED');
      assert.equal(report.exitCode, 3);
      // the two runs share the audit database: this run's row is the one naming its failure report
      const row = auditRows().find((x) => x.failureReportPath === join(at(certs), reports[0]));
      assert.ok(row, `an audit row for ${sig}`);
      assert.equal(row.exitCode, 3);
      assert.match(row.reason ?? '', new RegExp(`interrupted by the operator \\(${sig}\\)`));
    }),
  );
});

test('SIGINT during an F103 erase (no agent, bootloader only): stops after the phase, exit 3, recorded, nothing programmed after it', async () => {
  const t = terminal('signal-f103', 'stm32f103xb');
  const certs = 'signal-f103-certs';
  const run = runAsync([
    'erase',
    '--board',
    'stm32f103xb',
    '--port',
    'emu',
    '--method',
    'purge',
    '--realtime',
    '--emu-baud',
    '1000000',
    '--no-backup',
    '--sign-key',
    'k.key.pem',
    '--cert',
    certs,
    ...t.args,
  ]);
  for (let i = 0; i < 600 && !(existsSync(t.log) && /erase sector/.test(readFileSync(t.log, 'utf8'))); i++) await new Promise((r) => setTimeout(r, 50));
  assert.match(readFileSync(t.log, 'utf8'), /erase sector/, 'the run reached the erase');
  process.kill(run.pid(), 'SIGINT');
  const r = await run.done;
  assert.equal(r.code, 3, `exit 3, not killed by the signal (code ${r.code}, signal ${r.signal}):\n${r.stderr}`);
  assert.match(errorLine(r), /^interrupted by the operator \(SIGINT\)/);
  // the erase pass under way ran to its end; the PRNG pass after it never started
  assert.doesNotMatch(readFileSync(t.log, 'utf8'), /^.*program /m, 'nothing programmed after the stop');
  const left = existsSync(at(certs)) ? readdirSync(at(certs)) : [];
  assert.deepEqual(
    left.filter((f) => /\.cert\./.test(f)),
    [],
    'no certificate',
  );
  assert.equal(left.filter((f) => /\.NOT-SANITIZED\.json$/.test(f)).length, 1, `one failure report: ${left.join(', ')}`);
  const row = auditRows().at(-1)!;
  assert.equal(row.exitCode, 3);
  assert.match(row.reason ?? '', /interrupted by the operator \(SIGINT\)/);
});

// ---- exit codes and messages

test('erase --bogus: the unknown option is named (not the missing --board), exit 2', () => {
  expectFailure(cli(['erase', '--bogus']), 2, /^unknown option '--bogus'$/);
  expectFailure(cli(['erase', '--port', 'emu', '--bogus']), 2, /^unknown option '--bogus'$/);
});

test('commander usage errors carry the one prefix', () => {
  expectFailure(cli(['erase', '--port', 'emu']), 2, /^required option '--board <board>' not specified$/);
  expectFailure(cli(['no-such-command']), 2, /^unknown command 'no-such-command'/);
});

test('a board file nested thousands of levels deep: exit 2, not 3', () => {
  writeFileSync(at('deep.json'), '['.repeat(200000) + ']'.repeat(200000));
  expectFailure(cli(['boards', 'show', './deep.json']), 2, /deep\.json/);
});

for (const [name, port, message] of [
  ['a regular file', 'a-file', /^--port a-file: a regular file, not a serial device/],
  ['a folder', 'a-folder', /^--port a-folder: a folder, not a serial device/],
  ['/dev/null', '/dev/null', /^--port \/dev\/null: a memory device \(like \/dev\/null\), not a serial device/],
  ['an empty name', '', /^--port: empty port name/],
] as const) {
  test(`--port that is ${name}: exit 2 with a clear line`, () => {
    expectFailure(cli(['erase', '--board', 'stm32f205', '--port', port, '--no-backup', '--sign-key', 'k.key.pem']), 2, message);
  });
}

test('--emu-trust <not a key>: exit 2 naming the file, nothing erased', () => {
  const t = terminal('emu-trust', 'stm32f205');
  expectFailure(
    cli(['erase', '--board', 'stm32f205', '--port', 'emu', '--no-backup', '--emu-trust', 'garbage.pem', ...t.args]),
    2,
    /^--emu-trust garbage\.pem: not a public key in PEM/,
  );
  t.untouched();
});

test('purge and dod3 with --verify sample: exit 2 in erase and in build alike', () => {
  for (const method of ['purge', 'dod3']) {
    const t = terminal(`sample-${method}`, 'stm32f407');
    expectFailure(
      cli(['erase', '--board', 'stm32f407', '--port', 'emu', '--no-backup', '--method', method, '--verify', 'sample', ...t.args]),
      2,
      new RegExp(`^method ${method} .*requires full verification`),
    );
    t.untouched();
    expectFailure(
      cli(['build', '--board', 'stm32f407', '--method', method, '--verify', 'sample', '--key', 'k.key.pem', '--out', `${method}-sample.pwimg`]),
      2,
      new RegExp(`^method ${method} requires full verification`),
    );
  }
});

test('clear --verify sample on a board too small to sample: the report says every block was checked', () => {
  const r = cli([
    'erase',
    '--board',
    'stm32f407',
    '--port',
    'emu',
    '--no-backup',
    '--method',
    'clear',
    '--verify',
    'sample',
    '--sign-key',
    'k.key.pem',
    '--cert',
    'sample-certs',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /sample: every block checked, since 256 block\(s\) are fewer than sampling needs/);
});

test('nack@read: refused (exit 4) without advising --unlock as a certainty, nothing erased', () => {
  const t = terminal('nack-read', 'stm32f205');
  const r = cli(['erase', '--board', 'stm32f205', '--port', 'emu', '--no-backup', '--emu-fault', 'nack@read', ...t.args]);
  expectFailure(r, 4, /refuses Read Memory \(NACK\), as a read-protected part \(RDP level 1\) does; poswipe cannot tell read protection from another refusal/);
  assert.doesNotMatch(errorLine(r), /: pass --unlock/);
  t.untouched();
});

// ---- bounded input

test('--board /dev/zero and cert verify /dev/zero: exit 2 at once, no hang', () => {
  const started = Date.now();
  expectFailure(cli(['erase', '--board', '/dev/zero', '--port', 'emu']), 2, /\/dev\/zero: .*file-readable: cannot read the board file: not a regular file/);
  expectFailure(cli(['cert', 'verify', '/dev/zero', '--trust', 'k.pub.pem']), 2, /^certificate \/dev\/zero: cannot read: not a regular file/);
  assert.ok(Date.now() - started < 20000, `refused quickly (${Date.now() - started} ms)`);
});

test('a named pipe as a certificate: exit 2, no wait for a writer', () => {
  const fifo = at('cert.fifo');
  if (spawnSync('mkfifo', [fifo]).status !== 0) return;
  expectFailure(cli(['cert', 'verify', fifo, '--trust', 'k.pub.pem']), 2, /^certificate .*cert\.fifo: cannot read: not a regular file/);
});

test('a 3 GB board file (sparse): refused by its size at once, exit 2', () => {
  const big = at('huge-board.json');
  writeFileSync(big, '');
  truncateSync(big, 3 * 1024 ** 3);
  const started = Date.now();
  expectFailure(
    cli(['erase', '--board', big, '--port', 'emu']),
    2,
    /cannot read the board file: too large: 3072 MiB, and a file of this kind is at most 1 MiB/,
  );
  assert.ok(Date.now() - started < 10000, 'refused by its size, not read');
});

test('a certificate past its size limit: exit 2', () => {
  const big = at('huge.cert.json');
  writeFileSync(big, '');
  truncateSync(big, 5 * 1024 ** 2);
  expectFailure(
    cli(['cert', 'verify', big, '--trust', 'k.pub.pem']),
    2,
    /^certificate .*huge\.cert\.json: cannot read: too large: 5 MiB, and a file of this kind is at most 4 MiB/,
  );
});

// ---- build, keys, boards

test('build --out <folder>: exit 2, no temporary file left; an existing image needs --force', () => {
  mkdirSync(at('images'), { recursive: true });
  expectFailure(cli(['build', '--board', 'stm32f407', '--method', 'clear', '--key', 'k.key.pem', '--out', 'images']), 2, /^--out images: is a folder/);
  assert.deepEqual(readdirSync(at('images')), []);
  assert.deepEqual(
    readdirSync(work).filter((f) => /\.tmp-|\.partial-/.test(f)),
    [],
    'no temporary file',
  );
  writeFileSync(at('old.pwimg'), 'an older image');
  expectFailure(
    cli(['build', '--board', 'stm32f407', '--method', 'clear', '--key', 'k.key.pem', '--out', 'old.pwimg']),
    2,
    /^--out old\.pwimg: already exists; pass --force to replace it/,
  );
  assert.equal(readFileSync(at('old.pwimg'), 'utf8'), 'an older image');
  const forced = cli(['build', '--board', 'stm32f407', '--method', 'clear', '--key', 'k.key.pem', '--out', 'old.pwimg', '--force', '--json']);
  assert.equal(forced.code, 0, forced.stderr);
  // one key-id format: the image names its signer as keys new does
  const keys = cli(['keys', 'new', '--out', 'k2']);
  assert.equal(keys.code, 0, keys.stderr);
  const id = /key id\s+(sha256:[0-9a-f]{64})/.exec(keys.stdout)?.[1];
  assert.ok(id, keys.stdout);
  const built = cli(['build', '--board', 'stm32f407', '--method', 'clear', '--key', 'k2.key.pem', '--out', 'k2.pwimg', '--json']);
  assert.equal(built.code, 0, built.stderr);
  assert.equal(JSON.parse(built.stdout).manifest.signer.keyId, id);
});

for (const prefix of ['', 'a-folder', 'a-folder/']) {
  test(`keys new --out "${prefix}": exit 2, no hidden .key.pem written`, () => {
    expectFailure(cli(['keys', 'new', '--out', prefix]), 2, /not a file name prefix/);
    assert.ok(!existsSync(at('.key.pem')) && !existsSync(at('a-folder/.key.pem')));
  });
}

test('boards show <board> --json prints JSON', () => {
  const r = cli(['boards', 'show', 'stm32f205', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).id, 'stm32f205');
});

// ---- progress

test('backup and restore draw no progress bar when stderr is not a terminal', () => {
  const b = cli(['backup', '--board', 'acme-t400', '--port', 'emu', '--out', 'progress.pwbk']);
  assert.equal(b.code, 0, b.stderr);
  // eslint-disable-next-line no-control-regex -- the escape that starts the bar's redraw is what must be absent
  assert.doesNotMatch(b.stderr, /\[[░█]+\]|KiB \x1b/, 'no bar');
  const r = cli(['restore', '--board', 'acme-t400', '--port', 'emu', '--in', 'progress.pwbk', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /\[[░█]+\]/);
});
