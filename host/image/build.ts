/**
 * Building and opening erase images (docs/image-format.md). `buildImage` is what `poswipe build`
 * does: check the engine, run the conformance check for the board and method, and only when every
 * runtime agrees, sign. `openImage` is the first half of `poswipe flash`: structure, signatures
 * against the trusted keys, then the manifest and its agreement with this poswipe; all before the
 * terminal is touched.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Board } from '../boards/types';
import { ABI_VERSION } from '../engine/abi';
import { agentOfKind, loadAgentManifest } from '../agent/manifest';
import { checkModuleAbi, loadEngineModule, packageRoot } from '../engine/module';
import { LinkPayloadError, parseImageHeader } from '../protocol/link';
import { InputError, VerificationError } from '../errors';
import { planErase } from '../plan/erase-plan';
import { METHOD_SPECS, METHODS, type MethodName } from '../plan/methods';
import { boardCase, runConformance, type ConformanceOptions, type ConformanceReport } from './conformance';
import { decodeManifest, parseImage, type Manifest, type ParsedImage } from './format';
import { keyId, signImage, verifyImage } from './sign';
import { hex32, hexPid } from '../format/hex';

export type VerifyPolicy = 'full' | 'sample';

export interface BuildRequest {
  board: Board;
  method: MethodName;
  verify: VerifyPolicy;
  key: KeyObject;
  /** engine module to sign (default build/terminal.wasm) */
  module?: Uint8Array;
  /** agent binary to put in the image (default the committed one of the board's kind, agent/manifest.json) */
  agent?: Uint8Array;
  conformance?: ConformanceOptions;
  /** build time (tests pin it) */
  now?: Date;
}

export interface BuiltImage {
  bytes: Uint8Array;
  manifest: Manifest;
  module: Uint8Array;
  agent: Uint8Array;
  agentSignature: Uint8Array;
  conformance: ConformanceReport;
}

function toolVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Checks what can be checked before the conformance run; throws InputError (exit 2). */
export function checkBuildable(board: Board, method: string, verify: string, module: Uint8Array): asserts method is MethodName {
  if (!METHODS.includes(method as MethodName)) throw new InputError(`unknown method "${method}" (use ${METHODS.join(', ')})`);
  if (verify !== 'full' && verify !== 'sample') throw new InputError(`unknown verification "${verify}" (use full or sample)`);
  if (verify === 'sample' && !METHOD_SPECS[method as MethodName].allowsSampling) {
    throw new InputError(`method ${method} requires full verification: an image with --verify sample would be refused on every terminal`);
  }
  if (!board.agent) throw new InputError(`board ${board.id} has no room for the agent (bootloader-only path): an erase image cannot run on it`);
  try {
    checkModuleAbi(module);
  } catch (err) {
    throw new InputError(`the terminal module cannot be used: ${(err as Error).message}`);
  }
}

/**
 * The agent binary is one for this board (kind, link address) and carries exactly this module
 * (SHA-256 in its header); InputError otherwise.
 */
function checkAgentFor(board: Board, agent: Uint8Array, moduleSha256: string, what: string): void {
  let h;
  try {
    h = parseImageHeader(agent);
  } catch (err) {
    if (err instanceof LinkPayloadError) throw new InputError(`${what} is not an agent image: ${err.message}`);
    throw err;
  }
  if (h.size !== agent.length) throw new InputError(`${what} has ${agent.length} bytes, its header says ${h.size}`);
  if (!board.agent || h.kind !== board.agent.binary || h.load !== board.agent.load) {
    throw new InputError(
      `${what} is kind ${h.kind} linked at ${hex32(h.load)}; board ${board.id} runs ${board.agent ? `kind ${board.agent.binary} at ${hex32(board.agent.load)}` : 'no agent'}`,
    );
  }
  const carried = Buffer.from(h.moduleSha256).toString('hex');
  if (carried !== moduleSha256) throw new InputError(`${what} carries engine module ${carried}, the image's module is ${moduleSha256}`);
}

/**
 * Builds and signs an image for one board, method and verification policy. The conformance check
 * runs first over the board's plan; any runtime that disagrees with the host, or fails to run,
 * stops the build before anything is signed (VerificationError, exit 1).
 */
export function buildImage(req: BuildRequest): BuiltImage {
  const module = req.module ?? loadEngineModule('terminal');
  checkBuildable(req.board, req.method, req.verify, module);
  const agent = req.agent ?? agentOfKind(loadAgentManifest(), req.board.agent!.binary).bytes;
  checkAgentFor(req.board, agent, createHash('sha256').update(module).digest('hex'), 'the agent binary');
  const spec = METHOD_SPECS[req.method];
  const conformance = runConformance([boardCase(req.board, req.method)], { ...req.conformance, terminal: module });
  if (!conformance.ok) {
    const first = conformance.mismatches[0];
    const failed = conformance.runtimes.filter((r) => r.status === 'mismatch' || r.status === 'error');
    throw new VerificationError(
      `conformance check failed, nothing signed: ${failed.map((r) => `${r.runtime} ${r.status}${r.detail ? ` (${r.detail})` : ''}`).join('; ')}` +
        (first ? `; first: ${first.runtime} ${first.job} ${first.what}` : ''),
    );
  }
  const manifest: Manifest = {
    board: {
      id: req.board.id,
      name: req.board.name,
      productIds: req.board.productIds.map(hexPid),
      flash: { base: hex32(req.board.flash.base), size: req.board.flash.size },
    },
    method: { name: spec.name, nistType: spec.nistType, passes: spec.passes.map((p) => p.name) },
    verify: req.verify,
    blockSize: planErase(req.board).blockSize,
    engine: { abiVersion: ABI_VERSION, bytes: module.length, sha256: createHash('sha256').update(module).digest('hex') },
    agent: { kind: req.board.agent!.binary, load: hex32(req.board.agent!.load), bytes: agent.length, sha256: createHash('sha256').update(agent).digest('hex') },
    signer: { keyId: keyId(req.key) },
    tool: { name: 'poswipe', version: toolVersion() },
    builtAt: (req.now ?? new Date()).toISOString(),
    conformance: {
      runtimes: conformance.runtimes.filter((r) => r.status === 'agree').map((r) => r.runtime),
      skipped: conformance.skipped,
      jobs: conformance.jobs,
      digests: conformance.digests,
      selfcontainedSha256: conformance.selfcontainedSha256,
    },
  };
  const signed = signImage({ manifest, module, agent }, req.key);
  return { bytes: signed.bytes, manifest, module, agent, agentSignature: signed.agentSignature, conformance };
}

export interface OpenedImage {
  parsed: ParsedImage;
  manifest: Manifest;
  keyId: string;
  module: Uint8Array;
  /** the agent binary flash uploads, exactly these bytes, and its signature (for the signature block) */
  agent: Uint8Array;
  agentSignature: Uint8Array;
  method: MethodName;
  verify: VerifyPolicy;
  productIds: number[];
}

/** Reads an image file; a missing file is bad input. */
export function readImageFile(file: string): Uint8Array {
  if (!existsSync(file)) throw new InputError(`--image ${file}: no such file`);
  let b: Buffer;
  try {
    b = readFileSync(file);
  } catch (err) {
    throw new InputError(`--image ${file}: cannot read: ${(err as Error).message}`);
  }
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

/**
 * Opens an image for flashing: structure (InputError, exit 2), then both signatures against the
 * trusted keys (SafetyError, exit 4), then the manifest and its agreement with the module and with
 * this poswipe (InputError, exit 2). Nothing here touches a terminal.
 */
export function openImage(bytes: Uint8Array, trusted: readonly KeyObject[], name = 'image'): OpenedImage {
  const parsed = parseImage(bytes, name);
  const { keyId: signer } = verifyImage(parsed, trusted, name);
  const manifest = decodeManifest(parsed, name);
  const sha = createHash('sha256').update(parsed.module).digest('hex');
  if (sha !== manifest.engine.sha256 || parsed.module.length !== manifest.engine.bytes) {
    throw new InputError(
      `${name}: the module (${parsed.module.length} bytes, sha256 ${sha.slice(0, 16)}) is not the one its manifest names (${manifest.engine.bytes} bytes, ${manifest.engine.sha256.slice(0, 16)})`,
    );
  }
  if (manifest.engine.abiVersion !== ABI_VERSION) {
    throw new InputError(`${name}: built for engine ABI version ${manifest.engine.abiVersion}, this poswipe speaks ${ABI_VERSION}`);
  }
  try {
    checkModuleAbi(parsed.module);
  } catch (err) {
    throw new InputError(`${name}: ${(err as Error).message}`);
  }
  const agentSha = createHash('sha256').update(parsed.agent).digest('hex');
  if (agentSha !== manifest.agent.sha256 || parsed.agent.length !== manifest.agent.bytes) {
    throw new InputError(
      `${name}: the agent (${parsed.agent.length} bytes, sha256 ${agentSha.slice(0, 16)}) is not the one its manifest names (${manifest.agent.bytes} bytes, ${manifest.agent.sha256.slice(0, 16)})`,
    );
  }
  const header = parseImageHeader(parsed.agent);
  if (header.kind !== manifest.agent.kind || hex32(header.load) !== manifest.agent.load || header.size !== parsed.agent.length) {
    throw new InputError(
      `${name}: the agent's header (kind ${header.kind}, linked at ${hex32(header.load)}, ${header.size} bytes) differs from its manifest entry (kind ${manifest.agent.kind} at ${manifest.agent.load})`,
    );
  }
  const carried = Buffer.from(header.moduleSha256).toString('hex');
  if (carried !== manifest.engine.sha256)
    throw new InputError(`${name}: the agent carries engine module ${carried.slice(0, 16)}, the image's module is ${manifest.engine.sha256.slice(0, 16)}`);
  const method = manifest.method.name as MethodName;
  if (!METHODS.includes(method)) throw new InputError(`${name}: unknown method "${manifest.method.name}"`);
  const passes = METHOD_SPECS[method].passes.map((p) => p.name);
  if (passes.join(',') !== manifest.method.passes.join(',')) {
    throw new InputError(
      `${name}: method ${method} was built with passes ${manifest.method.passes.join(', ')}; this poswipe's ${method} runs ${passes.join(', ')}`,
    );
  }
  return {
    parsed,
    manifest,
    keyId: signer,
    module: parsed.module,
    agent: parsed.agent,
    agentSignature: parsed.agentSignature,
    method,
    verify: manifest.verify,
    productIds: manifest.board.productIds.map((p) => parseInt(p, 16)),
  };
}

/**
 * The board a flash runs against: the local board file of the image's board id, checked against
 * the image (flash geometry, block size), with the product IDs the image was built for.
 */
export function boardForImage(image: OpenedImage, local: Board, name = 'image'): Board {
  const m = image.manifest;
  if (local.flash.base !== parseInt(m.board.flash.base, 16) || local.flash.size !== m.board.flash.size) {
    throw new InputError(
      `${name}: built for ${m.board.id} with flash ${m.board.flash.base}+${m.board.flash.size}; the board file here says ${hex32(local.flash.base)}+${local.flash.size}`,
    );
  }
  if (!local.agent || local.agent.binary !== m.agent.kind || hex32(local.agent.load) !== m.agent.load) {
    throw new InputError(
      `${name}: carries agent ${m.agent.kind} for ${m.agent.load}; the board file here runs ${local.agent ? `${local.agent.binary} at ${hex32(local.agent.load)}` : 'no agent'}`,
    );
  }
  const blockSize = planErase(local).blockSize;
  if (blockSize !== m.blockSize) throw new InputError(`${name}: block size ${m.blockSize}, this poswipe plans ${blockSize}-byte blocks`);
  return { ...local, productIds: image.productIds };
}
