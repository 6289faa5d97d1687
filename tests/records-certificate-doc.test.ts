/**
 * docs/records.md lists every field of the certificate and every sentence it can print; these
 * tests hold that list and the code together, both ways, so that neither can drift silently.
 * The certificates are built from real emulated runs, which record the witness, the engine and the
 * flash sizes; a failed witness and a lying flash-size register come from emulator faults. Only a
 * part without a flash-size register is SIMULATED on top of a real outcome (no board file has one).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFaults } from '../host/emulator/faults';
import { METHOD_SPECS } from '../host/plan/methods';
import { eraseTerminal, type EraseOutcome } from '../host/session/erase';
import { buildCertificate, signCertificate, type CertificateInput } from '../host/records/certificate';
import { SENTENCES, say, sentencePattern, type SentenceId } from '../host/records/certificate-text';
import { parseOperatorConfig } from '../host/records/config';
import { ROOT, emulated, engineModule } from './helpers';

const DOC = readFileSync(join(ROOT, 'docs', 'records.md'), 'utf8');

/** The rows of the markdown table between `<!-- name:begin -->` and `<!-- name:end -->`, cells unescaped. */
function tableRows(name: string): string[][] {
  const begin = DOC.indexOf(`<!-- ${name}:begin -->`);
  const end = DOC.indexOf(`<!-- ${name}:end -->`);
  assert.ok(begin >= 0 && end > begin, `docs/records.md has the ${name} table markers`);
  return DOC.slice(begin, end)
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) =>
      l
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim().replace(/\\\|/g, '|')),
    );
}

interface FieldRow {
  types: Set<string>;
  source: string;
}

function fieldTable(): Map<string, FieldRow> {
  const out = new Map<string, FieldRow>();
  for (const [field, types, source] of tableRows('certificate-fields')) {
    const path = /^`([^`]+)`$/.exec(field)?.[1];
    assert.ok(path, `field cell ${field}`);
    assert.ok(!out.has(path), `${path} listed twice`);
    out.set(path, { types: new Set(types.split(' or ')), source });
  }
  return out;
}

function jsonType(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** Every key path of a document, `[]` for array elements; a documented `map` is not descended into. */
function paths(doc: unknown, table: Map<string, FieldRow>): Map<string, unknown[]> {
  const out = new Map<string, unknown[]>();
  const walk = (v: unknown, p: string): void => {
    out.set(p, [...(out.get(p) ?? []), v]);
    if (table.get(p)?.types.has('map')) return;
    if (Array.isArray(v)) v.forEach((x) => walk(x, `${p}[]`));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (x !== undefined) walk(x, `${p}.${k}`);
  };
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) walk(v, k);
  return out;
}

async function outcomeOf(
  boardId: string,
  o: { faults?: string[]; rdp?: 1 } = {},
): Promise<{ outcome: EraseOutcome; input: Omit<CertificateInput, 'outcome'> }> {
  const { board, transport } = emulated(boardId, { ...(o.faults ? { faults: parseFaults(o.faults) } : {}), ...(o.rdp ? { rdp: 1 as const } : {}) });
  const outcome = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', unlock: o.rdp === 1, module: engineModule() });
  const operator = parseOperatorConfig(JSON.stringify({ operator: { name: 'Dana Whitfield' }, notes: 'n' }), 'poswipe.json');
  const backup = {
    taken: true,
    path: '/b/x.pwbk',
    sha256: 'ab'.repeat(32),
    encryption: 'age X25519',
    regions: [{ name: 'config', address: 0x0800c000, size: 16384, sha256: 'cd'.repeat(32) }],
    note: say('backupTaken', { names: 'config' }),
  };
  return { outcome, input: { board, operator, backup, started: new Date(0), ended: new Date(1000), command: 'erase' } };
}

/** Certificates covering every branch of the builder: agent and bootloader paths, unlock, all optional fields, a failed run. */
async function documents(): Promise<unknown[]> {
  const key = generateKeyPairSync('ed25519').privateKey;
  const signed = (i: CertificateInput): unknown => JSON.parse(signCertificate(buildCertificate(i), key));
  const acme = await outcomeOf('acme-t400');
  // a lying terminal (its digests match; the witness reads unerased chunks) whose flash-size register under-reports
  const lying = await outcomeOf('acme-t400', { faults: ['fake-digests', 'flash-size=512'] });
  assert.equal(lying.outcome.witness?.ok, false);
  assert.equal(lying.outcome.flashSize.register, 524288);
  const f103 = await outcomeOf('stm32f103xb');
  const unlocked = await outcomeOf('acme-t400', { rdp: 1 });
  const failed = await outcomeOf('stm32f407', { faults: ['stuck@0x08012345'] });
  assert.equal(failed.outcome.verified, false);
  return [
    signed({ ...acme.input, outcome: acme.outcome }),
    { certificate: buildCertificate({ ...lying.input, outcome: lying.outcome }) },
    signed({ ...f103.input, outcome: f103.outcome }),
    // SIMULATED: a part without a readable flash-size register
    signed({
      ...f103.input,
      outcome: { ...f103.outcome, flashSize: { register: null, boardFile: 131072, found: 131072, planned: 131072, probe: 'read-memory' } },
    }),
    signed({ ...unlocked.input, outcome: unlocked.outcome }),
    // a failed run's certificate object is what its (unsigned) failure PDF renders
    { certificate: buildCertificate({ ...failed.input, outcome: failed.outcome }) },
  ];
}

let docsCache: Promise<unknown[]> | null = null;
const generated = (): Promise<unknown[]> => (docsCache ??= documents());

test('docs/records.md lists every field of the certificate, and every field it lists is produced, with the types it says', async () => {
  const table = fieldTable();
  const seen = new Map<string, unknown[]>();
  for (const d of await generated()) for (const [p, vs] of paths(d, table)) seen.set(p, [...(seen.get(p) ?? []), ...vs]);
  const undocumented = [...seen.keys()].filter((p) => !table.has(p));
  assert.deepEqual(undocumented, [], 'fields the code writes that docs/records.md does not list');
  const unproduced = [...table.keys()].filter((p) => !seen.has(p));
  assert.deepEqual(unproduced, [], 'fields docs/records.md lists that no certificate has');
  for (const [p, vs] of seen) {
    const types = table.get(p)!.types;
    for (const v of vs) {
      const t = jsonType(v);
      assert.ok(types.has(t) || (t === 'object' && types.has('map')), `${p}: a ${t} (${JSON.stringify(v)?.slice(0, 60)}), docs say ${[...types].join(' or ')}`);
    }
  }
});

test('docs/records.md lists every sentence of certificate-text.ts word for word, and nothing else', () => {
  const rows = tableRows('certificate-sentences');
  const doc = new Map(rows.map(([id, text, when]) => [/^`(\w+)`$/.exec(id)?.[1] ?? id, { text, when }]));
  assert.deepEqual([...doc.keys()].sort(), Object.keys(SENTENCES).sort());
  for (const [id, s] of Object.entries(SENTENCES)) {
    assert.equal(doc.get(id)!.text, s.text, `sentence ${id}`);
    assert.equal(doc.get(id)!.when, s.when, `condition of sentence ${id}`);
  }
});

test('every sentence field of a generated certificate is one of the sentences its row in docs/records.md names', async () => {
  const table = fieldTable();
  const ids = Object.keys(SENTENCES) as SentenceId[];
  let checked = 0;
  for (const d of await generated()) {
    for (const [p, vs] of paths(d, table)) {
      const row = table.get(p);
      if (!row) continue; // undocumented: the first test names it
      const named = ids.filter((id) => row.source.includes(`\`${id}\``));
      if (!named.length) continue;
      for (const v of vs) {
        if (v === null) continue;
        const methodOwn = p.endsWith('.methodDetails') && Object.values(METHOD_SPECS).some((m) => m.description === v);
        const ok = methodOwn || named.some((id) => sentencePattern(id).test(String(v)));
        assert.ok(ok, `${p} = ${JSON.stringify(v)} is none of ${named.join(', ')}`);
        checked++;
      }
    }
  }
  assert.ok(checked > 40, `sentence fields checked (${checked})`);
});
