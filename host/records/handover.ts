/**
 * The handover manifest (docs/records.md): every terminal of a batch — the erase runs that ended
 * in a time window, one line per terminal (its last run in the window) — signed with the bench key
 * like a certificate, written as JSON (with its detached signature, detached.ts) beside a PDF.
 *
 * Its columns are the audit log's, named as in `audit export --csv`, so that finance can match
 * the two: board, pid, uid, result, certificate_id, ended, operator, host (the bench).
 */
import { randomUUID } from 'node:crypto';
import type { AuditRow } from './audit-row';
import type { Check } from './certificate';

export const HANDOVER_FORMAT = 'poswipe-handover';
export const HANDOVER_VERSION = 1;
/** the runs that erase a terminal */
export const ERASE_COMMANDS = ['erase', 'flash', 'station'];

/** [CSV column, row field] */
export const HANDOVER_COLUMNS: [string, keyof AuditRow][] = [
  ['board', 'board'],
  ['pid', 'pid'],
  ['uid', 'uid'],
  ['result', 'result'],
  ['certificate_id', 'certificateId'],
  ['ended', 'ended'],
  ['operator', 'operator'],
  ['host', 'host'],
];

export type HandoverLine = Record<string, string | number | null>;

/** One line per terminal: its last erase run among `rows` (runs that never identified a terminal are counted, not listed). */
export function handoverLines(rows: AuditRow[]): { lines: HandoverLine[]; unidentified: number } {
  const last = new Map<string, { row: AuditRow; runs: number }>();
  let unidentified = 0;
  for (const r of rows) {
    if (!ERASE_COMMANDS.includes(r.command)) continue;
    if (!r.uid) {
      unidentified++;
      continue;
    }
    const key = `${r.board ?? ''}/${r.uid}`;
    const had = last.get(key);
    if (!had) last.set(key, { row: r, runs: 1 });
    else last.set(key, { row: r.ended >= had.row.ended ? r : had.row, runs: had.runs + 1 });
  }
  const lines = [...last.values()]
    .sort((a, b) => (a.row.ended < b.row.ended ? -1 : a.row.ended > b.row.ended ? 1 : 0))
    .map(({ row, runs }) => {
      const line: HandoverLine = {};
      for (const [col, k] of HANDOVER_COLUMNS) line[col] = (row[k] as string | null) ?? null;
      line.runs = runs;
      return line;
    });
  return { lines, unidentified };
}

export interface HandoverInput {
  rows: AuditRow[];
  since: string | null;
  until: string | null;
  /** where the rows were read: "postgres …" or "sqlite …" */
  source: string;
  bench: string;
  operator: string | null;
  created?: Date;
}

/** The manifest body (unsigned). */
export function buildHandover(i: HandoverInput): Record<string, unknown> {
  const { lines, unidentified } = handoverLines(i.rows);
  const sanitized = lines.filter((l) => l.result === 'ok').length;
  return {
    format: HANDOVER_FORMAT,
    version: HANDOVER_VERSION,
    id: randomUUID(),
    title: 'Handover manifest',
    created: (i.created ?? new Date()).toISOString(),
    window: { since: i.since, until: i.until, on: 'ended (since inclusive, until exclusive)' },
    preparedBy: { bench: i.bench, operator: i.operator },
    source: i.source,
    columns: [...HANDOVER_COLUMNS.map(([c]) => c), 'runs'],
    terminals: lines,
    counts: { terminals: lines.length, sanitized, notSanitized: lines.length - sanitized, runsWithoutTerminal: unidentified },
  };
}

/** The checks of a manifest's body, beyond its signature (cert verify). */
export function checkHandoverBody(body: Record<string, unknown>): Check[] {
  const terminals = Array.isArray(body.terminals) ? body.terminals : null;
  const counts = (typeof body.counts === 'object' && body.counts !== null ? body.counts : {}) as Record<string, unknown>;
  return [
    {
      name: 'handover.format',
      ok: body.format === HANDOVER_FORMAT && body.version === HANDOVER_VERSION,
      detail: `${String(body.format)} version ${String(body.version)}`,
    },
    {
      name: 'handover.counts',
      ok: terminals !== null && counts.terminals === terminals.length,
      detail: terminals === null ? 'terminals is not a list' : `${terminals.length} terminal(s), counts say ${String(counts.terminals)}`,
    },
  ];
}
