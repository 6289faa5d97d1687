import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers';
import { noOpenssl, opensslVerify } from './openssl';

function bench(): { dir: string; cfg: string; run: (args: string[], env?: NodeJS.ProcessEnv) => ReturnType<typeof runCli> } {
  const dir = mkdtempSync(join(tmpdir(), 'poswipe-handover-'));
  const cfg = join(dir, 'cfg');
  const env = {
    POSWIPE_CONFIG_DIR: cfg,
    POSWIPE_AUDIT_DB: '',
    POSWIPE_AUDIT_URL: '',
    POSWIPE_BACKUP_PASSPHRASE: '',
    XDG_CONFIG_HOME: join(dir, 'xdg'),
    POSWIPE_BENCH: 'bench-a',
  };
  return { dir, cfg, run: (args, extra = {}) => runCli(args, { cwd: dir, env: { ...env, ...extra } }) };
}

/** RFC 4180 CSV as audit export writes it (no quoted newlines in these rows). */
function parseCsv(text: string): Record<string, string>[] {
  const split = (l: string): string[] => {
    const out: string[] = [];
    let cur = '';
    let q = false;
    for (let i = 0; i < l.length; i++) {
      const c = l[i];
      if (q) {
        if (c === '"' && l[i + 1] === '"') {
          cur += '"';
          i++;
        } else if (c === '"') q = false;
        else cur += c;
      } else if (c === '"') q = true;
      else if (c === ',') {
        out.push(cur);
        cur = '';
      } else cur += c;
    }
    out.push(cur);
    return out;
  };
  const [head, ...lines] = text.split('\r\n').filter((l) => l !== '');
  const cols = split(head);
  return lines.map((l) => Object.fromEntries(split(l).map((v, i) => [cols[i], v])));
}

test('handover --since lists the terminals erased since then; cert verify accepts it and rejects any one byte changed; openssl checks it; audit export --csv has the same columns', () => {
  const b = bench();
  const early = b.run(['erase', '--board', 'stm32f407', '--port', 'emu', '--method', 'clear', '--emu-seed', '1', '--json']);
  assert.equal(early.code, 0, early.stderr);
  const since = new Date().toISOString();
  const runs = [
    b.run(['erase', '--board', 'stm32f407', '--port', 'emu', '--method', 'clear', '--emu-seed', '2', '--json', '--operator-name', 'Dana Whitfield']),
    b.run(['erase', '--board', 'stm32f205', '--port', 'emu', '--method', 'clear', '--emu-seed', '3', '--json', '--no-backup']),
    b.run(['erase', '--board', 'stm32f407', '--port', 'emu', '--method', 'clear', '--emu-seed', '4', '--json', '--emu-fault', 'stuck@0x08012345']),
  ];
  assert.deepEqual(
    runs.map((r) => r.code),
    [0, 0, 1],
    runs.map((r) => r.stderr).join('\n'),
  );
  const uids = runs.map((r) => JSON.parse(r.stdout).uid as string);
  const h = b.run(['handover', '--since', since, '--out', 'batch.pdf', '--json']);
  assert.equal(h.code, 0, h.stderr);
  const doc = JSON.parse(h.stdout);
  const m = doc.handover;
  assert.equal(m.format, 'poswipe-handover');
  assert.deepEqual(
    m.terminals.map((t: { uid: string }) => t.uid),
    uids,
    'the three terminals erased since then, in order, and not the earlier one',
  );
  assert.deepEqual(
    m.terminals.map((t: { result: string }) => t.result),
    ['ok', 'ok', 'failed'],
  );
  assert.equal(m.terminals[0].operator, 'Dana Whitfield');
  assert.equal(m.terminals[0].host, 'bench-a');
  assert.match(m.terminals[0].certificate_id, /^[0-9a-f-]{36}$/);
  assert.equal(m.terminals[0].certificate_id, JSON.parse(readFileSync(JSON.parse(runs[0].stdout).certificate, 'utf8')).certificate.id);
  assert.equal(m.terminals[2].certificate_id, null, 'a failed run has no certificate');
  assert.deepEqual(m.counts, { terminals: 3, sanitized: 2, notSanitized: 1, runsWithoutTerminal: 0 });
  const json = join(b.dir, 'batch.json');
  for (const f of ['batch.pdf', 'batch.json', 'batch.canonical.json', 'batch.sig']) assert.ok(existsSync(join(b.dir, f)), f);
  assert.equal(readFileSync(json, 'utf8'), h.stdout, '--json prints the signed file');
  assert.ok(readFileSync(join(b.dir, 'batch.pdf')).subarray(0, 5).equals(Buffer.from('%PDF-')));

  const trust = join(b.cfg, 'signing.pub.pem');
  const v = b.run(['cert', 'verify', json, '--trust', trust]);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /^VALID: .*handover manifest .*, 3 terminal\(s\)/);
  const bytes = readFileSync(json);
  const positions = [bytes.indexOf(uids[1]) + 3, bytes.indexOf('"ok"') + 1, bytes.indexOf('bench-a') + 2, Math.floor(bytes.length / 2), bytes.length - 2];
  for (const p of positions) {
    const edited = Buffer.from(bytes);
    edited[p] = edited[p] === 0x31 ? 0x32 : 0x31;
    const f = join(b.dir, `edited-${p}.json`);
    writeFileSync(f, edited);
    const r = b.run(['cert', 'verify', f, '--trust', trust]);
    assert.notEqual(r.code, 0, `byte ${p}: ${r.stdout}`);
  }
  if (!noOpenssl) assert.equal(opensslVerify(trust, join(b.dir, 'batch.canonical.json'), join(b.dir, 'batch.sig')).code, 0);
  const again = b.run(['handover', '--since', since, '--out', 'batch.pdf']);
  assert.equal(again.code, 2, 'never overwritten');

  const csv = parseCsv(b.run(['audit', 'export', '--csv', '--since', since]).stdout);
  assert.equal(csv.length, 3);
  for (const t of m.terminals as Record<string, string | null>[]) {
    const row = csv.find((r) => r.uid === t.uid)!;
    for (const col of m.columns.filter((c: string) => c !== 'runs')) assert.equal(row[col], t[col] ?? '', `${col} of ${t.uid}`);
  }
  assert.equal(b.run(['handover', '--since', 'yesterday', '--out', 'x.pdf']).code, 2);
});
