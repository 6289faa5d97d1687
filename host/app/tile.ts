/**
 * One terminal's tile, as the station page and the Web Serial page show it: board, unique ID,
 * phase, progress, times and a sector map with one cell per block, fed by the session's progress
 * and block callbacks. Platform-neutral (no Node modules): the station server and the browser
 * build both run sessions through `runTile`.
 */
import type { Board, Range } from '../boards/types';
import { DeviceError, EXIT, PoswipeError, exitCodeOf } from '../errors';
import { planErase } from '../plan/erase-plan';
import type { MethodName } from '../plan/methods';
import { eraseTerminal, type BlockState, type EraseOutcome, type EraseRequest, type VerifyMode } from '../session/erase';
import { type Identity } from '../session/identify';
import type { Transport } from '../transport/types';
import { hex32, hexPid } from '../format/hex';

export type CellState = 'untouched' | 'erased' | 'programmed' | 'verified' | 'failed' | 'protected';

/** One character per cell in `TileSnapshot.map` (static/tiles.js decodes the same letters). */
export const CELL_CODES: Readonly<Record<CellState, string>> = {
  untouched: '.',
  erased: 'e',
  programmed: 'w',
  verified: 'v',
  failed: 'f',
  protected: 'p',
};

/**
 * idle: never run; running / stopping (a stop was asked: it ends after the current phase);
 * verified; failed (ran, some block not as expected); stopped (by the operator); error (device,
 * link, refusal: the message says which).
 */
export type TileStatus = 'idle' | 'running' | 'stopping' | 'verified' | 'failed' | 'stopped' | 'error';

export interface Cell {
  address: number;
  size: number;
  /** index of the (first) sector the block lies in */
  sector: number;
}

export interface TileLink {
  rel: 'certificate-pdf' | 'certificate-json' | 'failure-report' | 'report' | 'backup';
  label: string;
  href: string;
  /** file name to save under (links to in-page blobs) */
  download?: string;
}

export interface TileLayout {
  id: string;
  board: string;
  blockSize: number;
  cells: Cell[];
}

export interface TileSnapshot {
  id: string;
  /** what the operator named: emu, emu:stuck@0x08012345, /dev/ttyUSB0, webserial… */
  port: string;
  emulated: boolean;
  /** terminalSeconds is the emulator's virtual clock (else wall-clock time on the link) */
  virtualTime: boolean;
  board: string | null;
  boardName: string | null;
  pid: string | null;
  uid: string | null;
  method: string;
  status: TileStatus;
  phase: string;
  done: number;
  total: number;
  note: string;
  /** seconds since the run started (wall clock) */
  realSeconds: number;
  /** seconds on the terminal's side (the emulator's virtual clock; wall clock on a real port) */
  terminalSeconds: number;
  /** one CELL_CODES letter per layout cell */
  map: string;
  /** hex addresses of the blocks that ended failed */
  failed: string[];
  reason: string | null;
  /** the exit code of what ended the run in `error` (docs/cli.md: 4 refused for safety, 3 device, 2 input); null otherwise */
  exitCode: number | null;
  links: TileLink[];
  runs: number;
  /** the last few lines worth showing (backup notes, errors) */
  log: string[];
  /** bumps on every change */
  version: number;
}

function blocksOf(r: Range, blockSize: number): Range[] {
  const out: Range[] = [];
  for (let a = r.address; a < r.address + r.size; a += blockSize) out.push({ address: a, size: Math.min(blockSize, r.address + r.size - a) });
  return out;
}

/**
 * The cells of a board's map: the blocks the session will erase and check (same plan, same
 * addresses as its onBlock calls), and the blocks of the sectors it leaves alone, marked protected.
 */
export function mapLayout(
  board: Board,
  options: { blockSize?: number; includeProtected?: boolean } = {},
): { cells: Cell[]; protectedCells: Set<number>; blockSize: number } {
  const plan = planErase(board, options);
  const cells: Cell[] = plan.blocks.map((b) => ({ address: b.address, size: b.size, sector: b.sectors[0] ?? -1 }));
  const protectedAddresses = new Set<number>();
  for (const s of plan.skipped) {
    for (const b of blocksOf(s.sector, plan.blockSize)) {
      cells.push({ address: b.address, size: b.size, sector: s.sector.index });
      protectedAddresses.add(b.address);
    }
  }
  cells.sort((a, b) => a.address - b.address);
  const protectedCells = new Set<number>();
  cells.forEach((c, i) => protectedAddresses.has(c.address) && protectedCells.add(i));
  return { cells, protectedCells, blockSize: plan.blockSize };
}

export class Tile {
  private codes: string[] = [];
  private cells: Cell[] = [];
  private protectedCells = new Set<number>();
  private readonly index = new Map<number, number>();
  private layoutValue: TileLayout | null = null;
  private readonly listeners = new Set<(tile: Tile, layoutChanged: boolean) => void>();
  private transport: Transport | null = null;
  private startedAt = 0;
  private terminalAtStart = 0;
  private controller: AbortController | null = null;
  readonly state: TileSnapshot;

  constructor(id: string, port: string, emulated: boolean, method: string, virtualTime = emulated) {
    this.state = {
      id,
      port,
      emulated,
      virtualTime,
      board: null,
      boardName: null,
      pid: null,
      uid: null,
      method,
      status: 'idle',
      phase: 'ready',
      done: 0,
      total: 0,
      note: '',
      realSeconds: 0,
      terminalSeconds: 0,
      map: '',
      failed: [],
      reason: null,
      exitCode: null,
      links: [],
      runs: 0,
      log: [],
      version: 0,
    };
  }

  get id(): string {
    return this.state.id;
  }

  get running(): boolean {
    return this.state.status === 'running' || this.state.status === 'stopping';
  }

  get layout(): TileLayout | null {
    return this.layoutValue;
  }

  onChange(listener: (tile: Tile, layoutChanged: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): TileSnapshot {
    return { ...this.state, map: this.codes.join(''), failed: [...this.state.failed], links: [...this.state.links], log: [...this.state.log] };
  }

  private changed(layoutChanged = false): void {
    this.state.version++;
    for (const l of this.listeners) l(this, layoutChanged);
  }

  /** The board is known (from --board, or detected): draws its map, every block untouched. */
  setBoard(board: Board, options: { blockSize?: number; includeProtected?: boolean } = {}): void {
    const { cells, protectedCells, blockSize } = mapLayout(board, options);
    this.cells = cells;
    this.protectedCells = protectedCells;
    this.index.clear();
    cells.forEach((c, i) => this.index.set(c.address, i));
    this.codes = cells.map((_, i) => (protectedCells.has(i) ? CELL_CODES.protected : CELL_CODES.untouched));
    this.layoutValue = { id: this.id, board: board.id, blockSize, cells };
    this.state.board = board.id;
    this.state.boardName = board.name;
    this.changed(true);
  }

  note(line: string): void {
    this.state.log = [...this.state.log, line].slice(-6);
    this.changed();
  }

  /** Recomputes the clocks of a running tile (the station calls it a few times a second). */
  tick(): void {
    if (!this.running || !this.transport) return;
    this.state.realSeconds = (Date.now() - this.startedAt) / 1000;
    this.state.terminalSeconds = Math.max(0, this.transport.terminalTime() - this.terminalAtStart);
    this.changed();
  }

  /** Asks a running session to stop after its current phase; false when nothing runs. */
  requestStop(): boolean {
    if (!this.running || !this.controller) return false;
    if (this.state.status === 'stopping') return true;
    this.state.status = 'stopping';
    this.state.note = 'stopping after the current phase';
    this.controller.abort(new StoppedError(`stopped by the operator after phase ${this.state.phase}`));
    this.changed();
    return true;
  }

  /** A run begins on `transport`: the map goes back to untouched, the clocks to zero. */
  begin(transport: Transport): AbortSignal {
    const continuing = this.running; // a run that began with detection goes on into its session
    this.transport = transport;
    if (!continuing || !this.controller) this.controller = new AbortController();
    if (!continuing) this.startedAt = Date.now();
    this.terminalAtStart = transport.terminalTime();
    this.codes = this.cells.map((_, i) => (this.protectedCells.has(i) ? CELL_CODES.protected : CELL_CODES.untouched));
    Object.assign(this.state, { status: 'running', phase: 'connect', done: 0, total: 1, note: '', failed: [], reason: null, exitCode: null, links: [] });
    if (!continuing) Object.assign(this.state, { realSeconds: 0, terminalSeconds: 0, log: [] });
    if (!continuing) this.state.runs++;
    this.changed();
    return this.controller.signal;
  }

  identified(id: Identity): void {
    this.state.pid = hexPid(id.pid);
    this.state.uid = id.uid;
    this.changed();
  }

  progress(p: { phase: string; done: number; total: number; note?: string }): void {
    if (this.state.status === 'stopping') this.state.note = `stopping after ${p.phase}`;
    else this.state.note = p.note ?? '';
    this.state.phase = p.phase;
    this.state.done = p.done;
    this.state.total = p.total;
    this.tick();
  }

  block(address: number, state: BlockState): void {
    const i = this.index.get(address);
    if (i === undefined || this.protectedCells.has(i)) return;
    const code = CELL_CODES[state];
    if (this.codes[i] === code) return;
    this.codes[i] = code;
    this.changed();
  }

  /** The run ended with an outcome and its records: verified or failed. */
  conclude(outcome: EraseOutcome, links: TileLink[]): void {
    this.tick();
    this.state.pid = hexPid(outcome.identity.pid);
    this.state.uid = outcome.identity.uid;
    // the final check decides each block's last state (also where the session sent no block events)
    for (const b of outcome.blocks) {
      const i = this.index.get(b.address);
      if (i !== undefined && !this.protectedCells.has(i)) this.codes[i] = b.ok ? CELL_CODES.verified : CELL_CODES.failed;
    }
    for (const a of outcome.failed) {
      const i = this.index.get(a);
      if (i !== undefined) this.codes[i] = CELL_CODES.failed;
    }
    this.state.failed = outcome.failed.map(hex32);
    this.state.reason = outcome.reason;
    this.state.links = links;
    this.state.status = outcome.verified ? 'verified' : 'failed';
    this.state.phase = 'done';
    this.state.note = outcome.verified ? 'verified' : 'NOT verified';
    this.state.done = this.state.total = 1;
    this.end();
  }

  /** The run ended without an outcome: stopped by the operator, or an error. */
  abandon(err: unknown, links: TileLink[] = []): void {
    this.tick();
    const stopped = err instanceof StoppedError || (this.controller?.signal.aborted ?? false);
    this.state.status = stopped ? 'stopped' : 'error';
    this.state.reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    this.state.exitCode = stopped ? null : exitCodeOf(err);
    this.state.note = stopped ? 'stopped: not verified' : 'error: not verified';
    this.state.links = links;
    this.end();
  }

  private end(): void {
    this.controller = null;
    this.transport = null;
    this.changed();
  }
}

/** What a session throws when the operator stopped it between phases. */
export class StoppedError extends PoswipeError {
  constructor(message: string) {
    super(message, EXIT.DEVICE);
  }
}

export interface TileRun {
  transport: Transport;
  board: Board;
  method: MethodName;
  verify: VerifyMode;
  module: Uint8Array;
  /** where module and agent came from (host/agent/pinned.ts); omitted, the outcome calls it custom */
  engine?: EraseRequest['engine'];
  signature?: Uint8Array;
  includeProtected?: boolean;
  unlock?: boolean;
  /** the line's baud rate (the serial port's, or the emulated terminal's): the agent keeps it (default 115200) */
  baud?: number;
  /** after identification, before anything is written (the backup); the tile learns the UID first */
  beforeErase?: EraseRequest['beforeErase'];
  /** a backup will be taken: a read-protected terminal then needs --no-backup before --unlock */
  backupPlanned?: boolean;
  /** after the session: writes the records, returns the links to show (a throw makes the tile an error) */
  finalize?: (outcome: EraseOutcome) => Promise<TileLink[]>;
  /** each phase as the session reports it (the records learn when the terminal starts to change) */
  onPhase?: (phase: string) => void;
}

/**
 * Runs one session on a tile: the map follows the session's block events, the tile ends verified
 * only when the outcome is verified and its records were written.
 */
export async function runTile(tile: Tile, run: TileRun): Promise<EraseOutcome> {
  const signal = tile.begin(run.transport);
  try {
    const outcome = await eraseTerminal(run.transport, {
      board: run.board,
      method: run.method,
      verify: run.verify,
      includeProtected: run.includeProtected,
      unlock: run.unlock,
      backupPlanned: run.backupPlanned,
      module: run.module,
      engine: run.engine,
      signature: run.signature,
      baud: run.baud,
      signal,
      onProgress: (p) => {
        run.onPhase?.(p.phase);
        tile.progress(p);
      },
      onBlock: (address, state) => tile.block(address, state),
      beforeErase: async (ctx) => {
        tile.identified(ctx.identity);
        await run.beforeErase?.(ctx);
      },
    });
    const links = run.finalize ? await run.finalize(outcome) : [];
    tile.conclude(outcome, links);
    return outcome;
  } catch (err) {
    tile.abandon(err);
    throw err;
  }
}

/** Stands in for a port that could not be opened, so that the tile can begin and show the error. */
export function unopenedTransport(description: string): Transport {
  const fail = async (): Promise<never> => {
    throw new DeviceError(`${description} is not open`);
  };
  const nothing = async (): Promise<void> => undefined;
  return {
    description,
    write: fail,
    read: fail,
    setSignals: fail,
    discardInput: nothing,
    sleep: nothing,
    close: nothing,
    stats: () => ({ bytesTx: 0, bytesRx: 0 }),
    terminalTime: () => 0,
  };
}
