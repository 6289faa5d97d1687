import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { CLI, referenceDigest, runCli, toolSkip } from './helpers';

const work = mkdtempSync(path.join(tmpdir(), 'poswipe-cli-'));
const env = { POSWIPE_CONFIG_DIR: path.join(work, 'config'), POSWIPE_AUDIT_DB: path.join(work, 'audit.db') };
const cli = (args: string[]) => runCli(args, { cwd: work, env });

test('erase --json on the emulated F407: exit 0, 256 blocks, digests reproduce independently', () => {
  const r = cli(['erase', '--board', 'stm32f407', '--port', 'emu', '--json', '--no-backup']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.verified, true);
  assert.equal(report.board, 'stm32f407');
  assert.equal(report.pid, '0x0413');
  assert.match(report.uid, /^[0-9a-f]{24}$/);
  assert.equal(report.method, 'purge');
  assert.equal(report.verify, 'full');
  assert.match(report.nonce, /^[0-9a-f]{64}$/);
  assert.equal(report.blockSize, 4096);
  assert.equal(report.blocks.length, 256);
  assert.deepEqual(report.failed, []);
  const ff = new Uint8Array(4096).fill(0xff);
  for (const b of report.blocks) {
    assert.equal(b.ok, true);
    // one nonce per job: each block carries its own job's (docs/cli.md, the JSON report)
    assert.match(b.nonce, /^[0-9a-f]{64}$/);
    assert.equal(b.digest, referenceDigest(b.nonce, Number(b.address), ff));
  }
  assert.equal(typeof report.timings.total, 'number');
  assert.ok(report.wire.bytesTx > 0 && report.wire.bytesRx > 0);
});

test('a stuck byte: exit 1, block 0x08012000 named as failed', () => {
  const r = cli(['erase', '--board', 'stm32f407', '--port', 'emu', '--json', '--no-backup', '--method', 'clear', '--emu-fault', 'stuck@0x08012345']);
  assert.equal(r.code, 1, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.verified, false);
  assert.deepEqual(report.failed, ['0x08012000']);
  assert.equal(report.certificate, null);
});

test('unknown board: exit 2 and a one-line message naming it', () => {
  const r = cli(['erase', '--board', 'stm32f999', '--port', 'emu']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /stm32f999/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('malformed board file: exit 2 naming the file and the problem', () => {
  const f = path.join(work, 'bad-board.json');
  writeFileSync(f, '{ "id": "bad-board", ');
  const r = cli(['boards', 'show', f]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad-board\.json/);
  assert.match(r.stderr, /json-syntax/);
});

test('a port that does not exist: exit 3 naming it', () => {
  const r = cli(['erase', '--board', 'stm32f407', '--port', '/dev/ttyNOSUCH0']);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /\/dev\/ttyNOSUCH0/);
});

test('bad usage: unknown option, missing required option, bad method, bad fault spec → exit 2', () => {
  assert.equal(cli(['erase', '--board', 'stm32f407', '--port', 'emu', '--bogus']).code, 2);
  assert.equal(cli(['erase', '--port', 'emu']).code, 2);
  const m = cli(['erase', '--board', 'stm32f407', '--port', 'emu', '--method', 'shred']);
  assert.equal(m.code, 2);
  assert.match(m.stderr, /shred/);
  const f = cli(['erase', '--board', 'stm32f407', '--port', 'emu', '--emu-fault', 'melt@0x0800']);
  assert.equal(f.code, 2);
  assert.match(f.stderr, /melt@0x0800/);
});

test('read-protected terminal without --unlock: exit 4, image unchanged', () => {
  const img = path.join(work, 'rdp.bin');
  assert.equal(cli(['info', '--port', 'emu', '--board', 'stm32f407', '--emu-image', img]).code, 0); // saves the new terminal's image
  assert.ok(existsSync(img));
  const before = readFileSync(img);
  const r = cli(['erase', '--board', 'stm32f407', '--port', 'emu', '--no-backup', '--emu-image', img, '--emu-rdp', '1']);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /read-protected/);
  assert.ok(before.equals(readFileSync(img)));
});

test('read-protected terminal with --unlock --no-backup: exit 0, every block verified', () => {
  const r = cli(['erase', '--board', 'stm32f407', '--port', 'emu', '--json', '--unlock', '--no-backup', '--emu-rdp', '1']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.unlocked, true);
  assert.equal(report.blocks.length, 256);
});

test('powerloss: the first run fails, the second completes and the image is blank', () => {
  const img = path.join(work, 'powerloss.bin');
  const first = cli(['erase', '--board', 'stm32f407', '--port', 'emu', '--no-backup', '--method', 'clear', '--emu-image', img, '--emu-fault', 'powerloss@5']);
  assert.notEqual(first.code, 0);
  const second = cli(['erase', '--board', 'stm32f407', '--port', 'emu', '--no-backup', '--method', 'clear', '--emu-image', img]);
  assert.equal(second.code, 0, second.stderr);
  assert.ok(readFileSync(img).every((b) => b === 0xff));
});

test('boards --json lists the seven boards with product IDs', () => {
  const r = cli(['boards', '--json']);
  assert.equal(r.code, 0);
  const list = JSON.parse(r.stdout) as { id: string; productIds: string[] }[];
  const ids = Object.fromEntries(list.map((b) => [b.id, b.productIds]));
  assert.deepEqual(ids['stm32f103xb'], ['0x0410']);
  assert.deepEqual(ids['stm32f103xe'], ['0x0414']);
  assert.deepEqual(ids['stm32f205'], ['0x0411']);
  assert.deepEqual(ids['stm32f407'], ['0x0413']);
  assert.deepEqual(ids['stm32f429'], ['0x0419']);
  assert.deepEqual(ids['stm32l476'], ['0x0415']);
  assert.ok(ids['acme-t400']);
});

test(
  '--board auto over a serial port (a pty served by poswipe emu): the product ID picks the board',
  { skip: toolSkip(spawnSync('sh', ['-c', 'command -v socat']).status === 0 ? false : 'socat is not installed') },
  async () => {
    const link = path.join(work, 'tty-auto');
    // three server sessions: the product-ID probe, the erase up to the agent's RESET (a part reset ends a session), the re-sync after it
    const server = spawn(process.execPath, [CLI, 'emu', '--board', 'stm32f205', '--pty', link, '--exit-after', '3'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !existsSync(link); i++) await new Promise((r) => setTimeout(r, 50));
      const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const c = spawn(process.execPath, [CLI, 'erase', '--board', 'auto', '--port', link, '--method', 'clear', '--no-backup', '--json'], {
          cwd: work,
          env: { ...process.env, ...env },
        });
        let stdout = '';
        let stderr = '';
        c.stdout.on('data', (d) => (stdout += d));
        c.stderr.on('data', (d) => (stderr += d));
        c.on('close', (code) => resolve({ code, stdout, stderr }));
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /product ID 0x0411 is stm32f205/);
      assert.equal(JSON.parse(r.stdout).board, 'stm32f205');
    } finally {
      server.kill();
    }
  },
);

test('--board auto with the emulated port is bad usage (exit 2)', () => {
  const r = cli(['erase', '--board', 'auto', '--port', 'emu']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--board auto needs a serial port/);
});

test('locked terminal with data to keep: --unlock without --no-backup is refused (exit 4), nothing erased', () => {
  const img = path.join(work, 'locked-acme.bin');
  assert.equal(cli(['info', '--port', 'emu', '--board', 'acme-t400', '--emu-image', img]).code, 0);
  const before = readFileSync(img);
  const r = cli(['erase', '--board', 'acme-t400', '--port', 'emu', '--emu-image', img, '--emu-rdp', '1', '--unlock']);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /cannot be backed up.*--no-backup/);
  assert.ok(before.equals(readFileSync(img)));
  const ok = cli(['erase', '--board', 'acme-t400', '--port', 'emu', '--emu-image', img, '--emu-rdp', '1', '--unlock', '--no-backup']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(readFileSync(img).every((b) => b === 0xff));
});

test('a refused erase image is recorded in the audit log (one row, exit 4)', () => {
  assert.equal(cli(['keys', 'new', '--out', path.join(work, 'img-key')]).code, 0);
  const img = path.join(work, 'refused.img');
  const b = cli(['build', '--board', 'stm32f407', '--method', 'clear', '--key', path.join(work, 'img-key.key.pem'), '--out', img]);
  assert.equal(b.code, 0, b.stderr);
  const bytes = readFileSync(img);
  bytes[Math.floor(bytes.length / 2)] ^= 0x01;
  writeFileSync(img, bytes);
  const before = (JSON.parse(cli(['audit', 'list', '--json']).stdout) as unknown[]).length;
  const r = cli(['flash', '--image', img, '--port', 'emu', '--trust', path.join(work, 'img-key.pub.pem')]);
  assert.equal(r.code, 4, r.stderr);
  const rows = JSON.parse(cli(['audit', 'list', '--json']).stdout) as { command: string; exitCode: number; reason: string }[];
  assert.equal(rows.length, before + 1);
  const last = rows[rows.length - 1];
  assert.equal(last.command, 'flash');
  assert.equal(last.exitCode, 4);
  assert.match(last.reason, /refused\.img/);
});
