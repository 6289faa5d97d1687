/**
 * The audit store on both backends, against a real PostgreSQL that the test starts itself
 * (tests/pg-server.ts: initdb + pg_ctl, a Unix socket in a temp folder, no TCP): migrations from
 * empty and from the previous version, two benches writing at once, a server that goes away in
 * the middle of a run and comes back (queue, then sync), duplicate syncs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, newRow } from '../host/records/audit';
import { PgAuditStore } from '../host/records/audit-pg';
import { COLUMNS, MIGRATIONS } from '../host/records/audit-schema';
import { SqliteAuditStore } from '../host/records/audit-store';
import { pushesSettled, pushPending, schedulePush } from '../host/records/audit-sync';
import { CLI, runCli } from './helpers';
import { noPostgres, startPgServer, type PgServer } from './pg-server';

let pg: PgServer | null = null;
let dbCount = 0;
/** a fresh database of its own on the shared throwaway server */
function freshDb(): string {
  const name = `t${++dbCount}`;
  pg!.createDb(name);
  return pg!.url(name);
}

before(() => {
  if (!noPostgres) pg = startPgServer();
});
after(() => pg?.destroy());

interface Bench {
  dir: string;
  cfg: string;
  env: NodeJS.ProcessEnv;
  run: (args: string[], extra?: NodeJS.ProcessEnv) => ReturnType<typeof runCli>;
  spawn: (args: string[]) => { done: Promise<{ code: number | null; stdout: string; stderr: string }>; stderr: () => string };
}

function bench(name: string, url: string): Bench {
  const dir = mkdtempSync(join(tmpdir(), `poswipe-${name}-`));
  const cfg = join(dir, 'cfg');
  const env = {
    POSWIPE_CONFIG_DIR: cfg,
    POSWIPE_AUDIT_DB: '',
    POSWIPE_AUDIT_URL: url,
    POSWIPE_BACKUP_PASSPHRASE: '',
    XDG_CONFIG_HOME: join(dir, 'xdg'),
    POSWIPE_BENCH: name,
  };
  return {
    dir,
    cfg,
    env,
    run: (args, extra = {}) => runCli(args, { cwd: dir, env: { ...env, ...extra } }),
    spawn: (args) => {
      const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: { ...process.env, ...env } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => child.on('exit', (code) => res({ code, stdout, stderr })));
      return { done, stderr: () => stderr };
    },
  };
}

const skip = { skip: noPostgres };

function row(i: number, extra: Partial<ReturnType<typeof newRow>> = {}): ReturnType<typeof newRow> {
  return newRow(
    'erase',
    {
      board: 'stm32f407',
      uid: `00${i}`.slice(-3).padEnd(24, 'a'),
      result: 'ok',
      exitCode: 0,
      ended: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
      certificateId: `cert-${i}`,
      certificateJson: `{"n":${i}}\n`,
      ...extra,
    },
    'test',
  );
}

test('migrations from empty: both backends reach the same version with the same columns', skip, async () => {
  const url = freshDb();
  const s = await PgAuditStore.open(url);
  assert.deepEqual(
    await s.schemaVersions(),
    MIGRATIONS.map((m) => m.version),
  );
  await s.close();
  const direct = new (require('pg').Client)({ connectionString: url });
  await direct.connect();
  const cols = (await direct.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'runs' ORDER BY ordinal_position")).rows.map(
    (r: { column_name: string }) => r.column_name,
  );
  await direct.end();
  const lite = AuditLog.open(join(mkdtempSync(join(tmpdir(), 'poswipe-audit-')), 'a.sqlite'));
  assert.deepEqual(
    lite.schemaVersions(),
    MIGRATIONS.map((m) => m.version),
  );
  lite.close();
  assert.deepEqual(
    cols,
    COLUMNS.map(([, c]) => c),
  );
  // a second open applies nothing
  const again = await PgAuditStore.open(url);
  assert.deepEqual(await again.migrate(), []);
  await again.close();
});

test(
  'migrations from the previous version: rows of version 1 keep their data and get a run id (PostgreSQL and a SQLite log made before migrations)',
  skip,
  async () => {
    const url = freshDb();
    const v1 = await PgAuditStore.open(url, { upTo: 1 });
    assert.deepEqual(await v1.schemaVersions(), [1]);
    await v1.close();
    const c = new (require('pg').Client)({ connectionString: url });
    await c.connect();
    await c.query(
      "INSERT INTO runs (started, ended, command, uid, result, exit_code, timings_json, host) VALUES ('2025-01-01T00:00:00.000Z', '2025-01-01T00:01:00.000Z', 'erase', 'abc123', 'ok', 0, '{}', 'old-bench')",
    );
    await c.end();
    const v2 = await PgAuditStore.open(url);
    assert.deepEqual(await v2.schemaVersions(), [1, 2]);
    const rows = await v2.list();
    assert.equal(rows.length, 1);
    assert.equal(rows[0].uid, 'abc123');
    assert.match(rows[0].runId, /^[0-9a-f]{32}$/);
    await v2.close();

    // SQLite as the first poswipe wrote it: runs, no schema_migrations
    const path = join(mkdtempSync(join(tmpdir(), 'poswipe-audit-')), 'old.sqlite');
    const old = new Database(path);
    old.exec(MIGRATIONS[0].sqlite.join(';'));
    old
      .prepare(
        "INSERT INTO runs (started, ended, command, uid, result, exit_code, timings_json, host) VALUES ('2025-01-01T00:00:00.000Z', '2025-01-01T00:01:00.000Z', 'erase', 'def456', 'ok', 0, '{\"total\":1}', 'old-bench')",
      )
      .run();
    old.close();
    const lite = AuditLog.open(path);
    assert.deepEqual(lite.schemaVersions(), [1, 2]);
    const l = lite.list();
    assert.equal(l[0].uid, 'def456');
    assert.deepEqual(l[0].timings, { total: 1 });
    assert.match(l[0].runId, /^[0-9a-f]{32}$/);
    lite.close();
  },
);

test('one store interface: the same rows and filters read the same from SQLite and PostgreSQL', skip, async () => {
  const url = freshDb();
  const path = join(mkdtempSync(join(tmpdir(), 'poswipe-audit-')), 'a.sqlite');
  const lite = AuditLog.open(path, url, schedulePush);
  for (let i = 0; i < 5; i++) lite.append(row(i)); // each append pushes in the background
  lite.close();
  await pushesSettled();
  const r = await pushPending(path, url);
  assert.deepEqual(r, { inserted: 0, already: 0, remaining: 0 }, 'the background pushes took them all');
  const a = new SqliteAuditStore(AuditLog.open(path));
  const b = await PgAuditStore.open(url);
  const strip = (rows: { id?: number }[]) => rows.map(({ id: _id, ...rest }) => rest);
  for (const f of [{}, { since: row(2).ended }, { since: row(1).ended, until: row(3).ended }, { uid: row(4).uid! }]) {
    const x = strip(await a.list(f));
    assert.ok(x.length > 0, JSON.stringify(f));
    assert.deepEqual(strip(await b.list(f)), x, JSON.stringify(f));
  }
  await a.close();
  await b.close();
});

test(
  'two benches erase four emulated terminals at once into one PostgreSQL: audit list --json on either shows all four with their certificates; audit show finds one from the other bench',
  skip,
  async () => {
    const url = freshDb();
    const a = bench('bench-a', url);
    const b = bench('bench-b', url);
    const runs = [
      a.spawn(['erase', '--board', 'stm32f407', '--port', 'emu', '--method', 'clear', '--emu-seed', '11', '--json']),
      a.spawn(['erase', '--board', 'acme-t400', '--port', 'emu', '--method', 'clear', '--emu-seed', '12', '--json']),
      b.spawn(['erase', '--board', 'stm32f407', '--port', 'emu', '--method', 'clear', '--emu-seed', '13', '--json']),
      b.spawn(['erase', '--board', 'stm32f205', '--port', 'emu', '--method', 'clear', '--emu-seed', '14', '--json']),
    ];
    const ended = await Promise.all(runs.map((r) => r.done));
    for (const e of ended) assert.equal(e.code, 0, e.stderr);
    const uids = ended.map((e) => JSON.parse(e.stdout).uid as string).sort();
    for (const side of [a, b]) {
      const l = side.run(['audit', 'list', '--json']);
      assert.equal(l.code, 0, l.stderr);
      const rows = JSON.parse(l.stdout) as { uid: string; runId: string; host: string; certificateJson: string; certificateId: string }[];
      assert.deepEqual(rows.map((r) => r.uid).sort(), uids, 'all four, each once');
      assert.equal(new Set(rows.map((r) => r.runId)).size, 4);
      assert.deepEqual([...new Set(rows.map((r) => r.host))].sort(), ['bench-a', 'bench-b']);
      for (const r of rows) assert.equal(JSON.parse(r.certificateJson).certificate.id, r.certificateId);
    }
    // bench b finds bench a's terminal and its certificate, and the certificate verifies with bench a's key
    const fromA = JSON.parse(ended[1].stdout).uid as string;
    const show = b.run(['audit', 'show', fromA, '--json']);
    assert.equal(show.code, 0, show.stderr);
    const s = JSON.parse(show.stdout);
    assert.equal(s.runs.length, 1);
    assert.equal(s.runs[0].host, 'bench-a');
    const certFile = join(b.dir, 'from-a.cert.json');
    writeFileSync(certFile, s.runs[0].certificateJson);
    const v = b.run(['cert', 'verify', certFile, '--trust', join(a.cfg, 'signing.pub.pem')]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    // the handover manifest of either bench covers the fleet
    const h = b.run(['handover', '--out', 'fleet.pdf', '--json']);
    assert.equal(h.code, 0, h.stderr);
    const m = JSON.parse(h.stdout).handover;
    assert.deepEqual(m.terminals.map((t: { uid: string }) => t.uid).sort(), uids);
    assert.match(m.source, /^postgres /);
    assert.equal(b.run(['cert', 'verify', join(b.dir, 'fleet.json'), '--trust', join(b.cfg, 'signing.pub.pem')]).code, 0);
  },
);

test(
  'the server goes away in the middle of a run: the run succeeds and queues; audit sync adds it once when the server is back; a duplicate sync adds nothing',
  skip,
  async () => {
    const url = freshDb();
    const a = bench('bench-a', url);
    const first = a.run(['erase', '--board', 'stm32f407', '--port', 'emu', '--method', 'clear', '--emu-seed', '21']);
    assert.equal(first.code, 0, first.stderr);
    // a run that takes real time on the emulated line; the server is stopped once it has started
    const run = a.spawn(['erase', '--board', 'stm32f407', '--port', 'emu', '--method', 'clear', '--emu-seed', '22', '--realtime', '--json']);
    const t0 = Date.now();
    while (!/backup:/.test(run.stderr()) && Date.now() - t0 < 30000) await new Promise((r) => setTimeout(r, 50));
    assert.match(run.stderr(), /backup:/, 'the run started');
    pg!.stop();
    try {
      const e = await run.done;
      assert.equal(e.code, 0, e.stderr);
      assert.match(e.stderr, /audit: .*1 run\(s\) queued in .* `poswipe audit sync` or the next run pushes them/);
      const uid = JSON.parse(e.stdout).uid as string;
      // the bench keeps working: its own log, with a warning
      const l = a.run(['audit', 'list', '--json']);
      assert.equal(l.code, 0, l.stderr);
      assert.match(l.stderr, /showing this bench's own log .*\(1 run\(s\) not yet on the server\)/);
      assert.ok((JSON.parse(l.stdout) as { uid: string }[]).some((r) => r.uid === uid));
      const down = a.run(['audit', 'sync']);
      assert.equal(down.code, 3, 'sync with the server down: a device-side error');
      assert.match(down.stderr, /cannot connect/);
      pg!.start();
      const s1 = a.run(['audit', 'sync', '--json']);
      assert.equal(s1.code, 0, s1.stderr);
      assert.deepEqual(JSON.parse(s1.stdout).inserted, 1);
      assert.equal(JSON.parse(s1.stdout).remaining, 0);
      const s2 = a.run(['audit', 'sync', '--json']);
      assert.equal(JSON.parse(s2.stdout).inserted, 0, 'nothing queued: nothing added');
      // a duplicate sync of everything, twice at once: each run is already there
      const dup = [a.spawn(['audit', 'sync', '--all', '--json']), a.spawn(['audit', 'sync', '--all', '--json'])];
      const d = await Promise.all(dup.map((x) => x.done));
      for (const x of d) assert.equal(x.code, 0, x.stderr);
      assert.equal(
        d.reduce((n, x) => n + JSON.parse(x.stdout).inserted, 0),
        0,
      );
      const server = await PgAuditStore.open(url);
      const rows = await server.list();
      await server.close();
      assert.equal(rows.length, 2, 'each run once');
      assert.equal(rows.filter((r) => r.uid === uid).length, 1);
    } finally {
      pg!.start(); // running again for whatever comes next (a no-op when it is)
    }
  },
);
