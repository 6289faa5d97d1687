/**
 * Real time of the whole `erase` command against the in-process emulator (virtual clock): a fresh
 * `node bin/poswipe.js erase --board <b> --port emu --method clear --no-backup` per run, with a
 * temporary configuration directory and working directory, timed from spawn to exit. This is what
 * a QA suite pays per emulated terminal: Node start-up, the CLI, the session and the emulator.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageRoot } from '../host/engine/module';
import { summarize, type Summary } from './stats';

export interface CliTime extends Summary {
  args: string[];
}

let backupFlag: boolean | null = null;

function runOnce(args: string[], dir: string): { code: number; seconds: number; stderr: string } {
  const cli = path.join(packageRoot(), 'bin', 'poswipe.js');
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cli, ...args], {
    cwd: dir,
    env: { ...process.env, POSWIPE_CONFIG_DIR: path.join(dir, 'config') },
    encoding: 'utf8',
    timeout: 120_000,
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { code: r.status ?? -1, seconds, stderr: `${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
}

/** Median, min and max real seconds of `runs` erase commands on an emulated `board`. */
export function timeCliErase(board: string, runs: number): CliTime {
  const base = ['erase', '--board', board, '--port', 'emu', '--method', 'clear'];
  const times: number[] = [];
  let args = base;
  for (let i = 0; i < runs; i++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'poswipe-bench-'));
    try {
      if (backupFlag !== false) {
        args = [...base, '--no-backup'];
        const r = runOnce(args, dir);
        if (r.code === 0) {
          backupFlag = true;
          times.push(r.seconds);
          continue;
        }
        if (backupFlag === null && /unknown option|no-backup/i.test(r.stderr)) backupFlag = false;
        else throw new Error(`bench: \`poswipe ${args.join(' ')}\` exited ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      }
      args = base;
      const r = runOnce(args, dir);
      if (r.code !== 0) throw new Error(`bench: \`poswipe ${args.join(' ')}\` exited ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      times.push(r.seconds);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return { ...summarize(times), args };
}
