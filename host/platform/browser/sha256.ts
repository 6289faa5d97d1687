/**
 * SHA-256, synchronous and incremental, for the browser build where node:crypto's createHash is
 * not available (WebCrypto's digest is async only): @noble/hashes (audited, no dependencies)
 * behind the small interface crypto.ts uses.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

export class Sha256 {
  private readonly h = nobleSha256.create();

  update(data: Uint8Array): this {
    this.h.update(data);
    return this;
  }

  digest(): Uint8Array {
    return this.h.digest();
  }
}

export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}
