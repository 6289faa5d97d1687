import { Option, type Command } from 'commander';
import { EXIT, InputError } from '../../errors';
import { writeNewAgeIdentity } from '../../records/age-keys';
import { writeNewKeyPair, type KeyKind } from '../../records/keys';
import { act, out } from '../common';

async function cmdKeysNew(o: { out: string; type: string }): Promise<number> {
  if (o.type === 'age') {
    const a = writeNewAgeIdentity(o.out);
    out(`age identity  ${a.privatePath} (mode 0600: restores need it; age -d -i ${a.privatePath} <backup> decrypts a backup)`);
    out(`age recipient ${a.publicPath} (encrypt backups to it: --recipient ${a.recipient})`);
    return EXIT.OK;
  }
  if (o.type !== 'ed25519' && o.type !== 'x25519') throw new InputError(`--type ${o.type}: use ed25519 (signing), age (backup recipient) or x25519`);
  const k = writeNewKeyPair(o.out, o.type as KeyKind);
  out(`private key ${k.privatePath} (mode 0600: keep it on the bench)`);
  out(
    `public key  ${k.publicPath} (${o.type === 'ed25519' ? 'give it to whoever verifies certificates: poswipe cert verify <file> --trust ' + k.publicPath : 'a raw X25519 pair in PEM; backups take an age key: --type age'})`,
  );
  out(`key id      ${k.keyId}`);
  return EXIT.OK;
}

export function register(program: Command): void {
  const keys = program.command('keys').description('key pairs: certificate signing (Ed25519) and backup encryption (age X25519)');
  keys
    .command('new')
    .description(
      'create <prefix>.key.pem (private, mode 0600) and <prefix>.pub.pem, or with --type age <prefix>.key.txt and <prefix>.pub.txt; never overwrites',
    )
    .requiredOption('--out <prefix>', 'file name prefix')
    .addOption(
      new Option('--type <type>', 'ed25519 (signs certificates), age (backup recipient: an age identity file) or x25519')
        .choices(['ed25519', 'age', 'x25519'])
        .default('ed25519'),
    )
    .action(act(async (o) => cmdKeysNew(o)));
}
