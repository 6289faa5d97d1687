/**
 * node:crypto as far as the host core and the emulated terminal use it, for the browser build:
 * createHash('sha256') (synchronous, ./sha256), randomBytes (crypto.getRandomValues). Signature
 * checks (createPublicKey, verify) are not available in the page: an emulated terminal there has
 * no trusted keys, so the agent never calls them.
 */
import { Buffer } from './buffer';
import { Sha256 } from './sha256';

const encoder = new TextEncoder();

class Hash {
  private readonly h = new Sha256();

  update(data: Uint8Array | string, encoding?: 'utf8' | 'hex' | 'latin1'): this {
    this.h.update(typeof data === 'string' ? (encoding && encoding !== 'utf8' ? Buffer.fromAny(data, encoding) : encoder.encode(data)) : data);
    return this;
  }

  digest(): Buffer;
  digest(encoding: 'hex' | 'base64' | 'latin1'): string;
  digest(encoding?: 'hex' | 'base64' | 'latin1'): Buffer | string {
    const d = Buffer.fromAny(this.h.digest());
    return encoding ? d.toString(encoding) : d;
  }
}

export function createHash(algorithm: string): Hash {
  if (algorithm.toLowerCase() !== 'sha256') throw new Error(`createHash('${algorithm}'): only sha256 in the browser build`);
  return new Hash();
}

export function randomBytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i += 65536) globalThis.crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
  return b;
}

export function randomUUID(): string {
  return globalThis.crypto.randomUUID();
}

function unavailable(what: string): never {
  throw new Error(`${what} is not available in the browser build (signed modules need the Node host)`);
}

export function createPublicKey(_pem: unknown): never {
  return unavailable('createPublicKey');
}

export function verify(..._args: unknown[]): never {
  return unavailable('crypto.verify');
}

export default { createHash, randomBytes, randomUUID, createPublicKey, verify };
