import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadBoard } from '../host/boards/load';
import { parseFaults } from '../host/emulator/faults';
import { InputError } from '../host/errors';
import { eraseTerminal, type BlockState } from '../host/session/erase';
import { parsePortSpec } from '../host/station/port-spec';
import { checkListen, isLoopback, parseListen, startStationServer } from '../host/station/server';
import { Station } from '../host/station/station';
import { CELL_CODES, StoppedError, mapLayout } from '../host/app/tile';
import { WebSerialTransport } from '../host/transport/webserial';
import { EmulatedSerialPort } from '../host/web/emulated-port';
import { CLI, emulated, engineModule } from './helpers';

const work = mkdtempSync(path.join(tmpdir(), 'poswipe-station-'));
process.env.POSWIPE_CONFIG_DIR = path.join(work, 'config');
const records = { cert: path.join(work, 'certificates'), auditDb: path.join(work, 'audit.sqlite'), backup: false as const };

function newStation(ports: string[], extra: Partial<ConstructorParameters<typeof Station>[0]> = {}): Station {
  return new Station({ ports, board: loadBoard('stm32f407'), method: 'clear', verify: 'full', emu: {}, module: engineModule(), records, ...extra });
}

test('port specs: emu, emu with its own faults/board/seed, serial paths; bad specs are bad input', () => {
  assert.deepEqual(parsePortSpec('emu'), { text: 'emu', kind: 'emu', path: null, faults: [], board: null, seed: null, rdp: null });
  const s = parsePortSpec('emu:stuck@0x08012345,drop=0.001,seed=7,board=stm32f429,rdp=1');
  assert.deepEqual(s.faults, ['stuck@0x08012345', 'drop=0.001']);
  assert.equal(s.seed, '7');
  assert.equal(s.board, 'stm32f429');
  assert.equal(s.rdp, '1');
  assert.equal(parsePortSpec('/dev/ttyUSB0').kind, 'serial');
  assert.throws(() => parsePortSpec('emu:stuck@nowhere'), InputError);
  assert.throws(() => parsePortSpec('emu:'), InputError);
  assert.throws(() => parsePortSpec('emu:seed=x'), InputError);
});

test('listen rules: loopback freely; elsewhere only with --allow-remote and a token', () => {
  assert.deepEqual(parseListen('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseListen('9000'), { host: '127.0.0.1', port: 9000 });
  assert.throws(() => parseListen('127.0.0.1:http'), InputError);
  assert.ok(isLoopback('localhost') && isLoopback('127.0.0.2') && isLoopback('::1'));
  assert.ok(!isLoopback('0.0.0.0') && !isLoopback('192.168.1.10'));
  checkListen(parseListen('127.0.0.1:0'), false, null);
  assert.throws(() => checkListen(parseListen('0.0.0.0:8080'), false, 'a-long-enough-token'), /allow-remote/);
  assert.throws(() => checkListen(parseListen('0.0.0.0:8080'), true, null), /--token/);
  assert.throws(() => checkListen(parseListen('0.0.0.0:8080'), true, 'short'), /16/);
  checkListen(parseListen('0.0.0.0:8080'), true, 'a-long-enough-token');
});

test('the session reports block states: erased, then verified (clear); a stuck byte ends failed', async () => {
  const { board, transport } = emulated('stm32f407', { faults: parseFaults(['stuck@0x08012345']) });
  const seen = new Map<number, BlockState[]>();
  const o = await eraseTerminal(transport, {
    board,
    method: 'clear',
    verify: 'full',
    module: engineModule(),
    onBlock: (a, s) => seen.set(a, [...(seen.get(a) ?? []), s]),
  });
  assert.equal(o.verified, false);
  assert.equal(seen.size, 256);
  assert.deepEqual(seen.get(0x08000000), ['erased', 'verified']);
  const bad = seen.get(0x08012000)!;
  assert.equal(bad[0], 'erased');
  assert.equal(bad[bad.length - 1], 'failed');
  assert.ok(bad.filter((s) => s === 'erased').length > 1, 'the failed block was erased again (retries)');
});

test('an aborted signal stops the session before its next phase, with the signal reason', async () => {
  const { board, transport } = emulated('stm32f407');
  const c = new AbortController();
  let phases = 0;
  const run = eraseTerminal(transport, {
    board,
    method: 'purge',
    verify: 'full',
    module: engineModule(),
    signal: c.signal,
    onProgress: (p) => {
      if (p.phase === 'erase-1' && phases++ === 0) c.abort(new StoppedError('stop asked'));
    },
  });
  await assert.rejects(run, (err: Error) => err instanceof StoppedError && /stop asked/.test(err.message));
});

test('map layout: one cell per block, protected sectors marked', () => {
  const b = loadBoard('stm32f407');
  const l = mapLayout(b);
  assert.equal(l.cells.length, 256);
  assert.equal(l.protectedCells.size, 0);
  const t400 = loadBoard('acme-t400');
  const lt = mapLayout(t400);
  const planned = mapLayout(t400, { includeProtected: true });
  assert.equal(lt.cells.length, planned.cells.length);
  if (t400.regions.some((r) => r.kind === 'protected')) assert.ok(lt.protectedCells.size > 0);
});

test('three emulated terminals in parallel: two verified with certificates, the stuck one failed alone', async () => {
  const st = newStation(['emu', 'emu', 'emu:stuck@0x08012345']);
  try {
    assert.deepEqual(st.startAll(), ['t1', 't2', 't3']);
    await st.idle();
    const snap = st.snapshot();
    const [a, b, c] = snap.tiles;
    assert.equal(a.status, 'verified', a.reason ?? '');
    assert.equal(b.status, 'verified', b.reason ?? '');
    assert.equal(c.status, 'failed');
    assert.notEqual(a.uid, b.uid, 'each emulated terminal is its own part');
    assert.notEqual(b.uid, c.uid);
    for (const t of [a, b]) {
      assert.ok(t.map.split('').every((ch) => ch === CELL_CODES.verified));
      const rels = t.links.map((l) => l.rel).sort();
      assert.deepEqual(rels, ['certificate-json', 'certificate-pdf']);
      const cert = JSON.parse(
        readFileSync(
          st.file(
            t.links
              .find((l) => l.rel === 'certificate-json')!
              .href.replace(/^files\//, '')
              .split('/')
              .map(decodeURIComponent)
              .join('/'),
          )!,
          'utf8',
        ),
      );
      assert.ok(JSON.stringify(cert).includes(t.uid!));
    }
    assert.deepEqual(c.failed, ['0x08012000']);
    const layout = snap.layouts.find((l) => l.id === 't3')!;
    const i = layout.cells.findIndex((x) => x.address === 0x08012000);
    assert.equal(c.map[i], CELL_CODES.failed);
    assert.equal(c.map.split('').filter((ch) => ch === CELL_CODES.failed).length, 1);
    assert.deepEqual(
      c.links.map((l) => l.rel),
      ['failure-report'],
    );
    // re-run: only the failed one may run again, and it fails again (its flash still has the stuck byte)
    assert.equal(st.rerun('t1'), false);
    assert.deepEqual(st.rerunFailed(), ['t3']);
    await st.idle();
    assert.equal(st.snapshot().tiles[2].status, 'failed');
    assert.equal(st.snapshot().tiles[2].runs, 2);
  } finally {
    await st.close();
  }
});

test('stop after the current phase: that tile ends stopped (no certificate), the others carry on', async () => {
  const st = newStation(['emu', 'emu'], { method: 'purge' });
  try {
    const [t1] = st.tiles;
    let asked = false;
    t1.onChange(() => {
      if (!asked && t1.state.phase === 'erase-1') {
        asked = true;
        assert.equal(st.stop('t1'), true);
      }
    });
    st.startAll();
    await st.idle();
    const [a, b] = st.snapshot().tiles;
    assert.equal(a.status, 'stopped');
    assert.match(a.reason ?? '', /stopped by the operator/);
    assert.deepEqual(a.links, []);
    assert.equal(b.status, 'verified');
  } finally {
    await st.close();
  }
});

test('the agent keeps the line rate of the port: an emulated terminal at --emu-baud 57600 ends verified, as with erase', async () => {
  const st = newStation(['emu'], { emu: { emuBaud: '57600' } });
  try {
    st.startAll();
    await st.idle();
    const [a] = st.snapshot().tiles;
    assert.equal(a.status, 'verified', a.reason ?? '');
  } finally {
    await st.close();
  }
});

test('a port that cannot be opened fails its own tile only', async () => {
  const st = newStation(['emu', '/dev/poswipe-no-such-port']);
  try {
    st.startAll();
    await st.idle();
    const [a, b] = st.snapshot().tiles;
    assert.equal(a.status, 'verified');
    assert.equal(b.status, 'error');
    assert.match(b.reason ?? '', /no-such-port/);
  } finally {
    await st.close();
  }
});

test('server: SSE hello, token, loopback Host, POST guard', { timeout: 30000 }, async () => {
  const st = newStation(['emu']);
  const srv = await startStationServer({ station: st, listen: parseListen('127.0.0.1:0'), token: 'sixteen-chars-token!' });
  try {
    const base = srv.url;
    assert.equal((await fetch(base)).status, 200, 'the bare page needs no token');
    assert.equal((await fetch(`${base}api/state`)).status, 401);
    const state = await (await fetch(`${base}api/state`, { headers: { authorization: 'Bearer sixteen-chars-token!' } })).json();
    assert.equal(state.tiles.length, 1);
    assert.equal(state.layouts[0].cells.length, 256);
    assert.equal((await fetch(`${base}api/tiles/t1/start?token=sixteen-chars-token!`, { method: 'POST' })).status, 403, 'POST needs X-Poswipe-Station');
    assert.equal(
      (
        await fetch(`${base}api/tiles/t1/start?token=sixteen-chars-token!`, {
          method: 'POST',
          headers: { 'x-poswipe-station': '1', origin: 'http://evil.example' },
        })
      ).status,
      403,
    );
    // fetch may not set Host: a raw request, as a DNS-rebinding page would send it
    const rebinding = await new Promise<number>((resolve, reject) => {
      const u = new URL(`${base}api/state?token=sixteen-chars-token!`);
      request({ host: u.hostname, port: u.port, path: u.pathname + u.search, headers: { host: 'evil.example' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    assert.equal(rebinding, 421);
    assert.equal((await fetch(`${base}files/../../etc/passwd?token=sixteen-chars-token!`)).status, 404);

    const events = await fetch(`${base}api/events?token=sixteen-chars-token!`);
    assert.match(events.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = events.body!.getReader();
    const r = await fetch(`${base}api/tiles/t1/start?token=sixteen-chars-token!`, { method: 'POST', headers: { 'x-poswipe-station': '1' } });
    assert.equal(r.status, 200);
    let text = '';
    const dec = new TextDecoder();
    while (!/"status":"(verified|failed|error|stopped)"/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += dec.decode(value);
    }
    await reader.cancel();
    assert.match(text, /^retry: 1000\nevent: hello\n/);
    assert.match(text, /event: tile\n/);
    assert.match(text, /"status":"verified"/);
  } finally {
    await st.close();
    await srv.close();
  }
});

test('the Web Serial transport over a virtual port erases and verifies like the others', async () => {
  const { board, terminal } = emulated('stm32f407');
  const t = await WebSerialTransport.open(new EmulatedSerialPort(terminal), { description: 'webserial:emu' });
  try {
    const o = await eraseTerminal(t, { board, method: 'clear', verify: 'full', module: engineModule() });
    assert.equal(o.verified, true, o.reason ?? '');
    assert.equal(o.blocks.length, 256);
  } finally {
    await t.close();
  }
});

test(
  'station --once over a real serial port (a pty served by poswipe emu) and an emulated one: the pty board found by product ID',
  { skip: spawnSync('sh', ['-c', 'command -v socat']).status === 0 ? false : 'socat is not installed', timeout: 50000 },
  async () => {
    const link = path.join(work, 'tty-station');
    // two sessions on the pty: the product ID query, then the erase; the emulator then exits by itself
    // three server sessions: the product-ID probe, the erase up to the agent's RESET (a part reset ends a session), the re-sync after it
    const server = spawn(process.execPath, [CLI, 'emu', '--board', 'stm32f205', '--pty', link, '--exit-after', '3'], { stdio: 'ignore' });
    const serverExit = new Promise<void>((resolve) => server.on('exit', () => resolve()));
    try {
      for (let i = 0; i < 100 && !existsSync(link); i++) await new Promise((r) => setTimeout(r, 50));
      const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const c = spawn(
          process.execPath,
          [
            CLI,
            'station',
            '--port',
            link,
            '--port',
            'emu:board=stm32f407',
            '--method',
            'clear',
            '--no-backup',
            '--once',
            '--listen',
            '127.0.0.1:0',
            '--cert',
            path.join(work, 'pty-certs'),
          ],
          { cwd: work, env: { ...process.env, POSWIPE_AUDIT_DB: path.join(work, 'audit.sqlite') } },
        );
        let stdout = '';
        let stderr = '';
        c.stdout.on('data', (d) => (stdout += d));
        c.stderr.on('data', (d) => (stderr += d));
        c.on('close', (code) => resolve({ code, stdout, stderr }));
      });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stderr, /product ID 0x0411 is stm32f205/);
      assert.match(r.stdout, new RegExp(`t1 ${link.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: verified`));
      assert.match(r.stdout, /t2 emu:board=stm32f407: verified/);
      assert.match(r.stderr, /VERIFIED stm32f205/);
      assert.match(r.stderr, /VERIFIED stm32f407/);
    } finally {
      // killing `poswipe emu` can leave its socat behind: give it the time to end on its own first
      await Promise.race([serverExit, new Promise((r) => setTimeout(r, 5000))]);
      if (server.exitCode === null) server.kill();
    }
  },
);

test('an F103 tile (bootloader only, no agent): live block states on its map during the run, and Stop ends it after the phase', async () => {
  const st = newStation(['emu:board=stm32f103xb', 'emu:board=stm32f103xb'], { board: loadBoard('stm32f103xb'), method: 'purge' });
  try {
    const [t1, t2] = st.tiles;
    let asked = false;
    let liveErased = false;
    t2.onChange(() => {
      // before the session ends, cells already show erased or verified blocks: the map is fed as the run goes
      const map = st.snapshot().tiles[1].map;
      if (t2.state.phase === 'erase-2' && [...map].some((ch) => ch === CELL_CODES.erased || ch === CELL_CODES.verified)) liveErased = true;
    });
    t1.onChange(() => {
      if (!asked && t1.state.phase === 'erase-1') {
        asked = true;
        assert.equal(st.stop('t1'), true);
      }
    });
    st.startAll();
    await st.idle();
    const [a, b] = st.snapshot().tiles;
    assert.equal(a.status, 'stopped', a.reason ?? '');
    assert.match(a.reason ?? '', /stopped by the operator/);
    assert.deepEqual(a.links, []);
    assert.equal(b.status, 'verified', b.reason ?? '');
    assert.ok(liveErased, 'block states reached the map during the run');
  } finally {
    await st.close();
  }
});
