import { Option, type Command } from 'commander';
import { InputError } from '../errors';
import { DESTINATIONS } from '../records/config';
import type { RecordOptions } from '../records/erase-records';

/** --passphrase-file / --recipient: how a backup is encrypted (backup, erase, flash). */
export function withBackupEncryptionOptions(cmd: Command): Command {
  return cmd
    .option(
      '--passphrase-file <file>',
      'encrypt the backup (age, scrypt) with the first line of this file as the passphrase (or set POSWIPE_BACKUP_PASSPHRASE)',
    )
    .option(
      '--recipient <age1…|file>',
      "encrypt the backup (age) to this age public key, or to the age1… lines of this file (default: the bench's own age identity in the config directory)",
    );
}

/** --operator-* and friends: the certificate fields the tool cannot know. */
export function withOperatorOptions(cmd: Command): Command {
  return cmd
    .option('--operator-config <file>', 'operator settings (default: poswipe.json in the config directory)')
    .option('--operator-name <name>', 'person performing the sanitization')
    .option('--operator-title <title>', "that person's title")
    .option('--operator-org <organization>', "that person's organization")
    .option('--operator-location <location>', 'where the sanitization is performed')
    .option('--operator-phone <phone>', "that person's phone")
    .addOption(new Option('--destination <where>', 'media destination').choices([...DESTINATIONS]))
    .option('--destination-details <text>', 'details of the destination')
    .option('--property-number <n>', 'media property number (asset tag)')
    .option('--notes <text>', 'notes for the certificate');
}

/** --quiet: no progress bars (they are drawn only when stderr is a terminal anyway). */
export function withQuietOption(cmd: Command): Command {
  return cmd.option('--quiet', 'no progress bars on stderr');
}

export function withAuditOption(cmd: Command): Command {
  return cmd
    .option('--audit-db <file>', 'audit database (default: $POSWIPE_AUDIT_DB, else audit.sqlite in the config directory)')
    .option(
      '--audit-url <postgres://…>',
      "the fleet's PostgreSQL audit store: rows are queued in the audit database and pushed to it (default: $POSWIPE_AUDIT_URL, else auditUrl in poswipe.json)",
    );
}

/**
 * `--backup <file>` and `--no-backup` set the same option, so commander lets the last one win
 * silently; both given is a contradiction the operator must resolve (exit 2), never a guess.
 */
function refuseBackupConflict(cmd: Command): void {
  const seen = new Set<string>();
  cmd.on('option:backup', () => seen.add('--backup'));
  cmd.on('option:no-backup', () => seen.add('--no-backup'));
  cmd.hook('preAction', () => {
    if (seen.size === 2) throw new InputError('--backup <file> and --no-backup contradict each other: give one of them');
  });
}

/** Every records option of a run that erases (erase and flash). */
export function withRecordOptions(cmd: Command): Command {
  cmd
    .option('--backup <file>', 'back up the data regions to this file before erasing (default: ./backups/<board>-<uid>-<time>.pwbk)')
    .option('--no-backup', 'erase without a backup');
  refuseBackupConflict(cmd);
  withBackupEncryptionOptions(cmd);
  cmd
    .option('--cert <dir>', 'folder for the certificate (JSON + PDF) or the failure report', 'certificates')
    .option('--sign-key <key.pem>', 'Ed25519 private key that signs the certificate (default: the bench key in the config directory, created on first use)');
  withOperatorOptions(cmd);
  withQuietOption(cmd);
  return withAuditOption(cmd);
}

/** The records options out of a command's parsed options. */
export function recordOptionsOf(o: RecordOptions): RecordOptions {
  return {
    backup: o.backup,
    passphraseFile: o.passphraseFile,
    recipient: o.recipient,
    cert: o.cert,
    signKey: o.signKey,
    auditDb: o.auditDb,
    auditUrl: o.auditUrl,
    operatorConfig: o.operatorConfig,
    operatorName: o.operatorName,
    operatorTitle: o.operatorTitle,
    operatorOrg: o.operatorOrg,
    operatorLocation: o.operatorLocation,
    operatorPhone: o.operatorPhone,
    destination: o.destination,
    destinationDetails: o.destinationDetails,
    propertyNumber: o.propertyNumber,
    notes: o.notes,
  };
}
