/**
 * The application layer (host/app/) on its own, without the command line: one recorded erase on
 * an emulated terminal, the events a front end hears, and what a stopped run leaves behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runErase, type EraseRun } from '../host/app/run-erase';
import type { RunProgress } from '../host/app/run-events';
import { loadBoard } from '../host/boards/load';
import { DeviceError } from '../host/errors';
import { chooseEngine } from '../host/agent/pinned';

const dir = mkdtempSync(join(tmpdir(), 'poswipe-app-'));
// the bench's keys and settings live in a folder of this test only
Object.assign(process.env, { POSWIPE_CONFIG_DIR: join(dir, 'config'), POSWIPE_AUDIT_DB: '', POSWIPE_BACKUP_PASSPHRASE: '', XDG_CONFIG_HOME: join(dir, 'xdg') });

function run(name: string, extra: Partial<EraseRun> = {}): EraseRun {
  const board = loadBoard('acme-t400');
  const chosen = chooseEngine(board, { port: 'emu' });
  return {
    board,
    port: 'emu',
    emu: { emuSeed: '7' },
    method: 'clear',
    verify: 'full',
    module: chosen.module,
    engine: chosen.engine,
    records: { backup: join(dir, name, 'backup.pwbk'), cert: join(dir, name, 'certs'), auditDb: join(dir, name, 'audit.sqlite') },
    ...extra,
  };
}

test('runErase: an emulated terminal erased and recorded; progress in bytes (backup, upload) and items (passes); the session end heard once', async () => {
  const steps: RunProgress[] = [];
  let ends = 0;
  const result = await runErase(run('ok'), { onProgress: (p) => steps.push(p), onSessionEnd: () => ends++ });
  assert.equal(result.code, 0);
  assert.equal(result.outcome.verified, true);
  assert.equal(ends, 1);
  const units = new Map(steps.map((s) => [s.phase, s.unit]));
  assert.equal(units.get('backup'), 'bytes');
  assert.ok(
    [...units].some(([phase, unit]) => phase !== 'backup' && phase !== 'upload' && unit === 'items'),
    [...units].join(' '),
  );
  if (units.has('upload')) assert.equal(units.get('upload'), 'bytes');
  // the records carry the JSON report of app/report.ts
  const cert = result.records.paths.certificate;
  assert.ok(cert && existsSync(cert), `certificate ${cert}`);
  assert.ok(existsSync(join(dir, 'ok', 'backup.pwbk')));
  assert.ok(result.records.lines.length > 0);
});

test('runErase: a signal aborted once the terminal is being changed stops the run after that phase; its failure report names the reason', async () => {
  const controller = new AbortController();
  let ends = 0;
  const phases: string[] = [];
  const records = { backup: false as const, cert: join(dir, 'stopped', 'certs'), auditDb: join(dir, 'stopped', 'audit.sqlite') };
  const stopped = runErase(run('stopped', { records }), {
    signal: controller.signal,
    onProgress: (p) => {
      phases.push(p.phase);
      // the first phase that writes to the terminal (a pass): stop after it
      if (!['prepare', 'connect', 'backup', 'upload'].includes(p.phase)) controller.abort(new DeviceError('stopped by this test'));
    },
    onSessionEnd: () => ends++,
  });
  await assert.rejects(stopped, /stopped by this test/);
  assert.equal(ends, 1);
  const reports = readdirSync(join(dir, 'stopped', 'certs')).filter((f) => f.endsWith('.NOT-SANITIZED.json'));
  assert.equal(reports.length, 1, `${reports.join(', ')} after phases ${[...new Set(phases)].join(', ')}`);
  assert.match(readFileSync(join(dir, 'stopped', 'certs', reports[0]), 'utf8'), /stopped by this test/);
});
