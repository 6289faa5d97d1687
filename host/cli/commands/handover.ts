import { createHash, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { EXIT, InputError } from '../../errors';
import { newRow } from '../../records/audit';
import { openAuditStore } from '../../records/audit-store';
import { loadOperatorConfig } from '../../records/config';
import { detachedPaths } from '../../records/detached';
import { writeSignedRecord } from '../../records/erase-records';
import { buildHandover } from '../../records/handover';
import { renderHandoverPdf } from '../../records/handover-pdf';
import { benchKey, loadPrivateKey } from '../../records/keys';
import { signDocument } from '../../records/signed-document';
import { act, out } from '../common';

const log = (l: string): void => void process.stderr.write(l + '\n');

/** An ISO 8601 time from an option, normalised to UTC with milliseconds (the audit log's form). */
export function isoOption(v: string | undefined, name: string): string | null {
  if (v === undefined) return null;
  const t = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(t))
    throw new InputError(`${name} ${v}: expected an ISO 8601 time, e.g. 2026-01-02 or 2026-01-02T03:04:05Z`);
  return new Date(t).toISOString();
}

function signingKey(o: { signKey?: string }, configKey: string | undefined): KeyObject {
  const path = o.signKey ?? configKey;
  if (path) return loadPrivateKey(path, 'ed25519', o.signKey ? '--sign-key' : 'signKey');
  const bench = benchKey('signing');
  if (bench.created) log(`poswipe: created the bench signing key ${bench.privatePath}; manifests verify with its public key ${bench.publicPath}`);
  return bench.privateKey;
}

async function cmdHandover(o: {
  since?: string;
  until?: string;
  out: string;
  json?: boolean;
  signKey?: string;
  auditDb?: string;
  auditUrl?: string;
  operatorConfig?: string;
  operatorName?: string;
}): Promise<number> {
  const since = isoOption(o.since, '--since');
  const until = isoOption(o.until, '--until');
  if (since && until && since >= until) throw new InputError(`--since ${o.since} is not before --until ${o.until}`);
  const pdfPath = resolve(o.out);
  if (!/\.pdf$/i.test(pdfPath)) throw new InputError(`--out ${o.out}: the manifest's PDF must end in .pdf (its JSON is written beside it)`);
  const jsonPath = pdfPath.replace(/\.pdf$/i, '.json');
  const detached = detachedPaths(jsonPath);
  for (const p of [pdfPath, jsonPath, detached.canonical, detached.sig])
    if (existsSync(p)) throw new InputError(`${p} already exists: a manifest is never overwritten`);
  const { config } = loadOperatorConfig(o.operatorConfig);
  const key = signingKey(o, config.signKey);
  const store = await openAuditStore(o, config, log);
  let rows;
  try {
    rows = await store.list({ since: since ?? undefined, until: until ?? undefined });
  } finally {
    await store.close();
  }
  const body = buildHandover({
    rows,
    since,
    until,
    source: store.source,
    bench: newRow('handover').host,
    operator: o.operatorName ?? config.operator.name ?? null,
  });
  const text = signDocument('handover', body, key);
  const jsonSha256 = createHash('sha256').update(text).digest('hex');
  // the PDF and the detached signature first: no signed manifest is left by a write that fails
  writeSignedRecord({ jsonPath, text, pdfPath, pdf: await renderHandoverPdf({ document: JSON.parse(text), jsonName: basename(jsonPath), jsonSha256 }) });
  const counts = body.counts as { terminals: number; sanitized: number; notSanitized: number };
  if (o.json) out(text);
  else {
    out(
      `HANDOVER: ${counts.terminals} terminal(s), ${counts.sanitized} sanitized, ${counts.notSanitized} not sanitized (${since ?? 'the start'} to ${until ?? 'now'}, from ${store.source})`,
    );
    out(`  manifest ${jsonPath} (signed) and ${pdfPath}`);
    for (const l of body.terminals as Record<string, unknown>[])
      out(
        `  ${String(l.board).padEnd(12)} ${String(l.uid).padEnd(24)} ${l.result === 'ok' ? 'SANITIZED' : `NOT SANITIZED (${String(l.result)})`}  ${String(l.certificate_id ?? '-')}  ${String(l.ended)}  ${String(l.host)}`,
      );
  }
  return EXIT.OK;
}

export function register(program: Command): void {
  program
    .command('handover')
    .description('a signed manifest (JSON + PDF) of every terminal erased in a time window, from the audit log (the fleet server with --audit-url)')
    .option('--since <ISO time>', 'runs that ended at or after this time')
    .option('--until <ISO time>', 'runs that ended before this time')
    .requiredOption('--out <file.pdf>', 'the PDF; the signed JSON is written beside it (<file>.json, .canonical.json, .sig); never overwritten')
    .option('--json', 'print the signed manifest (the JSON file) on stdout')
    .option('--sign-key <key.pem>', 'Ed25519 private key that signs it (default: the bench signing key)')
    .option('--operator-name <name>', 'who prepares the handover (default: operator.name in poswipe.json)')
    .option('--operator-config <file>', 'operator settings (default: poswipe.json in the config directory)')
    .option('--audit-db <file>', 'audit database (default: $POSWIPE_AUDIT_DB, else audit.sqlite in the config directory)')
    .option('--audit-url <postgres://…>', "the fleet's PostgreSQL audit store (default: $POSWIPE_AUDIT_URL, else auditUrl in poswipe.json)")
    .action(act(async (o) => cmdHandover(o)));
}
