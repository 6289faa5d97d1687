import { spawn, type ChildProcess } from 'node:child_process';
import { lstatSync, readlinkSync, renameSync, symlinkSync, unlinkSync } from 'node:fs';
import { DeviceError, InputError } from '../errors';

/** One client on the pseudo-terminal: bytes in, bytes out, and its end. */
export interface PtyClient {
  write(bytes: Uint8Array): void;
  onData(listener: (bytes: Uint8Array) => void): void;
  onClose(listener: () => void): void;
}

interface Waiter {
  proc: ChildProcess;
  /** /dev/pts/N once socat has said it */
  slave: string | null;
  connected: boolean;
  /** the client is gone (or never came) */
  closed: boolean;
  exited: boolean;
  data: ((bytes: Uint8Array) => void)[];
  close: (() => void)[];
}

/** The client of `w` is gone: tell the listeners once. */
function hangup(w: Waiter): void {
  if (w.closed) return;
  w.closed = true;
  for (const l of w.close) l();
}

/**
 * A pseudo-terminal at a fixed path (a symlink, like /dev/serial/by-id/…) that clients open like a
 * serial port, one after the other. Each pty is made by a `socat` process (Debian package socat)
 * that waits for a client to open the slave side (`wait-slave`), then relays the bytes between
 * the pty master (raw: no echo, no CR/LF translation) and this process over its stdin/stdout.
 * When the client closes the port, socat sees EIO on the master and exits: that is the end of
 * the connection. So that the next client never finds the path missing, the next socat is
 * started as soon as a client connects, and the symlink is moved to its pty atomically.
 */
export class PtyEndpoint {
  private waiting: Waiter | null = null;
  private readonly live = new Set<Waiter>();
  private stopping = false;
  private failures = 0;
  private readyResolve: (() => void) | null = null;
  private readyReject: ((e: Error) => void) | null = null;
  private onClient: ((c: PtyClient) => void) | null = null;
  private onFatal: ((e: Error) => void) | null = null;

  constructor(
    readonly path: string,
    private readonly socat = 'socat',
  ) {}

  /** Resolves once the path points at a pty waiting for its first client. */
  start(onClient: (c: PtyClient) => void, onFatal: (e: Error) => void): Promise<void> {
    this.onClient = onClient;
    this.onFatal = onFatal;
    let st: ReturnType<typeof lstatSync> | null = null;
    try {
      st = lstatSync(this.path);
    } catch {
      st = null;
    }
    if (st && !st.isSymbolicLink()) throw new InputError(`--pty ${this.path}: a file of that name exists and is not a symlink; choose another path`);
    return new Promise((resolve, reject) => {
      this.readyResolve = resolve;
      this.readyReject = reject;
      this.spawnWaiter();
    });
  }

  /** the pty device the path points at now */
  get device(): string | null {
    return this.waiting?.slave ?? null;
  }

  private spawnWaiter(): void {
    if (this.stopping) return;
    const address = 'pty,cfmakeraw,echo=0,wait-slave,pty-interval=0.01';
    let proc: ChildProcess;
    try {
      proc = spawn(this.socat, ['-d', '-d', '-t', '0.05', address, 'STDIO'], { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (err) {
      return this.fail(new DeviceError(`cannot start socat for the pseudo-terminal: ${(err as Error).message}`));
    }
    const w: Waiter = { proc, slave: null, connected: false, closed: false, exited: false, data: [], close: [] };
    this.waiting = w;
    this.live.add(w);
    let log = '';
    proc.on('error', (err: NodeJS.ErrnoException) => {
      if (proc.pid === undefined) {
        // never started: there will be no 'exit'
        w.exited = w.closed = true;
        this.live.delete(w);
        if (this.waiting === w) this.waiting = null;
      }
      const why = err.code === 'ENOENT' ? 'socat is not installed (Debian: apt-get install socat)' : err.message;
      this.fail(new DeviceError(`cannot create the pseudo-terminal ${this.path}: ${why}`));
    });
    proc.stdin!.on('error', () => undefined); // the pty closed while we were answering: the bytes are lost
    proc.stdout!.on('data', (chunk: Buffer) => {
      const bytes = new Uint8Array(chunk);
      for (const l of w.data) l(bytes);
    });
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (text: string) => {
      log += text;
      let nl: number;
      while ((nl = log.indexOf('\n')) >= 0) {
        const line = log.slice(0, nl);
        log = log.slice(nl + 1);
        this.onSocatLine(w, line);
      }
    });
    proc.on('exit', (code) => {
      w.exited = true;
      this.live.delete(w);
      if (w.connected) {
        hangup(w);
        return;
      }
      w.closed = true;
      if (this.waiting === w) this.waiting = null;
      if (this.stopping) return;
      // a waiting socat that died on its own: try again a few times, then give up
      if (++this.failures > 3)
        return this.fail(new DeviceError(`socat keeps exiting (status ${code}) before a client connects: ${log.trim().split('\n').pop() ?? ''}`));
      this.spawnWaiter();
    });
  }

  private onSocatLine(w: Waiter, line: string): void {
    const pty = line.match(/PTY is (\S+)/);
    if (pty && !w.slave) {
      w.slave = pty[1];
      if (this.waiting === w) {
        try {
          this.pointAt(w.slave);
        } catch (err) {
          return this.fail(new DeviceError(`cannot link ${this.path} to ${w.slave}: ${(err as Error).message}`));
        }
        this.failures = 0;
        const r = this.readyResolve;
        this.readyResolve = this.readyReject = null;
        r?.();
      }
      return;
    }
    // socket 1 is the pty: the client closed it (EIO on the master); socat exits a moment later
    if (/socket 1 \(fd \d+\) is at EOF/.test(line) && w.connected) {
      hangup(w);
      return;
    }
    if (/starting data transfer loop/.test(line) && !w.connected) {
      w.connected = true;
      if (this.waiting === w) this.waiting = null;
      // the next client gets a fresh pty at the same path
      this.spawnWaiter();
      const client: PtyClient = {
        write: (bytes) => {
          if (!w.closed && w.proc.stdin!.writable) w.proc.stdin!.write(bytes);
        },
        onData: (l) => w.data.push(l),
        onClose: (l) => w.close.push(l),
      };
      this.onClient?.(client);
    }
  }

  /** Moves the symlink at `path` to `target` in one rename, so it never dangles or goes missing. */
  private pointAt(target: string): void {
    const tmp = `${this.path}.${process.pid}.tmp`;
    try {
      unlinkSync(tmp);
    } catch {
      /* none left over */
    }
    symlinkSync(target, tmp);
    renameSync(tmp, this.path);
  }

  private fail(err: Error): void {
    if (this.readyReject) {
      const r = this.readyReject;
      this.readyResolve = this.readyReject = null;
      void this.stop().then(() => r(err));
      return;
    }
    if (!this.stopping) {
      this.onFatal?.(err);
    }
  }

  /**
   * Stops serving: connected socat processes get the end of their input (they pass on what they
   * still hold, then exit), waiting ones are terminated; the symlink is removed when it still
   * points at one of ours.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    const ours = new Set([...this.live].map((w) => w.slave).filter((s): s is string => s !== null));
    try {
      if (ours.has(readlinkSync(this.path))) unlinkSync(this.path);
    } catch {
      /* already gone */
    }
    await Promise.all(
      [...this.live].map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.exited || w.proc.pid === undefined) return resolve();
            const timer = setTimeout(() => w.proc.kill('SIGKILL'), 1000);
            w.proc.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            if (w.connected) w.proc.stdin!.end();
            else w.proc.kill('SIGTERM');
          }),
      ),
    );
  }
}
