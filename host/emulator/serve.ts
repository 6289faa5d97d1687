import { commandName } from '../protocol/frames';
import type { EmulatedTerminal, TerminalEvent } from './terminal';

/** What one session on a served terminal did (one line per session, or one JSON object). */
export interface SessionSummary {
  /** 1, 2, … since the server started */
  index: number;
  /** why the session ended: "port closed", "client quiet", "input ended", "part reset: …", "part faulted: …", "application started …", "stopped" */
  ended: string;
  bytesIn: number;
  bytesOut: number;
  /** emulated terminal time the session took (virtual clock, seconds) */
  terminalSeconds: number;
  /** 0x7F bytes answered: the opening sync and any re-sync */
  syncs: number;
  /** accepted commands, by name */
  commands: Record<string, number>;
  /** commands answered NACK, by name */
  refused: Record<string, number>;
  flash: { erases: number; programs: number };
  rdp: { from: 0 | 1; to: 0 | 1 };
  /** Go commands: where to and what started */
  go: { address: string; into: string }[];
  /** who runs code started in RAM on this terminal: the instruction-level CPU or the model of the agent */
  emulation: 'instruction' | 'model';
}

export interface ServeOptions {
  /** a session ends after this many milliseconds without a byte either way; 0 = never (default 2000) */
  idleMs?: number;
  /** hold every answer back until the wall clock reaches the terminal's virtual time */
  realtime?: boolean;
  /** when a connection closes, reset the part into its bootloader (default true) */
  hangupReset?: boolean;
  /** called once per session when it ends */
  onSession?: (s: SessionSummary) => void;
}

/** One client on the line (a pty opened by a client, or standard input/output). */
export interface Connection {
  /** bytes from the client */
  receive(bytes: Uint8Array): void;
  /** the client went away */
  close(reason?: string): void;
}

interface OpenSession {
  summary: SessionSummary;
  startTime: number;
}

/**
 * Serves one EmulatedTerminal to byte-stream clients, one connection at a time: bytes from the
 * client go to `terminal.receive`, whatever the part emits goes back to the connection. Keeps
 * track of sessions: a session starts at the first sync (or command) after a reset, an open or
 * the end of the previous session, and ends when the client closes the line, stays quiet for
 * `idleMs`, or the part resets or leaves its bootloader.
 */
export class TerminalServer {
  private current: { write: (bytes: Uint8Array) => void } | null = null;
  private hangup: (() => void) | null = null;
  private session: OpenSession | null = null;
  private count = 0;
  private pendingIn = 0;
  private pendingOut = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly unobserve: () => void;
  private readonly anchor: { real: number; virtual: number };
  private readonly queue: { bytes: Uint8Array; due: number; to: { write: (bytes: Uint8Array) => void } }[] = [];
  private queueTimer: NodeJS.Timeout | null = null;
  private readonly idleMs: number;

  constructor(
    readonly terminal: EmulatedTerminal,
    private readonly options: ServeOptions = {},
  ) {
    this.idleMs = options.idleMs ?? 2000;
    this.anchor = { real: Date.now(), virtual: terminal.clock.now() };
    this.unobserve = terminal.observe((e) => this.onEvent(e));
    terminal.onOutput((bytes) => this.onOutput(bytes));
  }

  /** sessions ended so far */
  get sessions(): number {
    return this.count;
  }

  get active(): boolean {
    return this.session !== null;
  }

  /** A client connected; `write` sends bytes to it. The previous connection, if any, is replaced. */
  connect(write: (bytes: Uint8Array) => void): Connection {
    this.hangup?.(); // a new client on the line: the previous one is gone
    const conn = { write };
    this.current = conn;
    let closed = false;
    const connection: Connection = {
      receive: (bytes: Uint8Array) => {
        if (closed || this.current !== conn) return;
        this.touch();
        if (this.options.realtime) this.catchUpClock();
        if (this.session) this.session.summary.bytesIn += bytes.length;
        else this.pendingIn += bytes.length;
        this.terminal.receive(bytes);
      },
      close: (reason = 'port closed') => {
        if (closed) return;
        closed = true;
        if (this.current !== conn) return;
        this.flushQueue(true);
        this.current = null;
        this.hangup = null;
        this.endSession(reason);
        if (this.options.hangupReset ?? true)
          this.terminal.restart(this.terminal.bootPin ? 'bootloader' : 'application', `${reason}: the adapter dropped DTR/RTS`);
        // realtime: whatever the part had computed ahead of the wall clock went with the hang-up;
        // the next client starts on a clock that is in step again
        this.anchor.real = Date.now();
        this.anchor.virtual = this.terminal.clock.now();
      },
    };
    this.hangup = () => connection.close('port closed');
    return connection;
  }

  /** Ends the open session (if any) and detaches from the terminal. */
  stop(reason = 'stopped'): void {
    this.flushQueue(true);
    this.endSession(reason);
    this.clearIdle();
    this.unobserve();
    this.terminal.onOutput(null);
    this.current = null;
  }

  private onOutput(bytes: Uint8Array): void {
    if (this.session) this.session.summary.bytesOut += bytes.length;
    else this.pendingOut += bytes.length;
    const to = this.current;
    if (!to) return; // nobody on the line: the bytes are lost, as on an unplugged cable
    this.touch();
    if (!this.options.realtime) {
      to.write(bytes);
      return;
    }
    const due = this.anchor.real + (this.terminal.clock.now() - this.anchor.virtual) * 1000;
    if (this.queue.length === 0 && due <= Date.now()) {
      to.write(bytes);
      return;
    }
    this.queue.push({ bytes, due, to });
    this.armQueue();
  }

  /** realtime: a part that sat idle in real time has lived through that time too */
  private catchUpClock(): void {
    const wall = this.anchor.virtual + (Date.now() - this.anchor.real) / 1000;
    const now = this.terminal.clock.now();
    if (wall > now) this.terminal.clock.advance(wall - now);
  }

  private armQueue(): void {
    if (this.queueTimer || this.queue.length === 0) return;
    this.queueTimer = setTimeout(
      () => {
        this.queueTimer = null;
        this.flushQueue(false);
      },
      Math.max(0, this.queue[0].due - Date.now()),
    );
  }

  private flushQueue(all: boolean): void {
    if (this.queueTimer) {
      clearTimeout(this.queueTimer);
      this.queueTimer = null;
    }
    let wrote = false;
    while (this.queue.length && (all || this.queue[0].due <= Date.now())) {
      const q = this.queue.shift()!;
      q.to.write(q.bytes);
      wrote = true;
    }
    if (wrote) this.touch(); // the line was busy until now
    this.armQueue();
  }

  private onEvent(e: TerminalEvent): void {
    switch (e.type) {
      case 'sync':
        this.begin().summary.syncs++;
        break;
      case 'command': {
        const s = this.begin().summary;
        const name = commandName(e.code);
        const bucket = e.accepted ? s.commands : s.refused;
        bucket[name] = (bucket[name] ?? 0) + 1;
        break;
      }
      case 'flash':
        if (this.session) this.session.summary.flash[e.kind === 'erase' ? 'erases' : 'programs']++;
        break;
      case 'rdp':
        if (this.session) this.session.summary.rdp.to = e.to;
        break;
      case 'go':
        if (!this.session) break;
        this.session.summary.go.push({ address: `0x${e.address.toString(16).padStart(8, '0')}`, into: e.into });
        if (e.into === 'application') this.endSession(`application started at 0x${e.address.toString(16).padStart(8, '0')}`);
        break;
      case 'fault':
        // the part is silent until reset: nothing more comes of this session
        this.endSession(`part faulted: ${e.why}`);
        break;
      case 'restart':
        this.endSession(`part reset: ${e.why}`);
        break;
    }
  }

  private begin(): OpenSession {
    if (this.session) return this.session;
    this.session = {
      startTime: this.terminal.clock.now(),
      summary: {
        index: this.count + 1,
        ended: '',
        bytesIn: this.pendingIn,
        bytesOut: this.pendingOut,
        terminalSeconds: 0,
        syncs: 0,
        commands: {},
        refused: {},
        flash: { erases: 0, programs: 0 },
        rdp: { from: this.terminal.rdpLevel, to: this.terminal.rdpLevel },
        go: [],
        emulation: this.terminal.emulation,
      },
    };
    this.pendingIn = 0;
    this.pendingOut = 0;
    this.touch();
    return this.session;
  }

  private endSession(reason: string): void {
    const s = this.session;
    if (!s) return;
    this.session = null;
    this.clearIdle();
    this.count++;
    s.summary.ended = reason;
    s.summary.terminalSeconds = Math.round((this.terminal.clock.now() - s.startTime) * 1e6) / 1e6;
    this.options.onSession?.(s.summary);
  }

  private touch(): void {
    if (!this.session || this.idleMs <= 0) return;
    this.clearIdle();
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.queue.length) return this.touch(); // still answering (realtime)
      this.endSession('client quiet');
    }, this.idleMs);
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
}

/** One line for a session: what happened on it. */
export function formatSession(s: SessionSummary): string {
  const list = (r: Record<string, number>): string =>
    Object.entries(r)
      .map(([k, v]) => `${k} x${v}`)
      .join(', ');
  const parts = [
    `session ${s.index}: ${s.ended}`,
    `${s.terminalSeconds.toFixed(3)} s on the terminal, ${s.bytesIn} bytes in, ${s.bytesOut} bytes out`,
    `${s.syncs} sync(s); commands: ${list(s.commands) || 'none'}`,
  ];
  if (Object.keys(s.refused).length) parts.push(`refused (NACK): ${list(s.refused)}`);
  parts.push(`flash: ${s.flash.erases} erase(s), ${s.flash.programs} program(s)`);
  parts.push(s.rdp.from === s.rdp.to ? `RDP level ${s.rdp.to}` : `RDP level ${s.rdp.from} -> ${s.rdp.to}`);
  if (s.go.length) parts.push(`go: ${s.go.map((g) => `${g.address} (${g.into === 'agent' ? `agent, ${s.emulation}` : g.into})`).join(', ')}`);
  return parts.join('; ');
}
