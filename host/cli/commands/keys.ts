import type { Command } from 'commander';
import { EXIT, InputError } from '../../errors';
import { writeNewKeyPair, type KeyKind } from '../../records/keys';
import { act, out } from '../common';

async function cmdKeysNew(o: { out: string; type: string }): Promise<number> {
  if (o.type !== 'ed25519' && o.type !== 'x25519') throw new InputError(`--type ${o.type}: use ed25519 (signing) or x25519 (backup recipient)`);
  const k = writeNewKeyPair(o.out, o.type as KeyKind);
  out(`private key ${k.privatePath} (mode 0600: keep it on the bench)`);
  out(`public key  ${k.publicPath} (${o.type === 'ed25519' ? 'give it to whoever verifies certificates: poswipe cert verify <file> --trust ' + k.publicPath : 'encrypt backups to it: --recipient ' + k.publicPath})`);
  out(`key id      ${k.keyId}`);
  return EXIT.OK;
}

export function register(program: Command): void {
  const keys = program.command('keys').description('key pairs: certificate signing (Ed25519) and backup encryption (X25519)');
  keys
    .command('new')
    .description('create <prefix>.key.pem (private, mode 0600) and <prefix>.pub.pem; never overwrites')
    .requiredOption('--out <prefix>', 'file name prefix')
    .option('--type <type>', 'ed25519 (signs certificates) or x25519 (backup recipient)', 'ed25519')
    .action(act(async (o) => cmdKeysNew(o)));
}
