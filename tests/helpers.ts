import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { loadBoard } from '../host/boards/load';
import type { Board } from '../host/boards/types';
import { EmulatedTerminal, type TerminalOptions } from '../host/emulator/terminal';
import { loadEngineModule } from '../host/engine/module';
import { EmulatedTransport } from '../host/transport/emulated';

export const ROOT = path.resolve(__dirname, '..', '..');
export const CLI = path.join(ROOT, 'bin', 'poswipe.js');

export function emulated(boardId: string, options: TerminalOptions = {}): { board: Board; terminal: EmulatedTerminal; transport: EmulatedTransport } {
  const board = loadBoard(boardId);
  const terminal = new EmulatedTerminal(board, options);
  return { board, terminal, transport: new EmulatedTransport(terminal) };
}

let engine: Uint8Array | null = null;
export function engineModule(): Uint8Array {
  return (engine ??= loadEngineModule('terminal'));
}

/** SHA-256(nonce ‖ address LE ‖ bytes), computed independently of the host's own helper. */
export function referenceDigest(nonceHex: string, address: number, bytes: Uint8Array): string {
  const a = Buffer.alloc(4);
  a.writeUInt32LE(address);
  return createHash('sha256').update(Buffer.from(nonceHex, 'hex')).update(a).update(bytes).digest('hex');
}

export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    timeout: 120000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** every byte of the emulated flash outside the given ranges equals `value` */
export function blankOutside(terminal: EmulatedTerminal, value: number, keep: { address: number; size: number }[] = []): boolean {
  const f = terminal.flash;
  for (let i = 0; i < f.bytes.length; i++) {
    if (f.bytes[i] === value) continue;
    const a = f.base + i;
    if (!keep.some((r) => a >= r.address && a < r.address + r.size)) return false;
  }
  return true;
}

/**
 * A skip reason for a test that needs an optional tool, or false. With POSWIPE_REQUIRE_ALL=1
 * (set by .ci/run) nothing is skipped: the test runs and fails if its tool is missing, so CI can
 * never pass by skipping.
 */
export function toolSkip(reason: string | false): string | false {
  return process.env.POSWIPE_REQUIRE_ALL === '1' ? false : reason;
}
