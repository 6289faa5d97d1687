/**
 * Which engine module and agent binary a run may use (issue #15, "pinned engine and agent").
 *
 * Digests from the terminal prove freshness, not erasure: an engine that skips the erase and
 * reports the expected digests would be certified. So the host runs only
 *   - the engine module (build/terminal.wasm) and agent binaries (agent/bin/*.bin) whose SHA-256
 *     the package's agent/manifest.json lists (`manifest`);
 *   - the module and agent inside a signed image whose signature the host checked (`signed-image`,
 *     host/image/build.ts `openImage`); or
 *   - an engine the operator names with `--engine` (`custom`), which every record then calls custom.
 * Everything here runs before a port is opened and prints nothing (the caller reports).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Board } from '../boards/types';
import { checkModuleAbi, packageRoot } from '../engine/module';
import { InputError, SafetyError } from '../errors';
import { readInputFile } from '../files/read-bounded';
import { IMAGE_HEADER_OFFSET, parseImageHeader } from '../protocol/link';
import { ManifestError, agentOfKind, loadAgentManifest, unpinned, type AgentManifest } from './manifest';

export type EngineSource = 'manifest' | 'signed-image' | 'custom';

/** Where the engine of a run came from; the report and the certificate carry it (field names are part of docs/records.md). */
export interface EngineProvenance {
  source: EngineSource;
  /** SHA-256 (hex) of the engine module the agent carries */
  moduleSha256: string;
  /** SHA-256 (hex) of the agent binary uploaded; null where the board has no agent */
  agentSha256: string | null;
  /** the file the module came from, for a custom engine or a signed image */
  file?: string;
}

/** What a run hands to the session: the module the agent must carry and, when not the committed one, the agent to upload. */
export interface EngineChoice {
  /** the engine module: HELLO's module SHA-256 is checked against it */
  module: Uint8Array;
  /** the agent binary to upload; undefined = the committed one of the board's kind */
  agent?: Uint8Array;
  engine: EngineProvenance;
  /** `--engine` without `--agent` (emulated port only): the model of the agent must run this module */
  modelEngine?: Uint8Array;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The package's manifest with every agent binary checked against it (hash, header, module hash):
 * any mismatch, or no manifest at all, is a SafetyError, since nothing could then be pinned.
 */
export function loadPinnedManifest(root?: string): AgentManifest {
  try {
    return loadAgentManifest(root);
  } catch (err) {
    if (err instanceof SafetyError) throw err;
    if (err instanceof ManifestError) throw new SafetyError(`${err.message}: refused (the engine and agents cannot be pinned)`);
    throw err;
  }
}

/** build/terminal.wasm of `root`, refused unless its SHA-256 is the manifest's `module.sha256`. */
export function loadPinnedEngine(manifest: AgentManifest, root: string = packageRoot()): Uint8Array {
  const file = path.join(root, 'build', 'terminal.wasm');
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new InputError(`engine module ${file} not found (run \`npm run build\`): ${(err as Error).message}`);
  }
  const found = sha256Hex(bytes);
  if (found !== manifest.moduleSha256) throw unpinned(file, found, manifest.moduleSha256);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** The pinned manifest and engine module of `root`, checked (what `erase --board auto` checks before detection opens the port). */
export function loadPinned(root?: string): { manifest: AgentManifest; module: Uint8Array } {
  const manifest = loadPinnedManifest(root);
  return { manifest, module: loadPinnedEngine(manifest, root) };
}

/**
 * What chooseEngine can check before the board is known (`--board auto` detects it by opening the
 * port): the pinned files, or the `--engine` module (and that `--agent` does not come alone).
 */
export function precheckEngine(o: Omit<EngineOptions, 'port'>): void {
  if (o.agentFile !== undefined && o.engineFile === undefined) {
    throw new InputError('--agent <file> goes with --engine <file>: the agent binary carries the engine it was built with');
  }
  if (o.engineFile === undefined) loadPinned(o.root);
  else readCustomEngine(o.engineFile);
}

/** The committed agent of the board's kind (its SHA-256), or null for a board erased through the bootloader. */
function committedAgentSha(manifest: AgentManifest, board: Board): string | null {
  if (!board.agent) return null;
  try {
    return agentOfKind(manifest, board.agent.binary).sha256;
  } catch (err) {
    throw new SafetyError(`${(err as Error).message}: refused`);
  }
}

/** The provenance of the pinned engine and the committed agent of `board`'s kind. */
export function manifestEngine(manifest: AgentManifest, board: Board): EngineProvenance {
  return { source: 'manifest', moduleSha256: manifest.moduleSha256, agentSha256: committedAgentSha(manifest, board) };
}

export interface EngineOptions {
  /** `--engine <file>`: an explicit other engine module */
  engineFile?: string;
  /** `--agent <file>`: the agent binary that carries it */
  agentFile?: string;
  /** the port: `emu` or a serial device */
  port: string;
  /** the package root (tests point it at a copy); default the running poswipe's */
  root?: string;
}

/** A module the operator named: it must be an engine this host can drive (exit 2 otherwise). */
function readCustomEngine(file: string): Uint8Array {
  const bytes = new Uint8Array(readInputFile(file, '--engine', 'image'));
  try {
    checkModuleAbi(bytes);
  } catch (err) {
    throw new InputError(`--engine ${file}: ${(err as Error).message}`);
  }
  return bytes;
}

/** An agent binary the operator named: its header must say it is of the board's kind and carries `moduleSha` (exit 2 otherwise). */
function readCustomAgent(file: string, board: Board, moduleSha: string): Uint8Array {
  const bytes = new Uint8Array(readInputFile(file, '--agent', 'image'));
  let header: ReturnType<typeof parseImageHeader>;
  try {
    header = parseImageHeader(bytes);
  } catch (err) {
    throw new InputError(`--agent ${file}: ${(err as Error).message}`);
  }
  const kind = board.agent!.binary;
  if (header.kind !== kind) throw new InputError(`--agent ${file}: an agent of kind ${header.kind}, board ${board.id} needs kind ${kind}`);
  const carried = Buffer.from(header.moduleSha256).toString('hex');
  if (carried !== moduleSha) {
    throw new InputError(`--agent ${file}: carries engine module ${carried}, not the --engine module ${moduleSha}: they must be built together`);
  }
  return bytes;
}

/**
 * The engine and agent of one `erase` run on `board`, checked before the port opens:
 * - no `--engine`: the pinned ones (manifest); a changed build/terminal.wasm or agent binary is a SafetyError;
 * - `--engine` with `--agent`: that pair (the agent's header must carry the module), on any port;
 * - `--engine` alone: only on `--port emu`, where the model of the agent runs the module (a real
 *   agent, or the instruction-level emulator, runs the engine compiled into its binary, not a file).
 */
export function chooseEngine(board: Board, o: EngineOptions): EngineChoice {
  const manifest = loadPinnedManifest(o.root);
  if (o.agentFile !== undefined && o.engineFile === undefined) {
    throw new InputError('--agent <file> goes with --engine <file>: the agent binary carries the engine it was built with');
  }
  if (o.engineFile === undefined) {
    const module = loadPinnedEngine(manifest, o.root ?? packageRoot());
    checkModuleAbi(module); // pinned, yet built for this host's ABI? (a host newer than the committed agents says so here)
    return { module, engine: manifestEngine(manifest, board) };
  }
  if (!board.agent) throw new InputError(`--engine: board ${board.id} is erased through the bootloader's own commands; no engine runs on it`);
  const module = readCustomEngine(o.engineFile);
  const moduleSha256 = sha256Hex(module);
  const file = path.resolve(o.engineFile);
  if (o.agentFile !== undefined) {
    const agent = readCustomAgent(o.agentFile, board, moduleSha256);
    return { module, agent, engine: { source: 'custom', moduleSha256, agentSha256: sha256Hex(agent), file } };
  }
  if (o.port !== 'emu') {
    throw new InputError(`--engine on a serial port needs --agent <file>: the agent binary runs the engine compiled into it, not ${o.engineFile}`);
  }
  // the model's agent carries the module: the committed binary with the module's hash in its header (agentCarrying)
  const agent = agentCarrying(agentOfKind(manifest, board.agent.binary).bytes, Buffer.from(moduleSha256, 'hex'));
  return { module, agent, modelEngine: module, engine: { source: 'custom', moduleSha256, agentSha256: sha256Hex(agent), file } };
}

/** where an agent image's header holds the SHA-256 of the engine module it carries (docs/agent.md, image header) */
const HEADER_MODULE_SHA = IMAGE_HEADER_OFFSET + 0x28;

/**
 * A committed agent binary whose header names `moduleSha256` as the module it carries: what the
 * model of the agent runs for `--engine` without `--agent` (host/emulator/agent-model.ts
 * recognises exactly these bytes). Simulated: no such binary exists for a real part.
 */
export function agentCarrying(agent: Uint8Array, moduleSha256: Uint8Array): Uint8Array {
  const out = new Uint8Array(agent);
  out.set(moduleSha256, HEADER_MODULE_SHA);
  return out;
}

/** The provenance of a signed image's module and agent (`flash`: openImage has checked both signatures). */
export function signedImageEngine(module: Uint8Array, agent: Uint8Array | undefined, file: string): EngineProvenance {
  return { source: 'signed-image', moduleSha256: sha256Hex(module), agentSha256: agent ? sha256Hex(agent) : null, file: path.resolve(file) };
}
