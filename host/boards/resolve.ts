/**
 * `inherits` resolution: follow a file's chain of parents (with cycle detection) and merge the
 * files into one object, most general first. Objects merge field by field, at any depth; arrays,
 * scalars and null replace what the parent had. Fields that belong to a file itself (kind, id,
 * inherits, name, description) are never inherited.
 *
 * No I/O here: the caller supplies `lookup`, which finds a parent file by id.
 */
import { type Problem } from './errors';
import { PER_FILE_FIELDS, isPlainObject, joinField } from './schema';

export interface BoardFile {
  /** absolute path */
  file: string;
  /** the parsed JSON, as written */
  raw: unknown;
}

/** Finds the file that declares `id`, searching relative to the file that asks for it. */
export type Lookup = (id: string, from: BoardFile) => BoardFile | undefined;

/** The id a file's `inherits` names, when it is a string (field-types reports anything else). */
function parentId(f: BoardFile): string | undefined {
  if (!isPlainObject(f.raw)) return undefined;
  const p = f.raw.inherits;
  return typeof p === 'string' ? p : undefined;
}

function ownId(f: BoardFile): string {
  if (isPlainObject(f.raw) && typeof f.raw.id === 'string') return f.raw.id;
  return f.file;
}

/**
 * The chain of files from `start` up through its parents, returned most general first (the
 * start file last). Problems: `inherits-unknown`, `inherits-cycle`.
 */
export function resolveChain(start: BoardFile, lookup: Lookup): { chain: BoardFile[]; problems: Problem[] } {
  const chain: BoardFile[] = [start];
  const seen = new Set<string>([start.file]);
  let current = start;
  for (;;) {
    const id = parentId(current);
    if (id === undefined) break;
    const parent = lookup(id, current);
    if (parent === undefined) {
      return {
        chain: chain.reverse(),
        problems: [
          {
            file: current.file,
            field: 'inherits',
            rule: 'inherits-unknown',
            explanation: `no board or family file with id "${id}" next to this file or in the boards directory`,
          },
        ],
      };
    }
    if (seen.has(parent.file)) {
      const loop = [...chain.map(ownId), ownId(parent)].join(' -> ');
      return {
        chain: chain.reverse(),
        problems: [
          { file: current.file, field: 'inherits', rule: 'inherits-cycle', explanation: `inheritance goes round in a circle: ${loop}` },
        ],
      };
    }
    seen.add(parent.file);
    chain.push(parent);
    current = parent;
  }
  return { chain: chain.reverse(), problems: [] };
}

/** Which file supplied a field of the merged object. */
export type Origin = (field: string) => string;

export interface Merged {
  value: Record<string, unknown>;
  origin: Origin;
}

/**
 * Merge converted files (most general first). The last file's per-file fields are kept; other
 * files' per-file fields are dropped.
 */
export function mergeFiles(files: { file: string; data: Record<string, unknown> }[]): Merged {
  if (files.length === 0) throw new Error('mergeFiles needs at least one file');
  // leaf field (scalar, array or null) -> index of the file that set it
  const origins = new Map<string, number>();
  let value: Record<string, unknown> = {};
  files.forEach(({ data }, i) => {
    const last = i === files.length - 1;
    const own: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(data)) {
      if (PER_FILE_FIELDS.includes(k) && !last) continue;
      own[k] = v;
    }
    value = mergeInto(value, own, '', i, origins);
  });
  const leaf = files.length - 1;
  const origin: Origin = (field) => {
    // The leaf at or above `field`, else the most specific file that set anything below it,
    // else (a missing field) the file being loaded.
    for (let f = field; f !== ''; f = parentField(f)) {
      const o = origins.get(f);
      if (o !== undefined) return files[o].file;
    }
    let best = -1;
    for (const [f, o] of origins) if (isBelow(f, field) && o > best) best = o;
    return files[best >= 0 ? best : leaf].file;
  };
  return { value, origin };
}

function isBelow(f: string, field: string): boolean {
  return f.startsWith(field + '.') || f.startsWith(field + '[');
}

function parentField(field: string): string {
  const m = /^(.*)(\.[^.[\]]+|\[\d+\])$/.exec(field);
  return m ? m[1] : '';
}

function record(v: unknown, field: string, fileIndex: number, origins: Map<string, number>): void {
  if (isPlainObject(v)) {
    for (const [k, item] of Object.entries(v)) record(item, joinField(field, k), fileIndex, origins);
  } else {
    origins.set(field, fileIndex);
  }
}

function mergeInto(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
  at: string,
  fileIndex: number,
  origins: Map<string, number>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const field = joinField(at, k);
    const b = out[k];
    if (isPlainObject(v) && isPlainObject(b)) {
      out[k] = mergeInto(b, v, field, fileIndex, origins);
    } else {
      // Replaced wholesale: forget where the old value's parts came from.
      origins.delete(field);
      for (const f of [...origins.keys()]) if (isBelow(f, field)) origins.delete(f);
      out[k] = v;
      record(v, field, fileIndex, origins);
    }
  }
  return out;
}
