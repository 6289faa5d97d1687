/**
 * The erase image file (docs/image-format.md): a 36-byte header, a JSON manifest, the `terminal`
 * Wasm module, the agent binary for the board's kind (which carries that module, translated to
 * C), the agent signature (Ed25519 over the agent binary: what a terminal that runs only signed
 * code checks) and the image signature (Ed25519 over every byte before it). This file only
 * encodes and decodes the structure; host/image/sign.ts signs and verifies.
 *
 * Every structural problem is an InputError (exit 2) naming it. Nothing here trusts the content:
 * callers verify the image signature before they act on the manifest.
 */
import { KEY_ID_PATTERN } from '../key-id';
import { InputError } from '../errors';
import { AGENT_MAGIC, IMAGE_HEADER_OFFSET as AGENT_MAGIC_AT, IMAGE_HEADER_SIZE as AGENT_HEADER_SIZE } from '../protocol/link';

/** an agent binary is at least its vector table and header */
const AGENT_HEADER_END = AGENT_MAGIC_AT + AGENT_HEADER_SIZE;

/** `PWIMG\r\n\x1a`: text-mode transfers and truncation at the first line end are caught by the magic. */
export const IMAGE_MAGIC = Uint8Array.of(0x50, 0x57, 0x49, 0x4d, 0x47, 0x0d, 0x0a, 0x1a);
export const IMAGE_FORMAT_VERSION = 2;
export const IMAGE_HEADER_SIZE = 36;
/** Ed25519 signatures are 64 bytes; 0 means "not signed". */
export const SIGNATURE_SIZE = 64;
/** Bounds that keep a garbled length from asking for absurd allocations. */
export const MAX_MANIFEST_BYTES = 64 * 1024;
export const MAX_MODULE_BYTES = 1024 * 1024;
export const MAX_AGENT_BYTES = 256 * 1024;

// header field offsets (all u32 little-endian after the magic)
const OFF_VERSION = 8;
const OFF_HEADER_SIZE = 12;
const OFF_MANIFEST_LENGTH = 16;
const OFF_MODULE_LENGTH = 20;
const OFF_AGENT_LENGTH = 24;
const OFF_AGENT_SIG_LENGTH = 28;
const OFF_IMAGE_SIG_LENGTH = 32;

/** The manifest as stored (JSON, UTF-8); see docs/image-format.md for every field. */
export interface Manifest {
  board: {
    id: string;
    name: string;
    /** "0x0413" */
    productIds: string[];
    flash: { base: string; size: number };
  };
  method: { name: string; nistType: string; passes: string[] };
  verify: 'full' | 'sample';
  blockSize: number;
  engine: { abiVersion: number; bytes: number; sha256: string };
  /** the agent binary in the image: its kind, link address ("0x20003000"), size and SHA-256 */
  agent: { kind: string; load: string; bytes: number; sha256: string };
  signer: { keyId: string };
  tool: { name: string; version: string };
  builtAt: string;
  conformance: {
    /** runtimes that produced every digest and agreed with the host's node:crypto expectation */
    runtimes: string[];
    /** runtimes that could not run on the build machine, with the reason */
    skipped: { runtime: string; reason: string }[];
    jobs: number;
    digests: number;
    /** SHA-256 of build/selfcontained.wasm, the same engine sources with an in-memory flash */
    selfcontainedSha256: string;
  };
}

/** An image split into its parts (views of the file's bytes). */
export interface ParsedImage {
  version: number;
  manifestBytes: Uint8Array;
  module: Uint8Array;
  /** the agent binary uploaded to the terminal */
  agent: Uint8Array;
  /** Ed25519 over `agent` (empty when unsigned) */
  agentSignature: Uint8Array;
  /** Ed25519 over `signed` (empty when unsigned) */
  imageSignature: Uint8Array;
  /** every byte before the image signature: header, manifest, module, agent, agent signature */
  signed: Uint8Array;
}

export interface ImageParts {
  manifest: Manifest | Uint8Array;
  module: Uint8Array;
  agent: Uint8Array;
  agentSignature?: Uint8Array;
}

function encodeHeader(manifest: number, module: number, agent: number, agentSig: number, imageSig: number): Uint8Array {
  const h = new Uint8Array(IMAGE_HEADER_SIZE);
  const v = new DataView(h.buffer);
  h.set(IMAGE_MAGIC, 0);
  v.setUint32(OFF_VERSION, IMAGE_FORMAT_VERSION, true);
  v.setUint32(OFF_HEADER_SIZE, IMAGE_HEADER_SIZE, true);
  v.setUint32(OFF_MANIFEST_LENGTH, manifest, true);
  v.setUint32(OFF_MODULE_LENGTH, module, true);
  v.setUint32(OFF_AGENT_LENGTH, agent, true);
  v.setUint32(OFF_AGENT_SIG_LENGTH, agentSig, true);
  v.setUint32(OFF_IMAGE_SIG_LENGTH, imageSig, true);
  return h;
}

/**
 * The bytes the image signature covers: header (announcing an image signature of
 * `imageSignatureLength` bytes), manifest, module, agent, agent signature.
 */
export function encodeSignedPart(parts: ImageParts, imageSignatureLength: number): Uint8Array {
  const manifest = parts.manifest instanceof Uint8Array ? parts.manifest : new TextEncoder().encode(JSON.stringify(parts.manifest, null, 2));
  const agentSig = parts.agentSignature ?? new Uint8Array(0);
  const header = encodeHeader(manifest.length, parts.module.length, parts.agent.length, agentSig.length, imageSignatureLength);
  const out = new Uint8Array(header.length + manifest.length + parts.module.length + parts.agent.length + agentSig.length);
  let at = 0;
  for (const part of [header, manifest, parts.module, parts.agent, agentSig]) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The whole image: the signed part followed by the image signature (empty: unsigned). */
export function encodeImage(parts: ImageParts, imageSignature: Uint8Array = new Uint8Array(0)): Uint8Array {
  const signed = encodeSignedPart(parts, imageSignature.length);
  const out = new Uint8Array(signed.length + imageSignature.length);
  out.set(signed, 0);
  out.set(imageSignature, signed.length);
  return out;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/**
 * Splits an image into its parts, checking only the structure: magic, format version, header
 * size, that the lengths add up to the file's size, signature lengths of 0 or 64 (both or
 * neither), that the module starts with the Wasm magic and the agent with a vector table and
 * the PWAG header at 0x40. Throws InputError naming the problem.
 */
export function parseImage(bytes: Uint8Array, name = 'image'): ParsedImage {
  if (bytes.length < IMAGE_MAGIC.length) {
    throw new InputError(`${name}: truncated: ${bytes.length} bytes, not even the ${IMAGE_MAGIC.length}-byte magic`);
  }
  const magic = bytes.subarray(0, IMAGE_MAGIC.length);
  if (!magic.every((b, i) => b === IMAGE_MAGIC[i])) {
    throw new InputError(`${name}: wrong magic ${hex(magic)} (an erase image starts with ${hex(IMAGE_MAGIC)}, "PWIMG\\r\\n\\x1a")`);
  }
  if (bytes.length < IMAGE_HEADER_SIZE) {
    throw new InputError(`${name}: truncated: ${bytes.length} bytes, the header alone is ${IMAGE_HEADER_SIZE}`);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32 = (o: number) => v.getUint32(o, true);
  const version = u32(OFF_VERSION);
  if (version !== IMAGE_FORMAT_VERSION) {
    throw new InputError(`${name}: unknown image format version ${version} (this poswipe reads version ${IMAGE_FORMAT_VERSION})`);
  }
  const headerSize = u32(OFF_HEADER_SIZE);
  if (headerSize !== IMAGE_HEADER_SIZE) {
    throw new InputError(`${name}: header size field says ${headerSize}, format version ${IMAGE_FORMAT_VERSION} has a ${IMAGE_HEADER_SIZE}-byte header`);
  }
  const manifestLength = u32(OFF_MANIFEST_LENGTH);
  const moduleLength = u32(OFF_MODULE_LENGTH);
  const agentLength = u32(OFF_AGENT_LENGTH);
  const agentSigLength = u32(OFF_AGENT_SIG_LENGTH);
  const imageSigLength = u32(OFF_IMAGE_SIG_LENGTH);
  const total = IMAGE_HEADER_SIZE + manifestLength + moduleLength + agentLength + agentSigLength + imageSigLength;
  const lengths = `header ${IMAGE_HEADER_SIZE} + manifest ${manifestLength} + module ${moduleLength} + agent ${agentLength} + agent signature ${agentSigLength} + image signature ${imageSigLength} = ${total}`;
  if (total > bytes.length) {
    throw new InputError(`${name}: truncated or lengths do not add up: ${lengths} bytes, the file has ${bytes.length}`);
  }
  if (total < bytes.length) {
    throw new InputError(`${name}: lengths do not add up: ${lengths} bytes, the file has ${bytes.length} (${bytes.length - total} bytes trailing)`);
  }
  if (manifestLength === 0 || manifestLength > MAX_MANIFEST_BYTES) {
    throw new InputError(`${name}: manifest length ${manifestLength} is outside 1..${MAX_MANIFEST_BYTES}`);
  }
  if (moduleLength < 8 || moduleLength > MAX_MODULE_BYTES) {
    throw new InputError(`${name}: module length ${moduleLength} is outside 8..${MAX_MODULE_BYTES}`);
  }
  if (agentLength < AGENT_HEADER_END || agentLength > MAX_AGENT_BYTES) {
    throw new InputError(`${name}: agent length ${agentLength} is outside ${AGENT_HEADER_END}..${MAX_AGENT_BYTES}`);
  }
  for (const [what, n] of [
    ['agent signature', agentSigLength],
    ['image signature', imageSigLength],
  ] as const) {
    if (n !== 0 && n !== SIGNATURE_SIZE) {
      throw new InputError(`${name}: ${what} length ${n}: an Ed25519 signature has ${SIGNATURE_SIZE} bytes (0 when unsigned)`);
    }
  }
  if ((agentSigLength === 0) !== (imageSigLength === 0)) {
    throw new InputError(`${name}: only one of the two signatures is present (agent ${agentSigLength} bytes, image ${imageSigLength} bytes)`);
  }
  let at = IMAGE_HEADER_SIZE;
  const take = (n: number): Uint8Array => {
    const part = bytes.subarray(at, at + n);
    at += n;
    return part;
  };
  const manifestBytes = take(manifestLength);
  const module = take(moduleLength);
  if (!(module[0] === 0x00 && module[1] === 0x61 && module[2] === 0x73 && module[3] === 0x6d)) {
    throw new InputError(`${name}: the module part does not start with the WebAssembly magic (\\0asm): got ${hex(module.subarray(0, 4))}`);
  }
  const agent = take(agentLength);
  if (new DataView(agent.buffer, agent.byteOffset + AGENT_MAGIC_AT, 4).getUint32(0, true) !== AGENT_MAGIC) {
    throw new InputError(`${name}: the agent part has no PWAG header at offset 0x40 (docs/agent.md, "Image layout")`);
  }
  const agentSignature = take(agentSigLength);
  const signed = bytes.subarray(0, at);
  const imageSignature = take(imageSigLength);
  return { version, manifestBytes, module, agent, agentSignature, imageSignature, signed };
}

const HEX_PID = /^0x[0-9a-f]{4}$/;
const HEX_ADDRESS = /^0x[0-9a-f]{8}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Decodes and checks the manifest's JSON against the shape of `Manifest`; throws InputError naming
 * the first field that is missing or wrong. Call it after the image signature verified.
 */
export function decodeManifest(image: ParsedImage, name = 'image'): Manifest {
  let m: unknown;
  try {
    m = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(image.manifestBytes));
  } catch (err) {
    throw new InputError(`${name}: the manifest is not UTF-8 JSON: ${(err as Error).message}`);
  }
  const bad = (field: string, want: string): never => {
    throw new InputError(`${name}: manifest field ${field} must be ${want}`);
  };
  const obj = (x: unknown, field: string): Record<string, unknown> =>
    x !== null && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>) : bad(field, 'an object');
  const str = (x: unknown, field: string, re?: RegExp): string =>
    typeof x === 'string' && x.length > 0 && (!re || re.test(x)) ? x : bad(field, re ? `a string matching ${re}` : 'a non-empty string');
  const int = (x: unknown, field: string, min: number, max: number): number =>
    typeof x === 'number' && Number.isInteger(x) && x >= min && x <= max ? x : bad(field, `an integer from ${min} to ${max}`);
  const strs = (x: unknown, field: string, re?: RegExp): string[] =>
    Array.isArray(x) ? x.map((s, i) => str(s, `${field}[${i}]`, re)) : bad(field, 'an array of strings');

  const root = obj(m, 'manifest');
  const board = obj(root.board, 'board');
  const flash = obj(board.flash, 'board.flash');
  const method = obj(root.method, 'method');
  const engine = obj(root.engine, 'engine');
  const agent = obj(root.agent, 'agent');
  const signer = obj(root.signer, 'signer');
  const tool = obj(root.tool, 'tool');
  const conf = obj(root.conformance, 'conformance');
  const verify = root.verify === 'full' || root.verify === 'sample' ? root.verify : bad('verify', '"full" or "sample"');
  const builtAt = str(root.builtAt, 'builtAt');
  if (Number.isNaN(Date.parse(builtAt))) bad('builtAt', 'an ISO 8601 date');
  const productIds = strs(board.productIds, 'board.productIds', HEX_PID);
  if (productIds.length === 0) bad('board.productIds', 'a non-empty array');
  const skipped = Array.isArray(conf.skipped)
    ? conf.skipped.map((s, i) => {
        const o = obj(s, `conformance.skipped[${i}]`);
        return { runtime: str(o.runtime, `conformance.skipped[${i}].runtime`), reason: str(o.reason, `conformance.skipped[${i}].reason`) };
      })
    : bad('conformance.skipped', 'an array');
  return {
    board: {
      id: str(board.id, 'board.id'),
      name: str(board.name, 'board.name'),
      productIds,
      flash: { base: str(flash.base, 'board.flash.base', HEX_ADDRESS), size: int(flash.size, 'board.flash.size', 1, 0xffffffff) },
    },
    method: { name: str(method.name, 'method.name'), nistType: str(method.nistType, 'method.nistType'), passes: strs(method.passes, 'method.passes') },
    verify,
    blockSize: int(root.blockSize, 'blockSize', 8, 4096),
    engine: {
      abiVersion: int(engine.abiVersion, 'engine.abiVersion', 0, 0xffffffff),
      bytes: int(engine.bytes, 'engine.bytes', 1, MAX_MODULE_BYTES),
      sha256: str(engine.sha256, 'engine.sha256', SHA256_HEX),
    },
    agent: {
      kind: str(agent.kind, 'agent.kind'),
      load: str(agent.load, 'agent.load', HEX_ADDRESS),
      bytes: int(agent.bytes, 'agent.bytes', 1, MAX_AGENT_BYTES),
      sha256: str(agent.sha256, 'agent.sha256', SHA256_HEX),
    },
    signer: { keyId: str(signer.keyId, 'signer.keyId', KEY_ID_PATTERN) },
    tool: { name: str(tool.name, 'tool.name'), version: str(tool.version, 'tool.version') },
    builtAt,
    conformance: {
      runtimes: strs(conf.runtimes, 'conformance.runtimes'),
      skipped,
      jobs: int(conf.jobs, 'conformance.jobs', 0, 0xffffffff),
      digests: int(conf.digests, 'conformance.digests', 0, 0xffffffff),
      selfcontainedSha256: str(conf.selfcontainedSha256, 'conformance.selfcontainedSha256', SHA256_HEX),
    },
  };
}
