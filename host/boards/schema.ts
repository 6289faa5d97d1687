/**
 * The shape of a board file (boards/*.json) as data, and the helpers that turn its text values
 * (hex-string addresses, sizes written either way) into numbers.
 *
 * One description, `BOARD_FILE`, drives the known-fields, field-types and required-fields rules
 * and the conversion of a file into numbers, so the four can never disagree.
 */

import { BoardError } from './errors';
import { CORE_KINDS, FLASH_INTERFACES } from './types';

/** How a single value is written in a board file. */
export type ValueKind =
  | 'id' // board id: lower-case letters, digits, '-', '_' and '.'
  | 'string' // non-empty text
  | 'bool'
  | 'address' // hex string, 32 bits: "0x08000000"
  | 'size' // byte count: hex string or non-negative integer (written back in hex)
  | 'count' // small count, also of bytes: non-negative integer or hex string (written back as an integer)
  | 'byte' // 0..255: hex string or integer
  | 'pid' // product ID: hex string, 16 bits
  | 'mask' // bit mask: hex string, 32 bits (written back in hex, unpadded)
  | 'time'; // milliseconds or microseconds: non-negative JSON number, fractions allowed

export type Spec =
  | { type: 'value'; kind: ValueKind; nullable?: boolean }
  | { type: 'enum'; values: readonly string[]; nullable?: boolean }
  | { type: 'object'; fields: Readonly<Record<string, FieldSpec>>; nullable?: boolean }
  | { type: 'array'; of: Spec; length?: number; nullable?: boolean };

export interface FieldSpec {
  spec: Spec;
  /** must be present once the board is resolved (inside an object: whenever that object is present) */
  required: boolean;
  /** belongs to the file itself and is never inherited */
  perFile?: boolean;
}

const value = (kind: ValueKind, nullable = false): Spec => ({ type: 'value', kind, nullable });
const object = (fields: Record<string, FieldSpec>, nullable = false): Spec => ({ type: 'object', fields, nullable });
const array = (of: Spec, length?: number): Spec => ({ type: 'array', of, length });
const req = (spec: Spec): FieldSpec => ({ spec, required: true });

const range = (): Spec => object({ address: req(value('address')), size: req(value('size')) });
const clockEnable = (): Spec => object({ register: req(value('address')), mask: req(value('mask')) });
const timeRange = (): Spec => object({ typicalMs: req(value('time')), maxMs: req(value('time')) });

export const REGION_KINDS = ['keys', 'protected', 'data'] as const;
export const FILE_KINDS = ['board', 'family'] as const;

/** Every field a board or family file may hold. */
export const BOARD_FILE: { type: 'object'; fields: Readonly<Record<string, FieldSpec>> } = {
  type: 'object',
  fields: {
    kind: { spec: { type: 'enum', values: FILE_KINDS }, required: false, perFile: true },
    id: { spec: value('id'), required: true, perFile: true },
    inherits: { spec: value('id'), required: false, perFile: true },
    name: { spec: value('string'), required: true, perFile: true },
    description: { spec: value('string'), required: false, perFile: true },
    productIds: req(array(value('pid'))),
    flash: req(
      object({
        base: req(value('address')),
        size: req(value('size')),
        sectors: req(array(object({ count: req(value('count')), size: req(value('size')) }))),
        banks: req(array(range())),
        erasedValue: req(value('byte')),
        programUnit: req(value('count')),
        sizeRegister: req(value('address', true)),
      }),
    ),
    ram: req(object({ base: req(value('address')), size: req(value('size')), freeFrom: req(value('address')) })),
    systemMemory: req(range()),
    optionBytes: req(array(range())),
    otp: req({ ...range(), nullable: true }),
    uniqueId: req(object({ address: req(value('address')), bytes: req(value('count')) })),
    bootloader: req(
      object({
        version: req(value('byte')),
        eraseCommand: req(value('byte')),
        getChecksum: req(value('bool')),
        optionBytes: req(array(value('byte'), 2)),
        rdp: req(object({ level0: req(value('byte')), level2: req(value('byte', true)) })),
      }),
    ),
    timing: req(
      object({
        erase: req(array(object({ unitBytes: req(value('size')), typicalMs: req(value('time')), maxMs: req(value('time')) }))),
        massErase: req(timeRange()),
        program: req(object({ unitBytes: req(value('count')), typicalUs: req(value('time')), maxUs: req(value('time')) })),
      }),
    ),
    core: req({ type: 'enum', values: CORE_KINDS }),
    flashInterface: req({ type: 'enum', values: FLASH_INTERFACES }),
    agent: req(object({ binary: req(value('id')), load: req(value('address')) }, true)),
    link: req(
      object(
        {
          usart: req(value('address')),
          usartClock: req(clockEnable()),
          gpio: req(value('address')),
          gpioClock: req(clockEnable()),
          tx: req(value('count')),
          rx: req(value('count')),
          af: req(value('count')),
          resetClockHz: req(value('count')),
        },
        true,
      ),
    ),
    regions: req(
      array(
        object({
          name: req(value('string')),
          kind: req({ type: 'enum', values: REGION_KINDS }),
          address: req(value('address')),
          size: req(value('size')),
        }),
      ),
    ),
    reset: req(object({ enter: req(value('string')), exit: req(value('string')) }, true)),
  },
};

// ---------------------------------------------------------------------------------------------
// Values

export type Parsed<T> = { ok: true; value: T } | { ok: false; expected: string };

const HEX = /^0x[0-9a-fA-F]+$/;
const ID = /^[a-z0-9][a-z0-9._-]*$/;

/** "0x..." to a number no larger than `max`. */
export function parseHex(text: string, max: number): number | undefined {
  if (!HEX.test(text)) return undefined;
  const digits = text.slice(2).replace(/^0+(?=.)/, '');
  if (digits.length > 13) return undefined; // beyond any limit we use; keeps the result exact
  const n = parseInt(digits, 16);
  return n <= max ? n : undefined;
}

function hexOrInteger(v: unknown, max: number): number | undefined {
  if (typeof v === 'string') return parseHex(v, max);
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= max) return v;
  return undefined;
}

const U32 = 0xffffffff;

const EXPECTED: Record<ValueKind, string> = {
  id: 'an id of lower-case letters, digits, "-", "_" or "." such as "stm32f407"',
  string: 'a non-empty string',
  bool: 'true or false',
  address: 'an address as a hex string such as "0x08000000" (at most 0xFFFFFFFF)',
  size: 'a size in bytes, as a hex string such as "0x4000" or a non-negative integer',
  count: 'a count, as a non-negative integer or a hex string',
  byte: 'a byte value, as a hex string such as "0xFF" or an integer 0..255',
  pid: 'a product ID as a hex string such as "0x413"',
  mask: 'a bit mask as a hex string such as "0x10" (at most 0xFFFFFFFF)',
  time: 'a non-negative number',
};

/** Parse one value of the given kind. */
export function parseValue(kind: ValueKind, v: unknown): Parsed<number | string | boolean> {
  let out: number | string | boolean | undefined;
  switch (kind) {
    case 'id':
      out = typeof v === 'string' && ID.test(v) ? v : undefined;
      break;
    case 'string':
      out = typeof v === 'string' && v.trim() !== '' ? v : undefined;
      break;
    case 'bool':
      out = typeof v === 'boolean' ? v : undefined;
      break;
    case 'address':
    case 'mask':
      out = typeof v === 'string' ? parseHex(v, U32) : undefined;
      break;
    case 'size':
    case 'count':
      out = hexOrInteger(v, U32 + 1);
      break;
    case 'byte':
      out = hexOrInteger(v, 0xff);
      break;
    case 'pid':
      out = typeof v === 'string' ? parseHex(v, 0xffff) : undefined;
      break;
    case 'time':
      out = typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
      break;
  }
  return out === undefined ? { ok: false, expected: EXPECTED[kind] } : { ok: true, value: out };
}

/**
 * Parse one value outside a whole-file walk (a command-line address, a field read by hand);
 * throws a BoardError (rule field-types) naming `file` and `field`.
 */
export function parseField(kind: 'address' | 'size' | 'count' | 'byte' | 'pid' | 'mask', v: unknown, file: string, field: string): number;
export function parseField(kind: ValueKind, v: unknown, file: string, field: string): number | string | boolean;
export function parseField(kind: ValueKind, v: unknown, file: string, field: string): number | string | boolean {
  const p = parseValue(kind, v);
  if (p.ok) return p.value;
  throw new BoardError([{ file, field, rule: 'field-types', explanation: `expected ${p.expected}, got ${preview(v)}` }]);
}

// ---------------------------------------------------------------------------------------------
// Walking a file against the description

/** What a walk reports; both callbacks are optional. */
export interface WalkReport {
  unknownField?(field: string, key: string, known: readonly string[]): void;
  wrongType?(field: string, expected: string, got: unknown): void;
}

/** `a.b`, `a[2]` */
export function joinField(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What a field expects, in words. */
export function describeSpec(spec: Spec): string {
  let s: string;
  switch (spec.type) {
    case 'value':
      s = EXPECTED[spec.kind];
      break;
    case 'enum':
      s = 'one of ' + spec.values.map((v) => JSON.stringify(v)).join(', ');
      break;
    case 'object':
      s = 'an object';
      break;
    case 'array':
      s = spec.length === undefined ? 'an array' : `an array of ${spec.length} items`;
      break;
  }
  return spec.nullable ? `${s}, or null` : s;
}

/**
 * Convert `v` according to `spec`: hex strings become numbers, unknown keys are dropped and
 * reported, values of the wrong type are reported and left out (undefined).
 */
export function convert(v: unknown, spec: Spec, field: string, report: WalkReport = {}): unknown {
  if (v === null) {
    if (spec.nullable) return null;
    report.wrongType?.(field, describeSpec(spec), v);
    return undefined;
  }
  switch (spec.type) {
    case 'value': {
      const p = parseValue(spec.kind, v);
      if (p.ok) return p.value;
      report.wrongType?.(field, describeSpec(spec), v);
      return undefined;
    }
    case 'enum':
      if (typeof v === 'string' && spec.values.includes(v)) return v;
      report.wrongType?.(field, describeSpec(spec), v);
      return undefined;
    case 'array': {
      if (!Array.isArray(v) || (spec.length !== undefined && v.length !== spec.length)) {
        report.wrongType?.(field, describeSpec(spec), v);
        return undefined;
      }
      return v.map((item, i) => convert(item, spec.of, joinField(field, i), report));
    }
    case 'object': {
      if (!isPlainObject(v)) {
        report.wrongType?.(field, describeSpec(spec), v);
        return undefined;
      }
      const known = Object.keys(spec.fields);
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(v)) {
        const f = Object.prototype.hasOwnProperty.call(spec.fields, key) ? spec.fields[key] : undefined; // not "constructor", "__proto__"…
        if (f === undefined) {
          report.unknownField?.(joinField(field, key), key, known);
          continue;
        }
        const c = convert(item, f.spec, joinField(field, key), report);
        if (c !== undefined) out[key] = c;
      }
      return out;
    }
  }
}

/** A board file with its values converted to numbers (unknown and ill-typed fields left out). */
export function convertFile(raw: unknown): Record<string, unknown> {
  const c = convert(raw, BOARD_FILE, '');
  return isPlainObject(c) ? c : {};
}

/** The fields of a file that are never inherited. */
export const PER_FILE_FIELDS: readonly string[] = Object.entries(BOARD_FILE.fields)
  .filter(([, f]) => f.perFile === true)
  .map(([k]) => k);

/** Show a JSON value briefly in an explanation. */
export function preview(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 40 ? s.slice(0, 37) + '...' : s;
}

export { isPlainObject };
