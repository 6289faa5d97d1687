import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../engine/module';
import { SafetyError } from '../errors';
import { LINK_VERSION, parseImageHeader, type AgentImageHeader } from '../protocol/link';

/**
 * The committed agent binaries (agent/bin/<kind>.bin) and their manifest (agent/manifest.json),
 * as `npm run build:agent` writes them (docs/agent.md, "Kinds"). Loading checks every binary
 * against its manifest entry and its own image header, so a stale or hand-edited binary is
 * refused before it can be uploaded.
 */
export interface AgentBinary {
  kind: string;
  core: string;
  flashInterface: string;
  load: number;
  entry: number;
  size: number;
  sha256: string;
  params: number;
  ramEnd: number;
  bytes: Uint8Array;
  header: AgentImageHeader;
}

export interface AgentManifest {
  linkVersion: number;
  abiVersion: number;
  /** SHA-256 (hex) of the build/terminal.wasm the agents carry */
  moduleSha256: string;
  agents: AgentBinary[];
}

export class ManifestError extends Error {}

/**
 * The one-line refusal of a file whose SHA-256 is not the one the manifest pins (host/agent/pinned.ts):
 * a SafetyError (exit 4), since running it would certify whatever it reports.
 */
export function unpinned(file: string, found: string, expected: string): SafetyError {
  const why = 'refused (a locally changed build; rebuild from a clean checkout, or name it with --engine)';
  return new SafetyError(`${file}: SHA-256 ${found} on disk, the shipped agent/manifest.json pins ${expected}: ${why}`);
}

interface RawAgent {
  kind: string;
  core: string;
  flashInterface: string;
  binary: string;
  load: string;
  entry: string;
  size: number;
  sha256: string;
  params: string;
  ramEnd: string;
}

const hex = (s: string, what: string): number => {
  if (!/^0x[0-9a-f]{1,8}$/i.test(s)) throw new ManifestError(`agent manifest: ${what} "${s}" is not a 32-bit hex address`);
  return Number.parseInt(s, 16) >>> 0;
};

/** Checks one binary against its manifest entry; pure (the bytes are given). */
export function checkAgentBinary(raw: RawAgent, bytes: Uint8Array, linkVersion: number, abiVersion: number, moduleSha256: string): AgentBinary {
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== raw.sha256) throw unpinned(raw.binary, sha, raw.sha256);
  const header = parseImageHeader(bytes);
  const load = hex(raw.load, `${raw.kind}.load`);
  const mismatch = (field: string, a: unknown, b: unknown): never => {
    throw new ManifestError(`agent ${raw.kind}: image header ${field} ${String(a)} differs from the manifest's ${String(b)}`);
  };
  if (header.load !== load) mismatch('link address', header.load, raw.load);
  if (header.size !== bytes.length || raw.size !== bytes.length) mismatch('size', header.size, raw.size);
  if (header.kind !== raw.kind) mismatch('kind', header.kind, raw.kind);
  if (header.linkVersion !== linkVersion) mismatch('link version', header.linkVersion, linkVersion);
  if (header.abiVersion !== abiVersion) mismatch('ABI version', header.abiVersion, abiVersion);
  if (Buffer.from(header.moduleSha256).toString('hex') !== moduleSha256) mismatch('module SHA-256', Buffer.from(header.moduleSha256).toString('hex'), moduleSha256);
  if (header.params !== hex(raw.params, `${raw.kind}.params`)) mismatch('parameter block address', header.params, raw.params);
  if (header.ramEnd !== hex(raw.ramEnd, `${raw.kind}.ramEnd`)) mismatch('RAM end', header.ramEnd, raw.ramEnd);
  if ((header.entry & ~1) !== (hex(raw.entry, `${raw.kind}.entry`) & ~1)) mismatch('entry', header.entry, raw.entry);
  if ((header.entry & 1) !== 1 || header.entry - 1 < load || header.entry - 1 >= load + bytes.length) {
    throw new ManifestError(`agent ${raw.kind}: reset handler 0x${header.entry.toString(16)} is not a Thumb address inside the image`);
  }
  return {
    kind: raw.kind,
    core: raw.core,
    flashInterface: raw.flashInterface,
    load,
    entry: header.entry,
    size: bytes.length,
    sha256: sha,
    params: header.params,
    ramEnd: header.ramEnd,
    bytes,
    header,
  };
}

/** Parses a manifest and its binaries, read through `readBinary` (file system or bundle). */
export function parseAgentManifest(json: string, readBinary: (relative: string) => Uint8Array): AgentManifest {
  let raw: { linkVersion: number; abiVersion: number; module: { sha256: string }; agents: RawAgent[] };
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new ManifestError(`agent manifest is not JSON: ${(err as Error).message}`);
  }
  if (raw.linkVersion !== LINK_VERSION) throw new ManifestError(`agent manifest is for link version ${raw.linkVersion}, this host speaks ${LINK_VERSION}`);
  if (!raw.module || !/^[0-9a-f]{64}$/.test(raw.module.sha256)) throw new ManifestError('agent manifest has no module SHA-256');
  if (!Array.isArray(raw.agents) || raw.agents.length === 0) throw new ManifestError('agent manifest lists no agents');
  return {
    linkVersion: raw.linkVersion,
    abiVersion: raw.abiVersion,
    moduleSha256: raw.module.sha256,
    agents: raw.agents.map((a) => checkAgentBinary(a, readBinary(a.binary), raw.linkVersion, raw.abiVersion, raw.module.sha256)),
  };
}

/** What the board rules need to know of one agent kind: the manifest entry without its bytes. */
export interface AgentCatalogEntry {
  kind: string;
  core: string;
  flashInterface: string;
  load: number;
  size: number;
  params: number;
  ramEnd: number;
}

/** The manifest's entries, parsed but not checked against their binaries (that is loadAgentManifest's job). */
export function parseAgentCatalog(json: string): AgentCatalogEntry[] {
  let raw: { agents?: RawAgent[] };
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new ManifestError(`agent manifest is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(raw.agents)) throw new ManifestError('agent manifest lists no agents');
  return raw.agents.map((a) => ({
    kind: a.kind,
    core: a.core,
    flashInterface: a.flashInterface,
    load: hex(a.load, `${a.kind}.load`),
    size: a.size,
    params: hex(a.params, `${a.kind}.params`),
    ramEnd: hex(a.ramEnd, `${a.kind}.ramEnd`),
  }));
}

/** The text of `<root>/agent/manifest.json`; ManifestError when there is none. */
function readManifestText(root: string): string {
  const file = path.join(root, 'agent', 'manifest.json');
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    throw new ManifestError(`no agent manifest at ${file} (run npm run build:agent with the ARM toolchain)`);
  }
}

const catalogs = new Map<string, AgentCatalogEntry[]>();

/** The package's agent kinds (agent/manifest.json), read once per process; ManifestError when there is no manifest. */
export function agentCatalog(root: string = packageRoot()): AgentCatalogEntry[] {
  const hit = catalogs.get(root);
  if (hit) return hit;
  const json = readManifestText(root);
  const c = parseAgentCatalog(json);
  catalogs.set(root, c);
  return c;
}

let cached: AgentManifest | null = null;
let provided: AgentManifest | null = null;

/**
 * Installs the manifest this process uses instead of reading agent/manifest.json: the browser
 * bundle embeds the manifest and binaries and passes them through parseAgentManifest (so they are
 * checked exactly as on disk); nothing is read from a file system there.
 */
export function provideAgentManifest(m: AgentManifest): void {
  provided = m;
}

/** The package's agent/manifest.json with its binaries, checked once per process (or the one provided). */
export function loadAgentManifest(root?: string): AgentManifest {
  if (provided && root === undefined) return provided;
  root ??= packageRoot();
  if (cached && root === packageRoot()) return cached;
  const json = readManifestText(root);
  const m = parseAgentManifest(json, (rel) => {
    const p = path.join(root, rel);
    try {
      return new Uint8Array(fs.readFileSync(p));
    } catch {
      throw new ManifestError(`agent binary ${rel} named by the manifest is missing`);
    }
  });
  if (root === packageRoot()) cached = m;
  return m;
}

/** The agent binary of `kind` (a board's `agent.binary`), or a ManifestError naming the kinds there are. */
export function agentOfKind(manifest: AgentManifest, kind: string): AgentBinary {
  const a = manifest.agents.find((x) => x.kind === kind);
  if (!a) throw new ManifestError(`no agent of kind "${kind}" in the manifest (have: ${manifest.agents.map((x) => x.kind).join(', ')})`);
  return a;
}
