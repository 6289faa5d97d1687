/**
 * A throwaway PostgreSQL server for the audit tests: its own data directory under a temp folder
 * (initdb), started with pg_ctl listening only on a Unix socket in that folder (no TCP at all),
 * trust authentication for the one local user, stopped and removed by `stop()`.
 *
 * PostgreSQL refuses to run as root: as root, initdb and pg_ctl run as the `postgres` user
 * (Debian's package creates it) through runuser, and the folder is handed to that user.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toolSkip } from './helpers';

/** $POSWIPE_PG_BIN, else the newest /usr/lib/postgresql/<major>/bin (Debian's layout) */
export const PG_BIN =
  process.env.POSWIPE_PG_BIN ??
  (existsSync('/usr/lib/postgresql')
    ? readdirSync('/usr/lib/postgresql')
        .filter((v) => /^\d+$/.test(v) && existsSync(join('/usr/lib/postgresql', v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
        .map((v) => join('/usr/lib/postgresql', v, 'bin'))[0]
    : undefined) ??
  '/usr/lib/postgresql/15/bin';

export const noPostgres = toolSkip(
  existsSync(join(PG_BIN, 'initdb')) && existsSync(join(PG_BIN, 'pg_ctl'))
    ? false
    : `PostgreSQL server binaries not found in ${PG_BIN} (apt-get install postgresql, or set POSWIPE_PG_BIN)`,
);

export interface PgServer {
  /** postgres://postgres@/<db>?host=<socket dir> */
  url(db?: string): string;
  dir: string;
  start(): void;
  stop(): void;
  /** stops the server and removes its folder */
  destroy(): void;
  createDb(name: string): void;
}

function asPostgres(cmd: string, args: string[]): { status: number | null; out: string } {
  const root = process.getuid?.() === 0;
  const r = root
    ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8', timeout: 60000 })
    : spawnSync(cmd, args, { encoding: 'utf8', timeout: 60000 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

export function startPgServer(): PgServer {
  const dir = mkdtempSync(join(tmpdir(), 'poswipe-pg-'));
  if (process.getuid?.() === 0) {
    const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (id.status !== 0) throw new Error('running as root and there is no postgres user to run the server as');
    chownSync(dir, Number(id.stdout.trim()), Number(gid.stdout.trim()));
  }
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const init = asPostgres(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  if (init.status !== 0) throw new Error(`initdb failed: ${init.out}`);
  const server: PgServer = {
    dir,
    url: (db = 'postgres') => `postgresql://postgres@/${db}?host=${encodeURIComponent(dir)}`,
    start() {
      if (asPostgres(join(PG_BIN, 'pg_ctl'), ['-D', data, 'status']).status === 0) return; // running already
      // -k: the socket folder; listen_addresses='': no TCP socket at all; fsync off: a throwaway server
      const r = asPostgres(join(PG_BIN, 'pg_ctl'), [
        '-D',
        data,
        '-l',
        log,
        '-w',
        '-t',
        '30',
        '-o',
        `-k ${dir} -c listen_addresses='' -c fsync=off -c max_connections=40`,
        'start',
      ]);
      if (r.status !== 0) throw new Error(`pg_ctl start failed: ${r.out}\n${existsSync(log) ? readFileSync(log, 'utf8') : ''}`);
    },
    stop() {
      const r = asPostgres(join(PG_BIN, 'pg_ctl'), ['-D', data, '-w', '-t', '30', '-m', 'fast', 'stop']);
      if (r.status !== 0 && !/not running|No such file/i.test(r.out)) throw new Error(`pg_ctl stop failed: ${r.out}`);
    },
    destroy() {
      try {
        server.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    createDb(name: string) {
      const r = asPostgres(join(PG_BIN, 'createdb'), ['-h', dir, '-U', 'postgres', name]);
      if (r.status !== 0) throw new Error(`createdb ${name} failed: ${r.out}`);
    },
  };
  server.start();
  return server;
}
