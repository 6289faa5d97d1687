/**
 * The validation rules for board files. Each rule is a named, exported function that returns the
 * problems it finds (an empty list when the board passes). Problems read
 * `<file>: <field>: <rule-name>: <explanation>` (see errors.ts).
 *
 * Two kinds:
 * - file rules look at one file as written (before inheritance), so a typo is blamed on the file
 *   that holds it;
 * - board rules look at the resolved board; `origin` names the file a field came from.
 *
 * The loader's own checks (file-readable, json-syntax, unknown-board, inherits-unknown,
 * inherits-cycle, not-a-board) live in load.ts and resolve.ts.
 */
import * as path from 'path';
import { type Problem } from './errors';
import { hex, formatSize } from './format';
import { runsTotal, sectorsOf } from './layout';
import { parseResetSequence, ResetSequenceError } from './reset';
import { BOARD_FILE, type FieldSpec, type Spec, convert, describeSpec, isPlainObject, joinField, preview } from './schema';
import { type Origin } from './resolve';
import { type Board, type Range } from './types';
import { agentCatalog, ManifestError, type AgentCatalogEntry } from '../agent/manifest';
import { SIGNATURE_BLOCK_OFFSET, SIGNATURE_BLOCK_SIZE } from '../protocol/link';

export type FileRule = (raw: unknown, file: string) => Problem[];
export type BoardRule = (board: Board, origin: Origin) => Problem[];

const problem = (file: string, field: string, rule: string, explanation: string): Problem => ({ file, field, rule, explanation });

// ---------------------------------------------------------------------------------------------
// File rules

/** Every field must be one the format knows; a near miss gets a suggestion. */
export function knownFields(raw: unknown, file: string): Problem[] {
  const out: Problem[] = [];
  convert(raw, BOARD_FILE, '', {
    unknownField(field, key, known) {
      const guess = closest(key, known);
      const hint = guess !== undefined ? `did you mean "${guess}"?` : `known fields here: ${known.join(', ')}`;
      out.push(problem(file, field, 'known-fields', `unknown field "${key}"; ${hint}`));
    },
  });
  return out;
}

/** Every value must have its field's type: addresses are hex strings, sizes hex or integers, and so on. */
export function fieldTypes(raw: unknown, file: string): Problem[] {
  if (!isPlainObject(raw)) {
    return [problem(file, '(file)', 'field-types', `a board file holds one JSON object, got ${preview(raw)}`)];
  }
  const out: Problem[] = [];
  convert(raw, BOARD_FILE, '', {
    wrongType(field, expected, got) {
      out.push(problem(file, field, 'field-types', `expected ${expected}, got ${preview(got)}`));
    },
  });
  return out;
}

/** A file's `id` is its file name without `.json`, so that `inherits` and ids on the command line find it. */
export function idMatchesFile(raw: unknown, file: string): Problem[] {
  if (!isPlainObject(raw) || typeof raw.id !== 'string') return [];
  const expected = path.basename(file, '.json');
  if (raw.id === expected) return [];
  return [problem(file, 'id', 'id-matches-file', `id "${raw.id}" differs from the file name; name the file ${raw.id}.json or set "id": "${expected}"`)];
}

export const FILE_RULES: Readonly<Record<string, FileRule>> = {
  'known-fields': knownFields,
  'field-types': fieldTypes,
  'id-matches-file': idMatchesFile,
};

// ---------------------------------------------------------------------------------------------
// The resolved board's fields must all be there

/** After inheritance every required field is present (inside optional objects: whenever the object is). */
export function requiredFields(merged: Record<string, unknown>, origin: Origin): Problem[] {
  const out: Problem[] = [];
  const walk = (v: unknown, spec: Spec, field: string): void => {
    if (spec.type === 'object' && isPlainObject(v)) {
      for (const [key, f] of Object.entries(spec.fields) as [string, FieldSpec][]) {
        const at = joinField(field, key);
        if (v[key] === undefined) {
          if (f.required) {
            const inherited = f.perFile ? ' (this field is never inherited: every board file states its own)' : '';
            out.push(problem(origin(at), at, 'required-fields', `missing; expected ${describeSpec(f.spec)}${inherited}`));
          }
        } else {
          walk(v[key], f.spec, at);
        }
      }
    } else if (spec.type === 'array' && Array.isArray(v)) {
      v.forEach((item, i) => walk(item, spec.of, joinField(field, i)));
    }
  };
  walk(merged, BOARD_FILE, '');
  return out;
}


// ---------------------------------------------------------------------------------------------
// Board rules

/** At least one product ID; each a 12-bit DEV_ID (0x001-0xFFF) as Get ID reports it; no repeats. */
export function productIdsValid(board: Board, origin: Origin): Problem[] {
  const rule = 'product-ids-valid';
  const at = 'productIds';
  if (board.productIds.length === 0) return [problem(origin(at), at, rule, 'no product ID; list the DEV_ID(s) that Get ID reports for this part, e.g. ["0x413"]')];
  const out: Problem[] = [];
  board.productIds.forEach((pid, i) => {
    const f = joinField(at, i);
    if (pid < 0x001 || pid > 0xfff) out.push(problem(origin(f), f, rule, `${hex(pid, 4)} is not a 12-bit device ID (0x001-0xFFF)`));
    if (board.productIds.indexOf(pid) !== i) out.push(problem(origin(f), f, rule, `${hex(pid, 4)} is listed twice`));
  });
  return out;
}

/** Sector runs add up to exactly the flash size; banks cover the flash end to end and start on sector boundaries. */
export function runsTileFlash(board: Board, origin: Origin): Problem[] {
  const rule = 'runs-tile-flash';
  const out: Problem[] = [];
  const { flash } = board;
  const end = flash.base + flash.size;
  flash.sectors.forEach((r, i) => {
    const f = joinField('flash.sectors', i);
    if (r.count < 1 || r.size < 1) out.push(problem(origin(f), f, rule, `a run needs count >= 1 and size >= 1 (got count ${r.count}, size ${r.size})`));
  });
  const total = runsTotal(flash.sectors);
  if (total !== flash.size) {
    out.push(
      problem(origin('flash.sectors'), 'flash.sectors', rule, `sector runs add up to ${hex(total)} (${formatSize(total)}) but flash.size is ${hex(flash.size)} (${formatSize(flash.size)})`),
    );
  }
  if (flash.banks.length === 0) {
    out.push(problem(origin('flash.banks'), 'flash.banks', rule, 'no bank; a single-bank part lists one bank covering the whole flash'));
    return out;
  }
  let expected = flash.base;
  flash.banks.forEach((b, i) => {
    const f = joinField('flash.banks', i);
    if (b.address !== expected) {
      out.push(problem(origin(f), f, rule, `bank ${i + 1} starts at ${hex(b.address, 8)}; expected ${hex(expected, 8)} (banks follow each other from flash.base, without gaps)`));
    }
    expected = b.address + b.size;
  });
  if (expected !== end) {
    out.push(problem(origin('flash.banks'), 'flash.banks', rule, `banks end at ${hex(expected, 8)} but the flash ends at ${hex(end, 8)}`));
  }
  if (total === flash.size && runsTotalCount(board) <= 0xfff0) {
    const starts = new Set(sectorsOf(board).map((s) => s.address));
    flash.banks.forEach((b, i) => {
      const f = joinField('flash.banks', i);
      if (!starts.has(b.address) && b.address >= flash.base && b.address < end) {
        out.push(problem(origin(f), f, rule, `bank ${i + 1} starts at ${hex(b.address, 8)}, inside a sector`));
      }
    });
  }
  return out;
}

function regionField(i: number): string {
  return joinField('regions', i);
}

function regionLabel(board: Board, i: number): string {
  const r = board.regions[i];
  return `region "${r.name}" (${hex(r.address, 8)}-${hex(r.address + r.size - 1, 8)})`;
}

/** Every region is non-empty and lies inside the flash. */
export function regionsInsideFlash(board: Board, origin: Origin): Problem[] {
  const rule = 'regions-inside-flash';
  const out: Problem[] = [];
  const end = board.flash.base + board.flash.size;
  board.regions.forEach((r, i) => {
    const f = regionField(i);
    if (r.size === 0) out.push(problem(origin(f), f, rule, `region "${r.name}" is empty`));
    else if (r.address < board.flash.base || r.address + r.size > end) {
      out.push(problem(origin(f), f, rule, `${regionLabel(board, i)} is not inside the flash (${hex(board.flash.base, 8)}-${hex(end - 1, 8)})`));
    }
  });
  return out;
}

/** Every region starts and ends on erase-unit boundaries (one can only erase whole sectors/pages). */
export function regionsAlignedToEraseUnits(board: Board, origin: Origin): Problem[] {
  const rule = 'regions-aligned-to-erase-units';
  const out: Problem[] = [];
  // runs that do not tile the flash (or name absurdly many units) are reported by runs-tile-flash / erase-command-valid: never expand them
  if (runsTotal(board.flash.sectors) !== board.flash.size || runsTotalCount(board) > 0xfff0) return out;
  const sectors = sectorsOf(board);
  const starts = new Set(sectors.map((s) => s.address));
  const ends = new Set(sectors.map((s) => s.address + s.size));
  const end = board.flash.base + board.flash.size;
  board.regions.forEach((r, i) => {
    if (r.size === 0 || r.address < board.flash.base || r.address + r.size > end) return; // regions-inside-flash
    const f = regionField(i);
    const bad: string[] = [];
    if (!starts.has(r.address)) bad.push(`starts at ${hex(r.address, 8)}`);
    if (!ends.has(r.address + r.size)) bad.push(`ends at ${hex(r.address + r.size, 8)}`);
    if (bad.length > 0) {
      const around = sectors.find((s) => s.address <= r.address && r.address < s.address + s.size);
      const hint = around ? `; sector ${around.index} spans ${hex(around.address, 8)}-${hex(around.address + around.size - 1, 8)}` : '';
      out.push(problem(origin(f), f, rule, `region "${r.name}" ${bad.join(' and ')}, inside an erase unit${hint}`));
    }
  });
  return out;
}

/** No two regions share a byte. */
export function regionsDisjoint(board: Board, origin: Origin): Problem[] {
  const out: Problem[] = [];
  const rs = board.regions;
  for (let i = 0; i < rs.length; i++) {
    for (let j = i + 1; j < rs.length; j++) {
      if (overlaps(rs[i], rs[j])) {
        const f = regionField(j);
        out.push(problem(origin(f), f, 'regions-disjoint', `${regionLabel(board, j)} overlaps ${regionLabel(board, i)}`));
      }
    }
  }
  return out;
}

/** Region names are unique (they name backups and appear in reports). */
export function regionNamesUnique(board: Board, origin: Origin): Problem[] {
  const out: Problem[] = [];
  board.regions.forEach((r, i) => {
    const first = board.regions.findIndex((o) => o.name === r.name);
    if (first !== i) {
      const f = joinField(regionField(i), 'name');
      out.push(problem(origin(f), f, 'region-names-unique', `region name "${r.name}" is also used by regions[${first}]`));
    }
  });
  return out;
}

function overlaps(a: Range, b: Range): boolean {
  return a.address < b.address + b.size && b.address < a.address + a.size;
}

/** RAM is non-empty and `freeFrom` lies inside it. */
export function freeFromInsideRam(board: Board, origin: Origin): Problem[] {
  const { ram } = board;
  const rule = 'free-from-inside-ram';
  if (ram.size === 0) return [problem(origin('ram.size'), 'ram.size', rule, 'RAM size is 0')];
  const end = ram.base + ram.size;
  if (ram.freeFrom < ram.base || ram.freeFrom > end) {
    return [problem(origin('ram.freeFrom'), 'ram.freeFrom', rule, `${hex(ram.freeFrom, 8)} is outside the RAM (${hex(ram.base, 8)}-${hex(end - 1, 8)})`)];
  }
  return [];
}

// ---------------------------------------------------------------------------------------------
// The agent and its link (docs/agent.md)

type Catalog = { entries: AgentCatalogEntry[] } | { error: string };

function catalog(): Catalog {
  try {
    return { entries: agentCatalog() };
  } catch (err) {
    if (err instanceof ManifestError) return { error: err.message };
    throw err;
  }
}

/** The manifest entry of the board's agent kind, when the board has an agent and the kind is known. */
function agentEntry(board: Board): AgentCatalogEntry | null {
  if (board.agent === null) return null;
  const c = catalog();
  if ('error' in c) return null;
  return c.entries.find((e) => e.kind === board.agent!.binary) ?? null;
}

/** The board's agent kind is one of the committed binaries (agent/manifest.json). */
export function agentBinaryKnown(board: Board, origin: Origin): Problem[] {
  if (board.agent === null) return [];
  const f = 'agent.binary';
  const c = catalog();
  if ('error' in c) return [problem(origin(f), f, 'agent-binary-known', c.error)];
  if (c.entries.some((e) => e.kind === board.agent!.binary)) return [];
  return [problem(origin(f), f, 'agent-binary-known', `no agent of kind "${board.agent.binary}" in agent/manifest.json (kinds: ${c.entries.map((e) => e.kind).join(', ')})`)];
}

/** The board's load address is the binary's link address (the image runs only where it was linked). */
export function agentLoadMatches(board: Board, origin: Origin): Problem[] {
  const e = agentEntry(board);
  if (!e || e.load === board.agent!.load) return [];
  const f = 'agent.load';
  return [problem(origin(f), f, 'agent-load-matches', `${hex(board.agent!.load, 8)} is not where agent ${e.kind} is linked (${hex(e.load, 8)}); use "load": "${hex(e.load, 8)}"`)];
}

/** The agent is written above the RAM the bootloader keeps for itself. */
export function agentAboveBootloader(board: Board, origin: Origin): Problem[] {
  if (board.agent === null || board.agent.load >= board.ram.freeFrom) return [];
  const f = 'agent.load';
  return [problem(origin(f), f, 'agent-above-bootloader', `${hex(board.agent.load, 8)} is below ram.freeFrom ${hex(board.ram.freeFrom, 8)} (the bootloader uses that RAM)`)];
}

/**
 * The agent's image, its parameter block and the signature block after it, its linear memory and
 * stack all end below the binary's RAM end, and that lies inside the board's RAM.
 */
export function agentFitsRam(board: Board, origin: Origin): Problem[] {
  const e = agentEntry(board);
  if (!e) return [];
  const f = 'agent.binary';
  const rule = 'agent-fits-ram';
  const out: Problem[] = [];
  const ramEnd = board.ram.base + board.ram.size;
  if (e.ramEnd > ramEnd) out.push(problem(origin(f), f, rule, `agent ${e.kind} uses RAM up to ${hex(e.ramEnd, 8)}, past the end of this board's RAM (${hex(ramEnd, 8)})`));
  const blocksEnd = e.params + SIGNATURE_BLOCK_OFFSET + SIGNATURE_BLOCK_SIZE;
  if (e.params < e.load + e.size || blocksEnd > e.ramEnd) {
    out.push(problem(origin(f), f, rule, `agent ${e.kind}'s parameter block and signature block (${hex(e.params, 8)}-${hex(blocksEnd - 1, 8)}) do not lie between its image end ${hex(e.load + e.size, 8)} and its RAM end ${hex(e.ramEnd, 8)}`));
  }
  return out;
}

/** The binary was built for the board's core (Cortex-M3 code on an M4 would run; the reverse would fault). */
export function agentCoreMatches(board: Board, origin: Origin): Problem[] {
  const e = agentEntry(board);
  if (!e || e.core === board.core) return [];
  return [problem(origin('core'), 'core', 'agent-core-matches', `agent ${e.kind} is built for ${e.core}, the board says ${board.core}`)];
}

/** The binary's flash driver is for the board's flash interface. */
export function agentFlashInterfaceMatches(board: Board, origin: Origin): Problem[] {
  const e = agentEntry(board);
  if (!e || e.flashInterface === board.flashInterface) return [];
  return [problem(origin('flashInterface'), 'flashInterface', 'agent-flash-interface-matches', `agent ${e.kind} drives the ${e.flashInterface} flash interface, the board says ${board.flashInterface}`)];
}

/** A board with an agent says which USART and pins the bootloader used (the agent brings them up again). */
export function linkPresent(board: Board, origin: Origin): Problem[] {
  if (board.agent === null || board.link !== null) return [];
  return [problem(origin('link'), 'link', 'link-present', "the board has an agent but no link: give the bootloader's USART, its pins and RCC enables (AN2606)")];
}

/** TX and RX are pin numbers of one GPIO port: 0..15. */
export function linkPins(board: Board, origin: Origin): Problem[] {
  if (board.link === null) return [];
  const out: Problem[] = [];
  for (const key of ['tx', 'rx'] as const) {
    const f = `link.${key}`;
    if (board.link[key] > 15) out.push(problem(origin(f), f, 'link-pins', `pin ${board.link[key]}: a GPIO port has pins 0..15`));
  }
  if (board.link.tx === board.link.rx) out.push(problem(origin('link.rx'), 'link.rx', 'link-pins', `TX and RX are both pin ${board.link.tx}`));
  return out;
}

/** The alternate function number fits AFRL/AFRH's four bits: 0..15. */
export function linkAf(board: Board, origin: Origin): Problem[] {
  if (board.link === null || board.link.af <= 15) return [];
  return [problem(origin('link.af'), 'link.af', 'link-af', `alternate function ${board.link.af}: AFRL/AFRH hold 0..15`)];
}

/** Largest stretch of [from, to) not covered by any of `used`. */
export function largestGap(from: number, to: number, used: readonly Range[]): number {
  const sorted = [...used].sort((a, b) => a.address - b.address);
  let cursor = from;
  let best = 0;
  for (const u of sorted) {
    const start = Math.max(u.address, from);
    if (start > cursor) best = Math.max(best, Math.min(start, to) - cursor);
    cursor = Math.max(cursor, Math.min(u.address + u.size, to));
  }
  return Math.max(best, to - cursor);
}

/** Every timing figure is positive and typical <= max. */
export function timingsPositive(board: Board, origin: Origin): Problem[] {
  const rule = 'timings-positive';
  const out: Problem[] = [];
  const check = (field: string, typical: number, max: number, unit: string): void => {
    if (!(typical > 0)) out.push(problem(origin(field), field, rule, `typical time must be > 0 ${unit}, got ${typical}`));
    else if (max < typical) out.push(problem(origin(field), field, rule, `max time ${max} ${unit} is less than the typical ${typical} ${unit}`));
  };
  const { timing } = board;
  timing.erase.forEach((e, i) => {
    const f = joinField('timing.erase', i);
    if (e.unitBytes === 0) out.push(problem(origin(f), f, rule, 'unitBytes must be > 0'));
    check(f, e.typicalMs, e.maxMs, 'ms');
  });
  check('timing.massErase', timing.massErase.typicalMs, timing.massErase.maxMs, 'ms');
  if (timing.program.unitBytes === 0) out.push(problem(origin('timing.program'), 'timing.program', rule, 'unitBytes must be > 0'));
  check('timing.program', timing.program.typicalUs, timing.program.maxUs, 'µs');
  return out;
}

/** Every erase-unit size in the layout has exactly one erase timing. */
export function eraseTimingCoversUnits(board: Board, origin: Origin): Problem[] {
  const rule = 'erase-timing-covers-units';
  const out: Problem[] = [];
  const sizes = [...new Set(board.flash.sectors.map((r) => r.size))];
  for (const size of sizes) {
    const n = board.timing.erase.filter((e) => e.unitBytes === size).length;
    if (n === 0) out.push(problem(origin('timing.erase'), 'timing.erase', rule, `no erase timing for ${formatSize(size)} (${hex(size)}) units; add { "unitBytes": "${hex(size)}", "typicalMs": ..., "maxMs": ... }`));
    if (n > 1) out.push(problem(origin('timing.erase'), 'timing.erase', rule, `${n} erase timings for ${formatSize(size)} units; keep one`));
  }
  return out;
}

/** The program unit is a power of two and the program timing is given for that unit. */
export function programUnitValid(board: Board, origin: Origin): Problem[] {
  const rule = 'program-unit-valid';
  const unit = board.flash.programUnit;
  if (unit < 1 || (unit & (unit - 1)) !== 0) return [problem(origin('flash.programUnit'), 'flash.programUnit', rule, `${unit} is not a power of two`)];
  if (board.timing.program.unitBytes !== unit) {
    return [problem(origin('timing.program.unitBytes'), 'timing.program.unitBytes', rule, `program timing is for ${board.timing.program.unitBytes}-byte units but flash.programUnit is ${unit}`)];
  }
  return [];
}

/** The erase command is Erase (0x43) or Extended Erase (0x44), and its page numbers can address every unit. */
export function eraseCommandValid(board: Board, origin: Origin): Problem[] {
  const rule = 'erase-command-valid';
  const at = 'bootloader.eraseCommand';
  const cmd = board.bootloader.eraseCommand as number;
  const units = runsTotalCount(board);
  if (cmd !== 0x43 && cmd !== 0x44) {
    return [problem(origin(at), at, rule, `${hex(cmd, 2)} is not an erase command; use 0x43 (Erase, older parts) or 0x44 (Extended Erase)`)];
  }
  if (cmd === 0x43 && units > 256) {
    return [problem(origin(at), at, rule, `Erase (0x43) numbers pages with one byte, but the flash has ${units} erase units`)];
  }
  if (cmd === 0x44 && units > 0xfff0) {
    return [problem(origin(at), at, rule, `Extended Erase (0x44) numbers pages below 0xFFF0, but the flash has ${units} erase units`)];
  }
  return [];
}

function runsTotalCount(board: Board): number {
  return board.flash.sectors.reduce((n, r) => n + r.count, 0);
}

/** Reset sequences parse (docs/reset-sequences.md). */
export function resetSequenceValid(board: Board, origin: Origin): Problem[] {
  if (board.reset === null) return [];
  const out: Problem[] = [];
  for (const key of ['enter', 'exit'] as const) {
    const f = `reset.${key}`;
    try {
      parseResetSequence(board.reset[key]);
    } catch (e) {
      if (!(e instanceof ResetSequenceError)) throw e;
      out.push(problem(origin(f), f, 'reset-sequence-valid', e.message));
    }
  }
  return out;
}

/** The board rules in the order they run. */
export const BOARD_RULES: Readonly<Record<string, BoardRule>> = {
  'product-ids-valid': productIdsValid,
  'runs-tile-flash': runsTileFlash,
  'regions-inside-flash': regionsInsideFlash,
  'regions-aligned-to-erase-units': regionsAlignedToEraseUnits,
  'regions-disjoint': regionsDisjoint,
  'region-names-unique': regionNamesUnique,
  'free-from-inside-ram': freeFromInsideRam,
  'agent-binary-known': agentBinaryKnown,
  'agent-load-matches': agentLoadMatches,
  'agent-above-bootloader': agentAboveBootloader,
  'agent-fits-ram': agentFitsRam,
  'agent-core-matches': agentCoreMatches,
  'agent-flash-interface-matches': agentFlashInterfaceMatches,
  'link-present': linkPresent,
  'link-pins': linkPins,
  'link-af': linkAf,
  'timings-positive': timingsPositive,
  'erase-timing-covers-units': eraseTimingCoversUnits,
  'program-unit-valid': programUnitValid,
  'erase-command-valid': eraseCommandValid,
  'reset-sequence-valid': resetSequenceValid,
};

/** Run every board rule. */
export function checkBoard(board: Board, origin: Origin = () => board.source): Problem[] {
  return Object.values(BOARD_RULES).flatMap((rule) => rule(board, origin));
}

// ---------------------------------------------------------------------------------------------
// Suggestions

/** The known name closest to `name`, when it is close enough to be a likely typo. */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  const allowed = Math.max(2, Math.floor(name.length / 3));
  return bestDistance <= allowed ? best : undefined;
}

/** Levenshtein distance, with a transposition of neighbours counting as one edit. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[rows - 1][cols - 1];
}

/** Every rule name a BoardError can carry: the loader's, the file rules, required-fields and the board rules. */
export const RULE_NAMES: readonly string[] = [
  'file-readable',
  'json-syntax',
  'unknown-board',
  'inherits-unknown',
  'inherits-cycle',
  ...Object.keys(FILE_RULES),
  'not-a-board',
  'required-fields',
  ...Object.keys(BOARD_RULES),
];
