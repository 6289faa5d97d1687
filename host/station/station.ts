/**
 * The bench station: one tile and one session per port, all in parallel in this process. Each
 * session has its own transport (its own emulated terminal for every `emu` port), its own
 * records (backup, certificate or failure report, audit row) and its own failures: an error in
 * one port ends that port's run and nothing else.
 */
import { basename } from 'node:path';
import type { Board } from '../boards/types';
import { loadBoardOrExit } from '../app/board';
import type { EmulatedTerminal } from '../emulator/terminal';
import { InputError } from '../errors';
import type { MethodName } from '../plan/methods';
import type { VerifyMode } from '../session/erase';
import { EmulatedTransport } from '../transport/emulated';
import type { Transport } from '../transport/types';
import { createEmulatedTerminal, openPort, type EmuOptions } from '../app/ports';
import { detectBoard } from '../app/detect';
import { recordOutcome } from '../app/record-outcome';
import { EraseRecords, type RecordOptions } from '../records/erase-records';
import type { EngineProvenance } from '../agent/pinned';
import { parsePortSpec, type PortSpec } from './port-spec';
import { Tile, runTile, unopenedTransport, type TileLayout, type TileLink, type TileSnapshot } from '../app/tile';
import { hexPid } from '../format/hex';

export interface StationConfig {
  ports: string[];
  /** --board: the board of every port that does not name its own (serial ports may detect theirs) */
  board: Board | null;
  method: MethodName;
  verify: VerifyMode;
  includeProtected?: boolean;
  unlock?: boolean;
  emu: EmuOptions & { baud?: string };
  module: Uint8Array;
  /** the provenance of `module` and of the agent a terminal of `board` gets (host/agent/pinned.ts manifestEngine) */
  engineFor?: (board: Board) => EngineProvenance;
  signature?: Uint8Array;
  /** backup, certificate, audit options (records/erase-records.ts) */
  records: RecordOptions;
  /** station log lines (stderr) */
  log?: (line: string) => void;
}

interface Slot {
  tile: Tile;
  spec: PortSpec;
  board: Board | null;
  /** the emulated terminal of an `emu` port, kept across runs (its flash is the terminal's) */
  terminal: EmulatedTerminal | null;
  transport: EmulatedTransport | null;
  run: Promise<void> | null;
  /** runs that reached the records (names the folder of their files under /files/) */
  runs: number;
}

export interface StationSnapshot {
  method: string;
  verify: string;
  board: string | null;
  tiles: TileSnapshot[];
  layouts: TileLayout[];
}

export class Station {
  private readonly slots: Slot[] = [];
  /** files this station wrote and may serve: url key -> absolute path */
  private readonly files = new Map<string, string>();
  private readonly listeners = new Set<(tile: TileSnapshot, layout: TileLayout | null) => void>();
  private readonly ticker: ReturnType<typeof setInterval>;
  private closed = false;

  constructor(readonly config: StationConfig) {
    if (!config.ports.length) throw new InputError('station: name at least one --port (emu for an emulated terminal)');
    const specs = config.ports.map(parsePortSpec);
    const emuCount = specs.filter((s) => s.kind === 'emu').length;
    if (emuCount > 1 && config.emu.emuImage) throw new InputError('station: --emu-image names one flash file; it cannot serve several emulated terminals');
    if (emuCount > 1 && config.emu.emuLog) throw new InputError('station: --emu-log names one file; it cannot serve several emulated terminals');
    const serials = specs.filter((s) => s.kind === 'serial').map((s) => s.path);
    const dup = serials.find((p, i) => serials.indexOf(p) !== i);
    if (dup) throw new InputError(`station: --port ${dup} is named twice (one session per serial port)`);
    const baseSeed = config.emu.emuSeed === undefined ? 1 : Number(config.emu.emuSeed);
    let emuIndex = 0;
    specs.forEach((spec, i) => {
      const tile = new Tile(`t${i + 1}`, spec.text, spec.kind === 'emu', config.method);
      let board = spec.board ? loadBoardOrExit(spec.board) : config.board;
      let terminal: EmulatedTerminal | null = null;
      let transport: EmulatedTransport | null = null;
      if (spec.kind === 'emu') {
        if (!board) throw new InputError(`station: --port ${spec.text} needs --board (or emu:board=<id>) to know which terminal to emulate`);
        // every emulated terminal is a different part: its own seed, so its own unique ID and image
        const seed = spec.seed ?? String((baseSeed + emuIndex++) >>> 0);
        terminal = createEmulatedTerminal(board, {
          ...config.emu,
          emuSeed: seed,
          emuRdp: spec.rdp ?? config.emu.emuRdp,
          emuFault: [...(config.emu.emuFault ?? []), ...spec.faults],
        });
        transport = new EmulatedTransport(terminal, { realtime: config.emu.realtime });
      }
      if (board) tile.setBoard(board, { includeProtected: config.includeProtected });
      tile.onChange((t, layoutChanged) => this.emit(t, layoutChanged));
      this.slots.push({ tile, spec, board, terminal, transport, run: null, runs: 0 });
      board = null;
    });
    this.ticker = setInterval(() => this.slots.forEach((s) => s.tile.tick()), 250);
    this.ticker.unref?.();
  }

  get tiles(): Tile[] {
    return this.slots.map((s) => s.tile);
  }

  snapshot(): StationSnapshot {
    return {
      method: this.config.method,
      verify: this.config.verify,
      board: this.config.board?.id ?? null,
      tiles: this.slots.map((s) => s.tile.snapshot()),
      layouts: this.slots.map((s) => s.tile.layout).filter((l): l is TileLayout => l !== null),
    };
  }

  /** Calls `listener` on every tile change (with the layout when it changed) until the returned function is called. */
  subscribe(listener: (tile: TileSnapshot, layout: TileLayout | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(tile: Tile, layoutChanged: boolean): void {
    if (!this.listeners.size) return;
    const snap = tile.snapshot();
    for (const l of this.listeners) l(snap, layoutChanged ? tile.layout : null);
  }

  private slot(id: string): Slot {
    const s = this.slots.find((x) => x.tile.id === id);
    if (!s) throw new InputError(`no terminal ${id}`);
    return s;
  }

  /** The absolute path of a file this station wrote, by its url key. */
  file(key: string): string | undefined {
    return this.files.get(key);
  }

  /** Starts a session on terminal `id`; false when one is running already (or the station is closing). */
  start(id: string): boolean {
    const s = this.slot(id);
    if (this.closed || s.run || s.tile.running) return false;
    s.run = this.runSlot(s).finally(() => {
      s.run = null;
    });
    return true;
  }

  /** Stop after the current phase; false when that terminal is not running. */
  stop(id: string): boolean {
    return this.slot(id).tile.requestStop();
  }

  /** Runs terminal `id` again when its last run did not end verified. */
  rerun(id: string): boolean {
    const s = this.slot(id);
    if (!['failed', 'error', 'stopped'].includes(s.tile.state.status)) return false;
    return this.start(id);
  }

  startAll(): string[] {
    return this.slots.filter((s) => s.tile.state.status === 'idle' && this.start(s.tile.id)).map((s) => s.tile.id);
  }

  rerunFailed(): string[] {
    return this.slots.filter((s) => this.rerun(s.tile.id)).map((s) => s.tile.id);
  }

  /** Resolves when no session runs. */
  async idle(): Promise<void> {
    while (this.slots.some((s) => s.run !== null)) await Promise.all(this.slots.map((s) => s.run?.catch(() => undefined)));
  }

  /** Stops every session after its current phase, waits for them, closes the ports. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.ticker);
    for (const s of this.slots) s.tile.requestStop();
    await this.idle();
    for (const s of this.slots) await s.transport?.close();
  }

  private log(line: string): void {
    this.config.log?.(line);
  }

  private async runSlot(s: Slot): Promise<void> {
    const tile = s.tile;
    let transport: Transport;
    let baud: number | undefined;
    let closePort: (() => Promise<void>) | null = null;
    let records: EraseRecords | null = null;
    let sessionStarted = false;
    try {
      if (!s.board) {
        // a serial port without --board: the part's product ID names it (as erase --board auto)
        tile.begin(unopenedTransport(s.spec.text));
        tile.progress({ phase: 'detect', done: 0, total: 1, note: 'asking the bootloader for its product ID' });
        s.board = await detectBoard(s.spec.path!, this.config.emu, (line) => {
          tile.note(line.replace(/^poswipe: /, ''));
          this.log(`station: ${tile.id} ${line.replace(/^poswipe: /, '')}`);
        });
        tile.setBoard(s.board, { includeProtected: this.config.includeProtected });
      }
      if (s.transport) {
        transport = s.transport;
        baud = s.terminal?.baud;
      } else {
        const opened = await openPort(s.spec.path!, s.board, this.config.emu);
        transport = opened.transport;
        baud = opened.baud;
        closePort = opened.close;
      }
    } catch (err) {
      if (!tile.running) tile.begin(unopenedTransport(s.spec.text));
      tile.abandon(err);
      this.log(`station: ${tile.id} ${s.spec.text}: ${(err as Error).message}`);
      return;
    }
    try {
      const board = s.board;
      const runId = `${tile.id}-${++s.runs}`;
      records = EraseRecords.prepare(
        { command: 'station', board, port: s.spec.text, method: this.config.method, verify: this.config.verify },
        this.config.records,
        (line) => {
          tile.note(line);
          this.log(`station: ${tile.id} ${line}`);
        },
      );
      const rec = records;
      sessionStarted = true;
      const outcome = await runTile(tile, {
        transport,
        board,
        method: this.config.method,
        verify: this.config.verify,
        module: this.config.module,
        engine: this.config.engineFor?.(board),
        signature: this.config.signature,
        includeProtected: this.config.includeProtected,
        unlock: this.config.unlock,
        // the agent keeps the line's rate (--baud, --emu-baud), as erase does
        baud,
        beforeErase: rec.beforeErase,
        backupPlanned: rec.backupPlanned,
        onPhase: (phase) => rec.notePhase(phase),
        finalize: async (o) => {
          await recordOutcome(rec, o, board);
          return this.links(runId, rec);
        },
      });
      this.log(
        `station: ${tile.id} ${s.spec.text}: ${outcome.verified ? 'VERIFIED' : 'NOT VERIFIED'} ${board.id} pid ${hexPid(outcome.identity.pid)} uid ${outcome.identity.uid ?? 'unknown'}${outcome.reason ? ` (${outcome.reason})` : ''}`,
      );
    } catch (err) {
      records?.fail(err);
      if (!sessionStarted) {
        // failed before the session began (detection, records): runTile has not ended the tile
        if (!tile.running) tile.begin(transport);
        tile.abandon(err);
      }
      this.log(`station: ${tile.id} ${s.spec.text}: ${tile.state.status}: ${(err as Error).message}`);
    } finally {
      await closePort?.().catch(() => undefined);
    }
  }

  private links(runId: string, rec: EraseRecords): TileLink[] {
    const out: TileLink[] = [];
    const add = (rel: TileLink['rel'], label: string, path: string | null): void => {
      if (!path) return;
      const key = `${runId}/${basename(path)}`;
      this.files.set(key, path);
      out.push({ rel, label, href: `files/${key.split('/').map(encodeURIComponent).join('/')}` });
    };
    add('certificate-pdf', 'Certificate (PDF)', rec.pdfPath);
    add('certificate-json', 'Certificate (JSON)', rec.certificatePath);
    add('failure-report', 'Failure report (JSON)', rec.failureReportPath);
    return out;
  }
}
