import type { Board } from '../boards/types';
import { sectorsOf } from '../boards/load';
import { Rng } from './rng';

/**
 * The flash contents of a new emulated terminal: deterministic for a board and seed, and realistic
 * enough that an erase which skips anything is caught: a vector table and code-like bytes, a key
 * store, transaction-log records, and a small record at the start of every sector, so that no
 * sector starts out blank.
 */
export function initialImage(board: Board, seed = 1): Uint8Array {
  const rng = new Rng(`${board.id}:${seed}`);
  const img = new Uint8Array(board.flash.size).fill(board.flash.erasedValue);
  const base = board.flash.base;
  const put = (address: number, bytes: Uint8Array): void => {
    const off = address - base;
    if (off >= 0 && off < img.length) img.set(bytes.subarray(0, img.length - off), off);
  };

  // firmware: vector table (initial stack pointer, reset handler in Thumb mode), then code-like bytes
  const codeSize = Math.min(board.flash.size / 4, 192 * 1024);
  const code = new Uint8Array(codeSize);
  rng.fill(code);
  const view = new DataView(code.buffer);
  view.setUint32(0, board.ram.base + board.ram.size, true);
  for (let v = 1; v < 16; v++) view.setUint32(4 * v, (base + 0x200 + 8 * v) | 1, true);
  put(base, code);

  // a header record at the start of every sector (wear counter, sector index, magic)
  for (const s of sectorsOf(board)) {
    const rec = new Uint8Array(32);
    rng.fill(rec);
    rec.set([0x53, 0x45, 0x43, 0x54, s.index & 0xff, s.index >> 8], 0);
    if (s.address >= base + codeSize) put(s.address, rec);
  }

  const keys = board.regions.filter((r) => r.kind === 'keys');
  const data = board.regions.filter((r) => r.kind === 'data');
  // boards without declared regions still get a key store and a log, in the top sectors
  const sectors = sectorsOf(board);
  const keyAreas = keys.length ? keys : [{ address: sectors[sectors.length - 1].address, size: Math.min(4096, sectors[sectors.length - 1].size) }];
  const logAreas = data.length ? data : [{ address: sectors[sectors.length - 2].address, size: sectors[sectors.length - 2].size }];

  for (const k of keyAreas) {
    const store = new Uint8Array(Math.min(k.size, 2048));
    rng.fill(store);
    store.set(Buffer.from('KEYSTORE v2 TMK/TPK/TAK'), 0);
    put(k.address, store);
  }
  for (const d of logAreas) {
    const lines: string[] = [];
    let n = 0;
    let total = 0;
    const limit = Math.floor(d.size * 0.6);
    while (total < limit) {
      const amount = (rng.below(20000) / 100).toFixed(2);
      const line = `TXN ${String(100000 + n).padStart(6, '0')} 2026-${String(1 + (n % 12)).padStart(2, '0')}-${String(1 + (n % 28)).padStart(2, '0')} EUR ${amount.padStart(7)} ${rng.below(10) ? 'APPROVED' : 'DECLINED'} PAN ****${String(rng.below(10000)).padStart(4, '0')}\n`;
      lines.push(line);
      total += line.length;
      n++;
    }
    put(d.address, Buffer.from(lines.join('').slice(0, limit), 'latin1'));
  }
  return img;
}
