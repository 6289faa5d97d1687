import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { EXIT, InputError } from '../../errors';
import { verifyCertificate } from '../../records/certificate';
import { checkDetached } from '../../records/detached';
import { loadPublicKey } from '../../records/keys';
import { act, out } from '../common';

async function cmdVerify(file: string, o: { trust: string; json?: boolean }): Promise<number> {
  const trusted = loadPublicKey(o.trust, 'ed25519', '--trust');
  if (!existsSync(file)) throw new InputError(`certificate ${file}: no such file`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new InputError(`certificate ${file}: cannot read: ${(e as Error).message}`);
  }
  const r = verifyCertificate(bytes, trusted);
  if (r.status === 'malformed') throw new InputError(`certificate ${file}: malformed: ${r.problem}`);
  const detached = checkDetached(file, bytes.toString('utf8'));
  if (detached) {
    r.checks.push(detached);
    if (!detached.ok) r.status = 'invalid';
  }
  const cert = r.certificate ?? {};
  const media = (cert.media ?? {}) as Record<string, unknown>;
  if (o.json) out(JSON.stringify({ file, valid: r.status === 'valid', checks: r.checks, id: cert.id ?? null, board: media.board ?? null, uid: media.serialNumber ?? null }, null, 2));
  else {
    if (r.status === 'valid') out(`VALID: ${file}: certificate ${String(cert.id)}, ${String(media.board)} uid ${String(media.serialNumber)}, ${String(cert.result)}`);
    else {
      out(`INVALID: ${file}`);
      for (const c of r.checks.filter((x) => !x.ok)) out(`  FAILED ${c.name}: ${c.detail}`);
    }
    for (const c of r.checks.filter((x) => x.ok)) out(`  ok ${c.name}: ${c.detail}`);
  }
  return r.status === 'valid' ? EXIT.OK : EXIT.VERIFY_FAILED;
}

export function register(program: Command): void {
  const cert = program.command('cert').description('certificates of sanitization');
  cert
    .command('verify')
    .description('check a certificate against a trusted public key: exit 0 valid, 1 edited or not trusted, 2 not a certificate')
    .argument('<certificate>', 'the .cert.json file')
    .requiredOption('--trust <public.pem>', 'Ed25519 public key of the bench that signed it')
    .option('--json', 'JSON output')
    .action(act(async (file: string, o) => cmdVerify(file, o)));
}
