/**
 * The station's web server (node:http): the page (static/), the station's state as JSON, live
 * updates as server-sent events, the buttons as POST requests, and the records the station wrote.
 *
 * Safety: loopback by default. Binding elsewhere needs allowRemote and a token. With a token every
 * request but the bare page needs it (`Authorization: Bearer <t>`, or `?token=<t>` where a browser
 * cannot set headers: EventSource, links). On loopback the Host header must name the loopback
 * address (no DNS rebinding); POSTs need the X-Poswipe-Station header and a same-origin Origin
 * (no cross-site form posts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { isIP } from 'node:net';
import { InputError } from '../errors';
import { packageRoot } from '../engine/module';
import type { Station } from './station';
import type { TileLayout, TileSnapshot } from '../app/tile';

export interface ListenAddress {
  host: string;
  port: number;
}

/** `127.0.0.1:8080`, `localhost:0`, `[::1]:8080`, `0.0.0.0:8080`, or a bare port. */
export function parseListen(text: string): ListenAddress {
  const t = text.trim();
  let host = '127.0.0.1';
  let portText = t;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(t);
  if (v6) [host, portText] = [v6[1], v6[2]];
  else if (t.includes(':')) {
    const i = t.lastIndexOf(':');
    [host, portText] = [t.slice(0, i), t.slice(i + 1)];
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new InputError(`--listen ${text}: expected host:port (e.g. 127.0.0.1:8080)`);
  if (!host) throw new InputError(`--listen ${text}: no host`);
  return { host, port };
}

export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1' || h === '0:0:0:0:0:0:0:1';
}

/** The listen rules: loopback freely; anything else only with allowRemote and a token of 16 characters or more. */
export function checkListen(addr: ListenAddress, allowRemote: boolean, token: string | null): void {
  if (isLoopback(addr.host)) return;
  if (!allowRemote)
    throw new InputError(`--listen ${addr.host}: not a loopback address; serving the station beyond this machine needs --allow-remote and --token <secret>`);
  if (!token) throw new InputError('--allow-remote needs --token <secret>: anyone who reaches the port could otherwise start erases');
  if (token.length < 16) throw new InputError('--token: use at least 16 characters');
}

export interface StationServerOptions {
  station: Station;
  listen: ListenAddress;
  token: string | null;
  /** the folder of index.html, station.css, tiles.js, station.js (default: host/station/static) */
  staticDir?: string;
  /** announce interval for live updates per tile (ms) */
  throttleMs?: number;
}

export interface StationServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

const STATIC: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/station.css': 'station.css',
  '/tiles.js': 'tiles.js',
  '/station.js': 'station.js',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.pdf': 'application/pdf',
};

export function staticDir(): string {
  return join(packageRoot(), 'host', 'station', 'static');
}

function sameToken(given: string | null, token: string): boolean {
  if (given === null) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

export async function startStationServer(o: StationServerOptions): Promise<StationServer> {
  const dir = o.staticDir ?? staticDir();
  const station = o.station;
  const loopback = isLoopback(o.listen.host);
  const clients = new Set<ServerResponse>();
  const throttle = o.throttleMs ?? 100;

  // live updates: the latest snapshot of each tile, sent at most every `throttle` ms (the last one always)
  const pending = new Map<string, { tile: TileSnapshot; layout: TileLayout | null }>();
  let timer: ReturnType<typeof setTimeout> | null = null;
  const flush = (): void => {
    timer = null;
    for (const { tile, layout } of pending.values()) {
      if (layout) broadcast('layout', layout);
      broadcast('tile', tile);
    }
    pending.clear();
  };
  const unsubscribe = station.subscribe((tile, layout) => {
    const prev = pending.get(tile.id);
    pending.set(tile.id, { tile, layout: layout ?? prev?.layout ?? null });
    if (!timer) timer = setTimeout(flush, throttle);
  });
  const broadcast = (event: string, data: unknown): void => {
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const c of clients) c.write(text);
  };
  const heartbeat = setInterval(() => {
    for (const c of clients) c.write(': keep-alive\n\n');
  }, 15000);
  heartbeat.unref();

  const send = (res: ServerResponse, status: number, body: string | Buffer, type = 'text/plain; charset=utf-8', extra: Record<string, string> = {}): void => {
    res.writeHead(status, {
      'Content-Type': type,
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      ...extra,
    });
    res.end(body);
  };
  const json = (res: ServerResponse, status: number, data: unknown): void => send(res, status, JSON.stringify(data), TYPES['.json']);

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://station.invalid');
    const path = url.pathname;
    const host = req.headers.host ?? '';

    if (loopback && !/^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/i.test(host)) {
      return send(res, 421, 'the station answers on its loopback address only\n');
    }
    const page = req.method === 'GET' && STATIC[path] !== undefined;
    if (o.token !== null && !page) {
      const auth = req.headers.authorization;
      const given = auth?.startsWith('Bearer ') ? auth.slice(7) : url.searchParams.get('token');
      if (!sameToken(given, o.token)) return json(res, 401, { error: 'token required (Authorization: Bearer <token> or ?token=<token>)' });
    }

    if (req.method === 'GET' && page) {
      const file = STATIC[path];
      let body: Buffer;
      try {
        body = readFileSync(join(dir, file));
      } catch {
        return send(res, 500, `station page file ${file} is missing from ${dir}\n`);
      }
      const csp =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
      return send(res, 200, body, TYPES[extname(file)], { 'Content-Security-Policy': csp, 'X-Frame-Options': 'DENY' });
    }
    if (req.method === 'GET' && path === '/api/state') return json(res, 200, station.snapshot());
    if (req.method === 'GET' && path === '/api/events') {
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
      });
      res.write(`retry: 1000\nevent: hello\ndata: ${JSON.stringify(station.snapshot())}\n\n`);
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    }
    if (req.method === 'GET' && path.startsWith('/files/')) {
      const key = path.slice('/files/'.length).split('/').map(decodeURIComponent).join('/');
      const file = station.file(key);
      if (!file) return send(res, 404, 'no such record\n');
      let size: number;
      try {
        size = statSync(file).size;
      } catch {
        return send(res, 404, 'the record file is gone\n');
      }
      res.writeHead(200, {
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
        'Content-Length': size,
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
        'Content-Disposition': `inline; filename="${key.replace(/^.*\//, '').replace(/"/g, '')}"`,
      });
      createReadStream(file).pipe(res);
      return;
    }
    if (req.method === 'POST' && path.startsWith('/api/')) {
      if (req.headers['x-poswipe-station'] !== '1') return json(res, 403, { error: 'missing X-Poswipe-Station header' });
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== `http://${host}`) return json(res, 403, { error: 'cross-origin request refused' });
      req.resume();
      try {
        let m: RegExpExecArray | null;
        if (path === '/api/start-all') return json(res, 200, { started: station.startAll() });
        if (path === '/api/rerun-failed') return json(res, 200, { started: station.rerunFailed() });
        if ((m = /^\/api\/tiles\/([a-z0-9-]+)\/(start|stop|rerun)$/.exec(path))) {
          const [, id, action] = m;
          const ok = action === 'start' ? station.start(id) : action === 'stop' ? station.stop(id) : station.rerun(id);
          return json(res, ok ? 200 : 409, { ok, tile: station.snapshot().tiles.find((t) => t.id === id) ?? null });
        }
      } catch (err) {
        return json(res, 404, { error: (err as Error).message });
      }
      return json(res, 404, { error: 'no such action' });
    }
    if (req.method !== 'GET' && req.method !== 'POST') return send(res, 405, 'method not allowed\n', undefined, { Allow: 'GET, POST' });
    return send(res, 404, 'not found\n');
  };

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      if (!res.headersSent) send(res, 500, `internal error: ${(err as Error).message}\n`);
      else res.destroy();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new InputError(`--listen ${o.listen.host}:${o.listen.port}: address in use`)
          : err.code === 'EADDRNOTAVAIL'
            ? new InputError(`--listen ${o.listen.host}: not an address of this machine`)
            : err,
      ),
    );
    server.listen(o.listen.port, o.listen.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : o.listen.port;
  const shownHost = o.listen.host.includes(':') ? `[${o.listen.host}]` : o.listen.host;
  return {
    url: `http://${shownHost}:${port}/`,
    server,
    close: async () => {
      unsubscribe();
      clearInterval(heartbeat);
      if (timer) clearTimeout(timer);
      flush();
      for (const c of clients) c.end();
      clients.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
