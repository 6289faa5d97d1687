/**
 * Which secret a new backup is encrypted with, and which keys can open an existing one:
 *
 *   encrypt   --recipient <pub.pem>  >  --passphrase-file <file>  >  $POSWIPE_BACKUP_PASSPHRASE
 *             >  the settings file's backupRecipient  >  the bench's own X25519 key (created on first use)
 *   decrypt   the header says which: a passphrase (--passphrase-file or the environment variable),
 *             or an X25519 private key (--key <private.pem>, else the bench key)
 */
import { existsSync } from 'node:fs';
import { InputError } from '../errors';
import { passphraseFrom, type BackupSecret, type DecryptionKeys } from './backup-crypto';
import { benchKey, loadPrivateKey, loadPublicKey } from './keys';
import { configDir } from './config';
import { join } from 'node:path';

export interface BackupKeyOptions {
  passphraseFile?: string;
  recipient?: string;
  /** X25519 private key that opens a backup (restore) */
  key?: string;
}

export function backupSecret(o: BackupKeyOptions, configRecipient: string | undefined, log: (line: string) => void): BackupSecret {
  if (o.recipient !== undefined && o.passphraseFile !== undefined) throw new InputError('--recipient and --passphrase-file exclude each other: a backup is encrypted one way');
  if (o.recipient !== undefined) return { kind: 'recipient', publicKey: loadPublicKey(o.recipient, 'x25519', '--recipient'), source: o.recipient };
  const pass = passphraseFrom(o.passphraseFile);
  if (pass) return { kind: 'passphrase', passphrase: pass.passphrase, source: pass.source };
  if (configRecipient !== undefined) return { kind: 'recipient', publicKey: loadPublicKey(configRecipient, 'x25519', 'backupRecipient'), source: configRecipient };
  const bench = benchKey('backup');
  if (bench.created) log(`poswipe: created the bench backup key pair ${bench.privatePath} (private: restores need it; keep a copy somewhere safe) and ${bench.publicPath}`);
  return { kind: 'recipient', publicKey: loadPublicKey(bench.publicPath, 'x25519', 'bench backup key'), source: bench.publicPath };
}

export function decryptionKeys(o: BackupKeyOptions): DecryptionKeys {
  return {
    passphrase: () => {
      const p = passphraseFrom(o.passphraseFile);
      if (!p) throw new InputError('the backup is encrypted with a passphrase: give --passphrase-file <file> or set POSWIPE_BACKUP_PASSPHRASE');
      return p.passphrase;
    },
    x25519: () => {
      if (o.key !== undefined) return { privateKey: loadPrivateKey(o.key, 'x25519', '--key'), source: o.key };
      const path = join(configDir(), 'backup.key.pem');
      if (!existsSync(path)) throw new InputError(`the backup is encrypted to an X25519 key and this bench has none (${path}): give the recipient's private key with --key <private.pem>`);
      return { privateKey: loadPrivateKey(path, 'x25519', 'bench backup key'), source: path };
    },
  };
}
