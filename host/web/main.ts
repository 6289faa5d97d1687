/**
 * The Web Serial page (`npm run build:web` → build/web/): the same host core as the CLI and the
 * station (protocol, session, planning, verification) bundled for Chromium, with three ways to
 * reach a terminal: a USB serial adapter through Web Serial, or the emulated terminal running in
 * the page, either directly or behind the Web Serial transport (a virtual port).
 *
 * Boards, the engine module and the agent binaries are embedded by the build (POSWIPE_EMBEDDED); nothing is fetched.
 */
import { ManifestError, parseAgentManifest, provideAgentManifest, unpinned } from '../agent/manifest';
import { manifestEngine, sha256Hex } from '../agent/pinned';
import type { Board } from '../boards/types';
import { EmulatedTerminal } from '../emulator/terminal';
import { parseFaults } from '../emulator/faults';
import { checkModuleAbi } from '../engine/module';
import type { MethodName } from '../plan/methods';
import { eraseReport } from '../app/report';
import { EmulatedTransport } from '../transport/emulated';
import { WebSerialTransport, webSerial, type WebSerialPortLike } from '../transport/webserial';
import type { Transport } from '../transport/types';
import { Tile, runTile, unopenedTransport, type TileLayout, type TileLink, type TileSnapshot } from '../app/tile';
import { EmulatedSerialPort } from './emulated-port';

declare const POSWIPE_EMBEDDED: { version: string; boards: Board[]; engine: string; agents: { manifest: string; binaries: Record<string, string> } };

interface TilesApi {
  createTile(snap: TileSnapshot, act: (action: string, id: string) => void): HTMLElement;
  setLayout(el: HTMLElement, layout: TileLayout): void;
  updateTile(el: HTMLElement, snap: TileSnapshot, tokenQuery: string): void;
  legend(): HTMLElement;
  STATUS: Record<string, [string, string]>;
}

interface Terminal {
  tile: Tile;
  el: HTMLElement;
  board: Board;
  method: MethodName;
  open(): Promise<{ transport: Transport; close(): Promise<void> }>;
  reportUrl: string | null;
}

function decodeBase64(text: string): Uint8Array {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function byId<T extends HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

function boot(): void {
  const T = (window as unknown as { PoswipeTiles: TilesApi }).PoswipeTiles;
  const embedded = POSWIPE_EMBEDDED;
  const module = decodeBase64(embedded.engine);
  checkModuleAbi(module);
  // the committed agents, checked against their manifest as on disk; the session uploads them, the in-page emulator recognises them
  const agentManifest = parseAgentManifest(embedded.agents.manifest, (rel) => {
    const b64 = embedded.agents.binaries[rel];
    if (b64 === undefined) throw new ManifestError(`agent binary ${rel} is not embedded in this page`);
    return decodeBase64(b64);
  });
  // the bundle was built with the pinned engine (host/web/build.ts); checked again, as the CLI does on disk
  if (sha256Hex(module) !== agentManifest.moduleSha256) throw unpinned('the embedded engine module', sha256Hex(module), agentManifest.moduleSha256);
  provideAgentManifest(agentManifest);
  const boards = embedded.boards;
  const terminals: Terminal[] = [];
  let emuSeed = 1;

  const boardSelect = byId<HTMLSelectElement>('board');
  for (const b of boards) {
    const o = document.createElement('option');
    o.value = b.id;
    o.textContent = `${b.id} — ${b.name}`;
    if (b.id === 'stm32f407') o.selected = true;
    boardSelect.appendChild(o);
  }
  byId('legend').appendChild(T.legend());
  byId('station-facts').textContent = `poswipe ${embedded.version}: the host core running in this page (no install); engine ${module.length} bytes embedded`;

  const serial = webSerial();
  const notice = byId('serial-notice');
  if (!serial) {
    notice.textContent = window.isSecureContext
      ? 'This browser has no Web Serial (use Chrome, Edge or Chromium): the emulated terminal still works.'
      : 'Web Serial needs https or localhost: serve this folder from one of those. The emulated terminal works anywhere.';
    notice.className = 'notice warn';
    byId<HTMLButtonElement>('add-serial').disabled = true;
  } else {
    notice.textContent = 'Connect a terminal in bootloader mode (BOOT0 high) through a USB serial adapter; the line runs at 115200 baud, 8E1.';
  }

  const announce = byId('announce');
  const say = (text: string): void => {
    announce.textContent = '';
    setTimeout(() => (announce.textContent = text), 30);
  };

  const refreshSummary = (): void => {
    const counts: Record<string, number> = {};
    for (const t of terminals) counts[t.tile.state.status] = (counts[t.tile.state.status] ?? 0) + 1;
    const parts = ['running', 'stopping', 'verified', 'failed', 'error', 'stopped', 'idle']
      .filter((s) => counts[s])
      .map((s) => `${counts[s]} ${T.STATUS[s][1].toLowerCase()}`);
    byId('summary').textContent = terminals.length
      ? `${terminals.length} terminal${terminals.length === 1 ? '' : 's'}: ${parts.join(' · ')}`
      : 'Add a terminal to begin.';
    byId<HTMLButtonElement>('start-all').disabled = !counts.idle;
    byId<HTMLButtonElement>('rerun-failed').disabled = !(counts.failed || counts.error || counts.stopped);
  };

  const run = async (t: Terminal): Promise<void> => {
    if (t.tile.running) return;
    let link: { transport: Transport; close(): Promise<void> };
    try {
      link = await t.open();
    } catch (err) {
      t.tile.begin(unopenedTransport(t.tile.state.port));
      t.tile.abandon(err);
      return;
    }
    try {
      await runTile(t.tile, {
        transport: link.transport,
        board: t.board,
        method: t.method,
        verify: 'full',
        module,
        engine: manifestEngine(agentManifest, t.board),
        finalize: async (outcome): Promise<TileLink[]> => {
          const report = eraseReport(outcome, { board: t.board.id, certificate: null, backup: null });
          if (t.reportUrl) URL.revokeObjectURL(t.reportUrl);
          t.reportUrl = URL.createObjectURL(new Blob([JSON.stringify(report, null, 2)], { type: 'application/json' }));
          const name = `${t.board.id}-${outcome.identity.uid ?? 'unknown'}-report.json`;
          return [{ rel: 'report', label: 'Report (JSON)', href: t.reportUrl, download: name }];
        },
      });
    } catch {
      // the tile shows it
    } finally {
      await link.close().catch(() => undefined);
    }
  };

  const act = (action: string, id: string): void => {
    const t = terminals.find((x) => x.tile.id === id);
    if (!t) return;
    if (action === 'start' || action === 'rerun') void run(t);
    else if (action === 'stop') t.tile.requestStop();
  };

  const add = (port: string, emulated: boolean, virtualTime: boolean, open: Terminal['open']): Terminal => {
    const board = boards.find((b) => b.id === boardSelect.value) ?? boards[0];
    const method = byId<HTMLSelectElement>('method').value as MethodName;
    const tile = new Tile(`t${terminals.length + 1}`, port, emulated, method, virtualTime);
    const el = T.createTile(tile.snapshot(), act);
    const t: Terminal = { tile, el, board, method, open, reportUrl: null };
    terminals.push(t);
    byId('tiles').appendChild(el);
    let scheduled = false;
    let lastStatus = tile.state.status;
    tile.onChange((_tile, layoutChanged) => {
      if (layoutChanged && tile.layout) T.setLayout(el, tile.layout);
      if (scheduled) return;
      scheduled = true;
      requestAnimationFrame(() => {
        scheduled = false;
        T.updateTile(el, tile.snapshot(), '');
        if (tile.state.status !== lastStatus) {
          lastStatus = tile.state.status;
          if (!tile.running && lastStatus !== 'idle')
            say(
              `Terminal ${tile.id.slice(1)} ${T.STATUS[lastStatus][1].toLowerCase()}${tile.state.reason && lastStatus !== 'verified' ? `: ${tile.state.reason}` : ''}`,
            );
        }
        refreshSummary();
      });
    });
    tile.setBoard(board);
    T.updateTile(el, tile.snapshot(), '');
    refreshSummary();
    return t;
  };

  byId('add-emulated').addEventListener('click', () => {
    const board = boards.find((b) => b.id === boardSelect.value) ?? boards[0];
    const fault = byId<HTMLSelectElement>('fault').value;
    const via = byId<HTMLSelectElement>('link').value;
    const seed = emuSeed++;
    const faults = parseFaults(fault ? [fault] : []);
    // the page's engine module for the model of the agent (no file system here to load build/terminal.wasm from)
    const terminal = new EmulatedTerminal(board, { seed, faults, model: { engine: () => module } });
    const name = `emu${fault ? `:${fault}` : ''}${via === 'webserial' ? ' via Web Serial' : ''}`;
    add(name, true, via !== 'webserial', async () => {
      if (via === 'webserial') {
        const t = await WebSerialTransport.open(new EmulatedSerialPort(terminal), { description: `webserial:emu:${board.id}` });
        return { transport: t, close: () => t.close() };
      }
      const t = new EmulatedTransport(terminal);
      return { transport: t, close: () => t.close() };
    });
  });

  byId('add-serial').addEventListener('click', async () => {
    if (!serial) return;
    let port: WebSerialPortLike;
    try {
      port = await serial.requestPort();
    } catch {
      return; // the user closed the chooser
    }
    const info = port.getInfo?.() ?? {};
    const name =
      info.usbVendorId !== undefined
        ? `USB ${info.usbVendorId.toString(16).padStart(4, '0')}:${(info.usbProductId ?? 0).toString(16).padStart(4, '0')}`
        : 'serial port';
    add(name, false, false, async () => {
      const t = await WebSerialTransport.open(port, { description: name });
      return { transport: t, close: () => t.close() };
    });
  });

  byId('start-all').addEventListener('click', () => terminals.filter((t) => t.tile.state.status === 'idle').forEach((t) => void run(t)));
  byId('rerun-failed').addEventListener('click', () =>
    terminals.filter((t) => ['failed', 'error', 'stopped'].includes(t.tile.state.status)).forEach((t) => void run(t)),
  );
  refreshSummary();
  document.body.setAttribute('data-ready', 'true');
}

if (typeof document !== 'undefined') {
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
}
