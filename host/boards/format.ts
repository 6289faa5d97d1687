/**
 * Boards for people and for JSON: the one-line summary of `poswipe boards`, the text of
 * `poswipe boards show`, and the JSON of `poswipe boards show --json` (the resolved board with
 * hex-string addresses, in the same notation as the board files).
 */
import { displayPath } from './errors';
import { fullEraseTime, sectorsIn, sectorsOf } from './layout';
import { BOARD_FILE, type Spec, type ValueKind, convert } from './schema';
import { type Board, type SectorRun } from './types';

/** `0x` and upper-case hex digits, padded to `digits`. */
export function hex(n: number, digits = 1): string {
  return '0x' + n.toString(16).toUpperCase().padStart(digits, '0');
}

const KiB = 1024;
const MiB = 1024 * 1024;

/** 16 KiB, 1 MiB, 512 B, 1.5 KiB */
export function formatSize(bytes: number): string {
  if (bytes >= MiB && bytes % (MiB / 4) === 0) return `${bytes / MiB} MiB`;
  if (bytes >= KiB && bytes % (KiB / 4) === 0) return `${bytes / KiB} KiB`;
  return `${bytes} B`;
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${+(ms / 1000).toFixed(2)} s` : `${+ms.toFixed(2)} ms`;
}

/** "4 × 16 KiB + 1 × 64 KiB + 7 × 128 KiB" */
export function formatRuns(runs: readonly SectorRun[]): string {
  return runs.map((r) => `${r.count} × ${formatSize(r.size)}`).join(' + ');
}

function unitWord(board: Board, n: number): string {
  const pages = board.flash.sectors.every((r) => r.size <= 4 * KiB);
  return `${n} ${pages ? 'page' : 'sector'}${n === 1 ? '' : 's'}`;
}

function pids(board: Board): string {
  return board.productIds.map((p) => hex(p, 4)).join(',');
}

function summaryColumns(id: string, pid: string, flash: string, layout: string, agent: string, name: string): string {
  return [id.padEnd(14), pid.padEnd(8), flash.padStart(8), layout.padEnd(22), agent.padEnd(9), name].join(' ');
}

/** One line for `poswipe boards`. */
export function boardSummaryLine(b: Board): string {
  const units = sectorsOf(b).length;
  const banks = b.flash.banks.length > 1 ? `, ${b.flash.banks.length} banks` : '';
  return summaryColumns(b.id, pids(b), formatSize(b.flash.size), `${unitWord(b, units)}${banks}`, b.agent === null ? 'no agent' : `agent ${b.agent.binary}`, b.name);
}

function rangeText(r: { address: number; size: number }): string {
  return `${hex(r.address, 8)}-${hex(r.address + r.size - 1, 8)} (${formatSize(r.size)})`;
}

function indexSpan(indices: number[]): string {
  if (indices.length === 0) return '-';
  const first = indices[0];
  const last = indices[indices.length - 1];
  return first === last ? `${first}` : `${first}-${last}`;
}

function table(rows: string[][], indent: string): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => indent + r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ').trimEnd());
}

/** The text of `poswipe boards show <board>`. */
export function describeBoard(b: Board): string {
  const lines: string[] = [];
  const add = (label: string, text: string): void => {
    lines.push(`  ${(label === '' ? '' : label + ':').padEnd(17)}${text}`.trimEnd());
  };
  const sectors = sectorsOf(b);
  lines.push(`${b.id}: ${b.name}`);
  if (b.description !== undefined) lines.push(`  ${b.description}`);
  add('file', displayPath(b.source) + (b.inherits.length > 0 ? ` (inherits ${b.inherits.join(' -> ')})` : ''));
  add('product IDs', pids(b));
  add('flash', `${formatSize(b.flash.size)} at ${hex(b.flash.base, 8)}, erased value ${hex(b.flash.erasedValue, 2)}, programmed ${b.flash.programUnit} bytes at a time`);
  add('layout', `${formatRuns(b.flash.sectors)} (${unitWord(b, sectors.length)})`);
  b.flash.banks.forEach((bank, i) => {
    const inBank = sectors.filter((s) => s.bank === i + 1).map((s) => s.index);
    add(i === 0 ? 'banks' : '', `bank ${i + 1}: ${rangeText(bank)}, units ${indexSpan(inBank)}`);
  });
  add('size register', b.flash.sizeRegister === null ? 'none' : hex(b.flash.sizeRegister, 8));
  add('RAM', `${formatSize(b.ram.size)} at ${hex(b.ram.base, 8)}, free from ${hex(b.ram.freeFrom, 8)}`);
  add('system memory', rangeText(b.systemMemory));
  add('option bytes', b.optionBytes.map(rangeText).join(', '));
  add('OTP', b.otp === null ? 'none' : `${rangeText(b.otp)}: cannot be erased, never reported as sanitized`);
  add('unique ID', `${b.uniqueId.bytes} bytes at ${hex(b.uniqueId.address, 8)}`);
  const bl = b.bootloader;
  const erase = bl.eraseCommand === 0x43 ? 'Erase (0x43)' : 'Extended Erase (0x44)';
  add('bootloader', `version ${hex(bl.version, 2)}, ${erase}, Get Checksum ${bl.getChecksum ? 'yes' : 'no'}, Get Version option bytes ${bl.optionBytes.map((o) => hex(o, 2)).join(' ')}`);
  add('read protection', `level 0 = ${hex(bl.rdp.level0, 2)}, level 2 = ${bl.rdp.level2 === null ? 'none' : hex(bl.rdp.level2, 2)}, any other value = level 1`);
  add('core', `${b.core}, flash interface ${b.flashInterface}`);
  add('agent', b.agent === null ? 'no agent (bootloader-only path)' : `kind ${b.agent.binary}, written and started at ${hex(b.agent.load, 8)} (agent/manifest.json)`);
  if (b.link === null) {
    add('link', 'none');
  } else {
    const l = b.link;
    add('link', `USART at ${hex(l.usart, 8)} (clock: ${hex(l.usartClock.register, 8)} |= ${hex(l.usartClock.mask)}), 8E1`);
    add('', `GPIO at ${hex(l.gpio, 8)} (clock: ${hex(l.gpioClock.register, 8)} |= ${hex(l.gpioClock.mask)}), TX pin ${l.tx}, RX pin ${l.rx}, AF${l.af}`);
    add('', `core clock at Go ${+(l.resetClockHz / 1e6).toFixed(3)} MHz`);
  }
  add('reset', b.reset === null ? 'no wiring described' : `enter "${b.reset.enter}", exit "${b.reset.exit}"`);
  if (b.regions.length === 0) {
    add('regions', 'none: every unit is erased');
  } else {
    add('regions', '');
    const rows = [['name', 'kind', 'address', 'size', 'units']];
    for (const r of b.regions) {
      rows.push([r.name, r.kind, hex(r.address, 8), formatSize(r.size), indexSpan(sectorsIn(b, r).map((s) => s.index))]);
    }
    lines.push(...table(rows, '    '));
  }
  const t = b.timing;
  t.erase.forEach((e, i) => add(i === 0 ? 'erase time' : '', `${formatSize(e.unitBytes)} unit: ${formatMs(e.typicalMs)} typical, ${formatMs(e.maxMs)} max`));
  add('mass erase', `${formatMs(t.massErase.typicalMs)} typical, ${formatMs(t.massErase.maxMs)} max`);
  add('program', `${t.program.unitBytes} bytes: ${t.program.typicalUs} µs typical, ${t.program.maxUs} µs max`);
  const full = fullEraseTime(b);
  add('all units', `${formatMs(full.typicalMs)} typical, ${formatMs(full.maxMs)} max (erased one by one)`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// JSON

function jsonValue(kind: ValueKind, v: unknown): unknown {
  if (typeof v !== 'number') return v;
  switch (kind) {
    case 'address':
      return hex(v, 8);
    case 'size':
    case 'mask':
      return hex(v);
    case 'byte':
      return hex(v, 2);
    case 'pid':
      return hex(v, 4);
    default:
      return v;
  }
}

function toJson(v: unknown, spec: Spec): unknown {
  if (v === null || v === undefined) return v;
  switch (spec.type) {
    case 'value':
      return jsonValue(spec.kind, v);
    case 'enum':
      return v;
    case 'array':
      return (v as unknown[]).map((item) => toJson(item, spec.of));
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, f] of Object.entries(spec.fields)) {
        const item = (v as Record<string, unknown>)[key];
        if (item !== undefined) out[key] = toJson(item, f.spec);
      }
      return out;
    }
  }
}

/**
 * The resolved board as JSON: addresses as 8-digit hex strings, sizes as hex strings, byte values
 * as 2-digit and product IDs as 4-digit hex strings, counts and times as numbers; plus
 * `inherits` (the list of ids it was resolved from) and `source`.
 */
export function boardToJson(b: Board): Record<string, unknown> {
  const body = toJson(b, BOARD_FILE) as Record<string, unknown>;
  const { id, name, description, ...rest } = body;
  const head: Record<string, unknown> = { id, name };
  if (description !== undefined) head.description = description;
  return { ...head, inherits: [...b.inherits], source: b.source, ...rest };
}

/** Read back what `boardToJson` wrote (trusted input: no validation). */
export function boardFromJson(json: Record<string, unknown>): Board {
  const { inherits, source, ...rest } = json;
  const data = convert(rest, BOARD_FILE, '') as Record<string, unknown>;
  return { ...data, inherits: inherits as string[], source: source as string } as unknown as Board;
}
