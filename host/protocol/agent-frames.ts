import { crc32 } from 'node:zlib';

/**
 * What the terminal's agent says on the line after Go (docs/abi.md, "The agent on the terminal"):
 * 4-byte frames [tag, lo, hi, tag ^ lo ^ hi]. Shared by the host and the emulated agent.
 */
export const AGENT_FRAME = {
  RUNNING: 0x52, // 'R'
  PROGRAMMED: 0x50, // 'P'
  ERASED: 0x45, // 'E'
  HASHED: 0x48, // 'H'
  DONE: 0x44, // 'D'
  REFUSED: 0x58, // 'X'
} as const;

export const REFUSE = {
  BAD_HEADER: 1,
  INSTANTIATE: 2,
  ABI_VERSION: 3,
  SIGNATURE: 4,
  JOB_FIT: 5,
  TRAPPED: 6,
} as const;

export const REFUSE_REASONS: Record<number, string> = {
  1: 'bad load header',
  2: 'module does not instantiate',
  3: 'module ABI version differs',
  4: 'module signature missing or not trusted',
  5: 'job or result does not fit the agent areas',
  6: 'module trapped while running',
};

/** Load header in front of the module in RAM: magic 'PWMD', module length, signature length, CRC-32 of the module. */
export const LOAD_MAGIC = 0x444d5750;
export const LOAD_HEADER_SIZE = 16;

export interface AgentFrame {
  tag: number;
  value: number;
}

export function agentFrame(tag: number, value: number): Uint8Array {
  const lo = value & 0xff;
  const hi = (value >> 8) & 0xff;
  return Uint8Array.of(tag, lo, hi, tag ^ lo ^ hi);
}

/** Decodes one frame; null when the check byte or the tag is wrong. */
export function decodeAgentFrame(f: ArrayLike<number>): AgentFrame | null {
  if (f.length !== 4 || (f[0] ^ f[1] ^ f[2]) !== f[3]) return null;
  if (!Object.values(AGENT_FRAME).includes(f[0] as never)) return null;
  return { tag: f[0], value: f[1] | (f[2] << 8) };
}

export function loadImage(module: Uint8Array, signature: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(LOAD_HEADER_SIZE + module.length + signature.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, LOAD_MAGIC, true);
  v.setUint32(4, module.length, true);
  v.setUint32(8, signature.length, true);
  v.setUint32(12, crc32(module), true);
  out.set(module, LOAD_HEADER_SIZE);
  out.set(signature, LOAD_HEADER_SIZE + module.length);
  return out;
}
