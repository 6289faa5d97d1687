import { createHash, createPublicKey, type KeyObject } from 'node:crypto';

/**
 * The one way poswipe names a key, everywhere (certificates, backups, images, `keys new`):
 * "sha256:" and the SHA-256 of the public key's SPKI DER encoding, in hex.
 */
export function keyId(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return (
    'sha256:' +
    createHash('sha256')
      .update(pub.export({ type: 'spki', format: 'der' }))
      .digest('hex')
  );
}

/** A key id in messages: the prefix and the first 16 hex digits. */
export function shortKeyId(id: string): string {
  return id.startsWith('sha256:') ? id.slice(0, 'sha256:'.length + 16) : id.slice(0, 16);
}

/** The shape of a key id: sha256:<64 hex digits>. */
export const KEY_ID_PATTERN = /^sha256:[0-9a-f]{64}$/;
