/**
 * Ed25519 keys and the two signatures of an erase image (docs/image-format.md, "Signatures"):
 * - the agent signature, over the agent binary alone: written in the signature block after the
 *   agent's parameter block (docs/agent.md) so that a terminal that runs only signed code runs it;
 * - the image signature, over every byte before it (header, manifest, module, agent, agent
 *   signature): what `poswipe flash` checks against its trusted keys before it touches the terminal.
 * Both are made with the same key; `flash` requires both to verify against one trusted key.
 */
import { keyId, shortKeyId } from '../key-id';
import { readInputFile } from '../files/read-bounded';
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { InputError, SafetyError } from '../errors';
import { encodeImage, encodeSignedPart, SIGNATURE_SIZE, type ImageParts, type ParsedImage } from './format';

/** The key id poswipe shows: SHA-256 of the raw 32-byte Ed25519 public key, hex. */
/** One key-id format everywhere (host/key-id.ts): images name their signer as certificates do. */
export { keyId };

function readPem(path: string, what: string): string {
  return readInputFile(path, what, 'key').toString('utf8');
}

/** Loads an Ed25519 private key (PEM); anything else is bad input (exit 2). */
export function loadPrivateKey(path: string): KeyObject {
  const pem = readPem(path, '--key');
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new InputError(`--key ${path}: not a private key in PEM form: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new InputError(`--key ${path}: a ${key.asymmetricKeyType} key; images are signed with Ed25519 keys (poswipe keys new)`);
  }
  return key;
}

/**
 * Loads trusted Ed25519 public keys: each file may hold several PEM blocks. A private key, a key
 * of another type or a file without keys is bad input (exit 2).
 */
export function loadTrustKeys(paths: readonly string[]): KeyObject[] {
  if (paths.length === 0) throw new InputError('--trust: at least one trusted public key is needed');
  const keys: KeyObject[] = [];
  for (const path of paths) {
    const pem = readPem(path, '--trust');
    const blocks = pem.match(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g) ?? [];
    if (blocks.length === 0) throw new InputError(`--trust ${path}: no PEM key in the file`);
    for (const block of blocks) {
      if (/PRIVATE KEY/.test(block.split('\n')[0])) {
        throw new InputError(`--trust ${path}: holds a private key; give the public key (<prefix>.pub.pem) instead`);
      }
      let key: KeyObject;
      try {
        key = createPublicKey(block);
      } catch (err) {
        throw new InputError(`--trust ${path}: not a public key: ${(err as Error).message}`);
      }
      if (key.asymmetricKeyType !== 'ed25519') {
        throw new InputError(`--trust ${path}: a ${key.asymmetricKeyType} key; images are signed with Ed25519 keys`);
      }
      keys.push(key);
    }
  }
  return keys;
}

/** Ed25519 signature of the agent binary alone: what a terminal that runs only signed code checks. */
export function signAgent(agent: Uint8Array, key: KeyObject): Uint8Array {
  return new Uint8Array(sign(null, agent, key));
}

/** Signs and encodes an image: agent signature, then the image signature over everything before it. */
export function signImage(
  parts: Omit<ImageParts, 'agentSignature'>,
  key: KeyObject,
): { bytes: Uint8Array; agentSignature: Uint8Array; imageSignature: Uint8Array } {
  const agentSignature = signAgent(parts.agent, key);
  const signed = encodeSignedPart({ ...parts, agentSignature }, SIGNATURE_SIZE);
  const imageSignature = new Uint8Array(sign(null, signed, key));
  return { bytes: encodeImage({ ...parts, agentSignature }, imageSignature), agentSignature, imageSignature };
}

function claimedKeyId(image: ParsedImage): string | null {
  try {
    const m = JSON.parse(Buffer.from(image.manifestBytes).toString('utf8')) as { signer?: { keyId?: unknown } };
    return typeof m.signer?.keyId === 'string' ? m.signer.keyId : null;
  } catch {
    return null;
  }
}

/**
 * Checks both signatures against the trusted keys; returns the id of the key that signed. An
 * unsigned image, an image signature no trusted key verifies, or an agent signature that does not
 * verify with the image's key is refused for safety (SafetyError, exit 4).
 */
export function verifyImage(image: ParsedImage, trusted: readonly KeyObject[], name = 'image'): { keyId: string } {
  if (image.imageSignature.length === 0) {
    throw new SafetyError(`${name} is not signed: flash runs only images signed by a trusted key (poswipe build --key)`);
  }
  const signer = trusted.find((k) => verify(null, image.signed, k, image.imageSignature));
  if (!signer) {
    const ids = trusted.map((k) => shortKeyId(keyId(k))).join(', ');
    // the manifest is not trusted yet: its key id only helps word the refusal
    const claimed = claimedKeyId(image);
    const untrusted = claimed !== null && !trusted.some((k) => keyId(k) === claimed);
    throw new SafetyError(
      untrusted
        ? `${name} is signed by key ${shortKeyId(claimed!)}, which is not among the trusted key(s) ${ids}`
        : `${name}: the image signature does not verify against the trusted key(s) ${ids}: the image was altered after signing or signed by another key`,
    );
  }
  if (!verify(null, image.agent, signer, image.agentSignature)) {
    throw new SafetyError(`${name}: the agent signature does not verify against the key that signed the image`);
  }
  return { keyId: keyId(signer) };
}
