import type { KeyObject } from 'node:crypto';
import { readInputFile } from '../../files/read-bounded';
import type { Command } from 'commander';
import { EXIT, InputError } from '../../errors';
import { verifyCertificate } from '../../records/certificate';
import { checkDetached } from '../../records/detached';
import { checkHandoverBody } from '../../records/handover';
import { bodyKeyOf, verifySignedDocument } from '../../records/signed-document';
import { loadPublicKey } from '../../records/keys';
import { act, out } from '../common';

async function cmdVerify(file: string, o: { trust: string; json?: boolean }): Promise<number> {
  const trusted = loadPublicKey(o.trust, 'ed25519', '--trust');
  const bytes = readInputFile(file, 'certificate', 'certificate');
  if (bodyKeyOf(bytes) === 'handover') return verifyHandoverFile(file, bytes, trusted, o.json === true);
  const r = verifyCertificate(bytes, trusted);
  if (r.status === 'malformed') throw new InputError(`certificate ${file}: malformed: ${r.problem}`);
  const detached = checkDetached(file, bytes.toString('utf8'));
  if (detached) {
    r.checks.push(detached);
    if (!detached.ok) r.status = 'invalid';
  }
  const cert = r.certificate ?? {};
  const media = (cert.media ?? {}) as Record<string, unknown>;
  if (o.json)
    out(
      JSON.stringify(
        { file, valid: r.status === 'valid', checks: r.checks, id: cert.id ?? null, board: media.board ?? null, uid: media.serialNumber ?? null },
        null,
        2,
      ),
    );
  else {
    if (r.status === 'valid')
      out(`VALID: ${file}: certificate ${String(cert.id)}, ${String(media.board)} uid ${String(media.serialNumber)}, ${String(cert.result)}`);
    else {
      out(`INVALID: ${file}`);
      for (const c of r.checks.filter((x) => !x.ok)) out(`  FAILED ${c.name}: ${c.detail}`);
    }
    for (const c of r.checks.filter((x) => x.ok)) out(`  ok ${c.name}: ${c.detail}`);
  }
  return r.status === 'valid' ? EXIT.OK : EXIT.VERIFY_FAILED;
}

/** A handover manifest: the same checks as a certificate's, and its own format and counts. */
function verifyHandoverFile(file: string, bytes: Buffer, trusted: KeyObject, json: boolean): number {
  const r = verifySignedDocument(bytes, trusted, 'handover', checkHandoverBody);
  if (r.status === 'malformed') throw new InputError(`manifest ${file}: malformed: ${r.problem}`);
  const detached = checkDetached(file, bytes.toString('utf8'));
  if (detached) r.checks.push(detached);
  const valid = r.checks.every((c) => c.ok);
  const body = r.body ?? {};
  const count = Array.isArray(body.terminals) ? body.terminals.length : 0;
  if (json) out(JSON.stringify({ file, kind: 'handover', valid, checks: r.checks, id: body.id ?? null, terminals: count }, null, 2));
  else {
    if (valid) out(`VALID: ${file}: handover manifest ${String(body.id)}, ${count} terminal(s)`);
    else {
      out(`INVALID: ${file}`);
      for (const c of r.checks.filter((x) => !x.ok)) out(`  FAILED ${c.name}: ${c.detail}`);
    }
    for (const c of r.checks.filter((x) => x.ok)) out(`  ok ${c.name}: ${c.detail}`);
  }
  return valid ? EXIT.OK : EXIT.VERIFY_FAILED;
}

export function register(program: Command): void {
  const cert = program.command('cert').description('certificates of sanitization');
  cert
    .command('verify')
    .description('check a certificate or a handover manifest against a trusted public key: exit 0 valid, 1 edited or not trusted, 2 not one at all')
    .argument('<certificate>', "the .cert.json file, or a handover manifest's .json")
    .requiredOption('--trust <public.pem>', 'Ed25519 public key of the bench that signed it')
    .option('--json', 'JSON output')
    .action(act(async (file: string, o) => cmdVerify(file, o)));
}
