/**
 * Which secret a new backup is encrypted with, and which keys can open an existing one:
 *
 *   encrypt   --recipient <age1…|file>  >  --passphrase-file <file>  >  $POSWIPE_BACKUP_PASSPHRASE
 *             >  the settings file's backupRecipient  >  the bench's own age identity (created on first use)
 *   decrypt   the age header says which: a passphrase (--passphrase-file or the environment
 *             variable), or an age identity file (--key <identity>, else the bench's)
 */
import { readInputFile } from '../files/read-bounded';
import { InputError } from '../errors';
import type { BackupSecret, DecryptionKeys } from './backup-age';
import { benchAgeIdentity, benchIdentityPath, parseRecipients, readIdentityFile, BENCH_IDENTITY } from './age-keys';

export interface BackupKeyOptions {
  passphraseFile?: string;
  /** an age public key (age1…) or a file of them */
  recipient?: string;
  /** age identity file that opens a backup (restore) */
  key?: string;
}

/** The passphrase from --passphrase-file (first line) or POSWIPE_BACKUP_PASSPHRASE, or null. */
export function passphraseFrom(file: string | undefined, env: NodeJS.ProcessEnv = process.env): { passphrase: string; source: string } | null {
  if (file !== undefined) {
    const text = readInputFile(file, '--passphrase-file', 'passphrase').toString('utf8').split(/\r?\n/)[0];
    if (!text) throw new InputError(`--passphrase-file ${file}: the first line is empty`);
    return { passphrase: text, source: file };
  }
  const v = env.POSWIPE_BACKUP_PASSPHRASE;
  if (v !== undefined && v !== '') return { passphrase: v, source: 'POSWIPE_BACKUP_PASSPHRASE' };
  return null;
}

export function backupSecret(o: BackupKeyOptions, configRecipient: string | undefined, log: (line: string) => void): BackupSecret {
  if (o.recipient !== undefined && o.passphraseFile !== undefined)
    throw new InputError('--recipient and --passphrase-file exclude each other: a backup is encrypted one way');
  if (o.recipient !== undefined) return { kind: 'recipients', ...parseRecipients(o.recipient, '--recipient') };
  const pass = passphraseFrom(o.passphraseFile);
  if (pass) return { kind: 'passphrase', passphrase: pass.passphrase, source: pass.source };
  if (configRecipient !== undefined) return { kind: 'recipients', ...parseRecipients(configRecipient, 'backupRecipient') };
  const bench = benchAgeIdentity();
  if (bench.created)
    log(
      `poswipe: created the bench backup identity ${bench.identityPath} (age X25519, private: restores need it; keep a copy somewhere safe) and its recipient ${bench.recipientPath} (${bench.recipient})`,
    );
  return { kind: 'recipients', recipients: [bench.recipient], source: bench.recipientPath };
}

export function decryptionKeys(o: BackupKeyOptions): DecryptionKeys {
  return {
    passphrase: () => {
      const p = passphraseFrom(o.passphraseFile);
      if (!p) throw new InputError('the backup is encrypted with a passphrase: give --passphrase-file <file> or set POSWIPE_BACKUP_PASSPHRASE');
      return p.passphrase;
    },
    identities: () => {
      if (o.key !== undefined) return { identities: readIdentityFile(o.key, '--key'), source: o.key };
      const path = benchIdentityPath();
      if (!path)
        throw new InputError(
          `the backup is encrypted to an age key and this bench has no ${BENCH_IDENTITY} in its config directory: give the recipient's identity file with --key <identity>`,
        );
      return { identities: readIdentityFile(path, 'bench backup identity'), source: path };
    },
  };
}
