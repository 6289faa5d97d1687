/**
 * Deterministic JSON: object keys sorted by UTF-16 code units, strings and numbers as
 * ECMAScript's JSON.stringify writes them (RFC 8785, the JSON Canonicalization Scheme, for the
 * values poswipe writes). `canonicalJson` has no whitespace (what is signed); `prettyJson` is the
 * same with a two-space indent and a final newline (what is written to a file).
 */

function key(k: string): string {
  return JSON.stringify(k);
}

function scalar(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError(`canonical JSON: ${v} is not a finite number`);
    return JSON.stringify(v);
  }
  if (typeof v === 'string') return JSON.stringify(v);
  throw new TypeError(`canonical JSON: a ${typeof v} is not a JSON value`);
}

function entries(o: Record<string, unknown>): [string, unknown][] {
  return Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => [k, o[k]]);
}

function write(v: unknown, indent: string | null, depth: number): string {
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    const items = v.map((x) => write(x === undefined ? null : x, indent, depth + 1));
    if (indent === null) return `[${items.join(',')}]`;
    const pad = indent.repeat(depth + 1);
    return `[\n${items.map((i) => pad + i).join(',\n')}\n${indent.repeat(depth)}]`;
  }
  if (typeof v === 'object' && v !== null) {
    const es = entries(v as Record<string, unknown>);
    if (es.length === 0) return '{}';
    const items = es.map(([k, x]) => `${key(k)}:${indent === null ? '' : ' '}${write(x, indent, depth + 1)}`);
    if (indent === null) return `{${items.join(',')}}`;
    const pad = indent.repeat(depth + 1);
    return `{\n${items.map((i) => pad + i).join(',\n')}\n${indent.repeat(depth)}}`;
  }
  return scalar(v);
}

export function canonicalJson(v: unknown): string {
  return write(v, null, 0);
}

export function prettyJson(v: unknown): string {
  return write(v, '  ', 0) + '\n';
}
