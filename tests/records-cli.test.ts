import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBoard } from '../host/boards/load';
import { CLI, runCli } from './helpers';

function bench(): { dir: string; cfg: string; env: NodeJS.ProcessEnv; run: (args: string[], env?: NodeJS.ProcessEnv) => ReturnType<typeof runCli> } {
  const dir = mkdtempSync(join(tmpdir(), 'poswipe-bench-'));
  const cfg = join(dir, 'cfg');
  const env = { POSWIPE_CONFIG_DIR: cfg, POSWIPE_AUDIT_DB: '', POSWIPE_BACKUP_PASSPHRASE: '', XDG_CONFIG_HOME: join(dir, 'xdg') };
  return { dir, cfg, env, run: (args, extra = {}) => runCli(args, { cwd: dir, env: { ...env, ...extra } }) };
}

const board = loadBoard('acme-t400');
const region = (img: Buffer, name: string): Buffer => {
  const r = board.regions.find((x) => x.name === name)!;
  return img.subarray(r.address - board.flash.base, r.address - board.flash.base + r.size);
};

test('backup, erase, restore through the command line: data regions byte-identical, bad backups and other terminals refused', () => {
  const b = bench();
  const img = join(b.dir, 'flash.bin');
  const pass = { POSWIPE_BACKUP_PASSPHRASE: 'bench passphrase' };
  const bk = b.run(['backup', '--board', 'acme-t400', '--port', 'emu', '--emu-image', img, '--out', 'saved.pwbk', '--json'], pass);
  assert.equal(bk.code, 0, bk.stderr);
  const rep = JSON.parse(bk.stdout);
  assert.deepEqual(
    rep.regions.map((r: { name: string }) => r.name),
    ['config', 'transactions'],
  );
  assert.equal(rep.encryption, 'age scrypt passphrase (2^15)');
  const original = readFileSync(img);
  const again = b.run(['backup', '--board', 'acme-t400', '--port', 'emu', '--emu-image', img, '--out', 'saved.pwbk'], pass);
  assert.equal(again.code, 2, 'a backup is never overwritten');
  assert.match(again.stderr, /already exists/);

  const er = b.run(['erase', '--board', 'acme-t400', '--port', 'emu', '--emu-image', img, '--method', 'clear', '--no-backup']);
  assert.equal(er.code, 0, er.stderr);
  const erased = readFileSync(img);
  assert.ok(region(erased, 'transactions').every((v) => v === 0xff));

  const wrong = b.run(['restore', '--board', 'acme-t400', '--port', 'emu', '--emu-image', img, '--in', 'saved.pwbk'], { POSWIPE_BACKUP_PASSPHRASE: 'not it' });
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /wrong passphrase or corrupted backup/);
  writeFileSync(join(b.dir, 'cut.pwbk'), readFileSync(join(b.dir, 'saved.pwbk')).subarray(0, 5000));
  const cut = b.run(['restore', '--board', 'acme-t400', '--port', 'emu', '--emu-image', img, '--in', 'cut.pwbk'], pass);
  assert.equal(cut.code, 2);
  assert.match(cut.stderr, /truncated backup/);
  const other = b.run(['restore', '--board', 'acme-t400', '--port', 'emu', '--emu-image', img, '--emu-seed', '2', '--in', 'saved.pwbk'], pass);
  assert.equal(other.code, 4, other.stderr);
  assert.match(other.stderr, /--force/);
  assert.ok(readFileSync(img).equals(erased), 'nothing written to another terminal without --force');

  const rs = b.run(['restore', '--board', 'acme-t400', '--port', 'emu', '--emu-image', img, '--in', 'saved.pwbk'], pass);
  assert.equal(rs.code, 0, rs.stderr);
  assert.match(rs.stdout, /^RESTORED/);
  const restored = readFileSync(img);
  for (const name of ['config', 'transactions']) assert.ok(region(restored, name).equals(region(original, name)), `${name} byte-identical`);
  assert.ok(
    region(restored, 'keys').every((v) => v === 0xff),
    'keys are not in a backup, so not restored',
  );

  const rows = JSON.parse(b.run(['audit', 'list', '--json']).stdout);
  assert.deepEqual(
    rows.map((r: { command: string; exitCode: number }) => `${r.command}:${r.exitCode}`),
    ['backup:0', 'backup:2', 'erase:0', 'restore:2', 'restore:2', 'restore:4', 'restore:0'],
  );
});

test('a backup path that cannot be written is refused before the port is opened (exit 2), the flash untouched', () => {
  const b = bench();
  const img = join(b.dir, 'flash.bin');
  const first = b.run(['backup', '--board', 'acme-t400', '--port', 'emu', '--emu-image', img, '--out', 'first.pwbk']);
  assert.equal(first.code, 0, first.stderr);
  const before = readFileSync(img);
  writeFileSync(join(b.dir, 'not-a-folder'), 'x');
  const r = b.run(['erase', '--board', 'acme-t400', '--port', 'emu', '--emu-image', img, '--backup', 'not-a-folder/b.pwbk']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^poswipe: error: backup .*not-a-folder\/b\.pwbk: .*not-a-folder is a file, not a folder$/m);
  assert.ok(readFileSync(img).equals(before), 'flash untouched');
  assert.equal(existsSync(join(b.dir, 'certificates')), false);
  const rows = JSON.parse(b.run(['audit', 'list', '--json']).stdout);
  assert.equal(rows[1].exitCode, 2);
  assert.match(rows[1].reason, /not-a-folder is a file, not a folder/);
});

test('killing the process during the backup leaves no file at the backup path and the flash untouched', async () => {
  const b = bench();
  const img = join(b.dir, 'flash.bin');
  const first = b.run(['backup', '--board', 'acme-t400', '--port', 'emu', '--emu-image', img, '--out', 'first.pwbk']);
  assert.equal(first.code, 0, first.stderr);
  const before = readFileSync(img);
  const target = join(b.dir, 'killed.pwbk');
  // --realtime: the emulated line takes real time (~16 s for the backup at 115200 baud), so the kill lands mid-backup
  const child = spawn(process.execPath, [CLI, 'erase', '--board', 'acme-t400', '--port', 'emu', '--emu-image', img, '--realtime', '--backup', target], {
    cwd: b.dir,
    env: { ...process.env, ...b.env },
  });
  let stderr = '';
  const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, signal) => res(signal)));
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`no backup started: ${stderr}`)), 15000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('backup: reading')) {
        clearTimeout(timer);
        setTimeout(res, 300);
      }
    });
  });
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  assert.equal(existsSync(target), false, 'no file at the backup path');
  assert.deepEqual(
    readdirSync(b.dir).filter((f) => f.includes('killed')),
    [],
    'not even a partial file: the backup was still being read',
  );
  assert.ok(readFileSync(img).equals(before), 'flash untouched');
});
