import CRC32 from 'crc-32';

/**
 * The agent link (docs/agent.md, "Frames"): framed messages between the host and the agent in
 * the terminal's RAM, both directions. Pure code on Uint8Array: the host's agent runner and the
 * emulator's model of the agent both use it, so the two sides cannot drift apart.
 *
 *   0xA5 | type | seq | length (u16 LE) | payload | CRC-32 (IEEE, LE) of type..payload
 */

export const LINK_VERSION = 1;
export const FRAME_START = 0xa5;
export const FRAME_OVERHEAD = 9;
/** the largest payload either side accepts: the engine's JOB_MAX */
export const MAX_PAYLOAD = 12376;
/** DATA frames carry at most this many bytes of the result table */
export const DATA_CHUNK = 1024;
export const AGENT_MAGIC = 0x47415750; // "PWAG"
export const PARAMS_MAGIC = 0x42505750; // "PWPB"
export const PARAMS_VERSION = 2;
export const PARAMS_SIZE = 56;
/** the parameter block's flash size is whole KiB (docs/agent.md "Parameter block") */
export const PARAMS_FLASH_UNIT = 1024;
export const HELLO_SIZE = 72;

export const REQ = {
  HELLO: 0x01,
  JOB: 0x02,
  READ: 0x03,
  CLOCK: 0x04,
  RESET: 0x05,
  STATUS: 0x06,
} as const;

export const REPLY = {
  HELLO: 0x81,
  ACCEPT: 0x82,
  PROGRESS: 0x83,
  DONE: 0x84,
  DATA: 0x85,
  CLOCK: 0x86,
  OK: 0x87,
  STATUS: 0x88,
  ERROR: 0x8f,
} as const;

export const LINK_ERROR = {
  UNKNOWN_TYPE: 1,
  BAD_LENGTH: 2,
  READ_RANGE: 3,
  TRAPPED: 4,
  CLOCK_UNSUPPORTED: 5,
  INSTANTIATE: 6,
} as const;

export const LINK_ERROR_NAMES: Record<number, string> = {
  1: 'unknown request type',
  2: 'payload length wrong for the request',
  3: 'READ outside the result table',
  4: 'the engine module trapped',
  5: 'clock not supported',
  6: 'the engine module did not instantiate',
};

/** wasm2c's trap codes (wasm-rt.h, wabt 1.0.32), the detail of ERROR reason 4 */
export const WASM_TRAP_NAMES: Record<number, string> = {
  1: 'out-of-bounds memory access',
  2: 'integer overflow',
  3: 'integer divide by zero',
  4: 'invalid conversion to integer',
  5: 'unreachable executed',
  6: 'invalid call_indirect',
  7: 'uncaught exception',
  8: 'call stack exhausted',
};

export const PROGRESS_KIND = { PROGRAMMED: 1, ERASED: 2, HASHED: 3 } as const;
export const AGENT_STATE = { IDLE: 0, RUNNING: 1, DONE: 2, TRAPPED: 3 } as const;

export interface Frame {
  type: number;
  seq: number;
  payload: Uint8Array;
}

/** CRC-32 (IEEE 802.3, reflected, as zlib computes it) as an unsigned number. */
export function crc32(bytes: Uint8Array): number {
  return CRC32.buf(bytes) >>> 0;
}

export function encodeFrame(type: number, seq: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (payload.length > MAX_PAYLOAD) throw new RangeError(`frame payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD}`);
  const out = new Uint8Array(FRAME_OVERHEAD + payload.length);
  const v = new DataView(out.buffer);
  out[0] = FRAME_START;
  out[1] = type & 0xff;
  out[2] = seq & 0xff;
  v.setUint16(3, payload.length, true);
  out.set(payload, 5);
  v.setUint32(5 + payload.length, crc32(out.subarray(1, 5 + payload.length)), true);
  return out;
}

/**
 * Byte-at-a-time receiver: hunts for the start byte, checks length and CRC, and hands out whole
 * frames. A bad frame is dropped and the hunt starts again at the byte after its start byte, so
 * a start byte inside garbage cannot hide a good frame that follows. Timeouts belong to the
 * caller (`reset()` drops a partial frame).
 */
export class FrameParser {
  private buf: number[] = [];
  /** frames dropped for a bad CRC or length since creation */
  dropped = 0;

  push(bytes: ArrayLike<number>): Frame[] {
    const out: Frame[] = [];
    for (let i = 0; i < bytes.length; i++) {
      this.buf.push(bytes[i]);
      this.scan(out);
    }
    return out;
  }

  /** a partial frame is pending */
  get partial(): boolean {
    return this.buf.length > 0;
  }

  /**
   * Bytes that complete the frame being assembled once its length is known (0 before that):
   * reading exactly that many never reads past the frame.
   */
  get missing(): number {
    if (this.buf.length < 5) return 0;
    return FRAME_OVERHEAD + (this.buf[3] | (this.buf[4] << 8)) - this.buf.length;
  }

  reset(): void {
    this.buf = [];
  }

  /**
   * The partial frame timed out (no byte for 100 ms): its start byte is dropped and the bytes
   * after it are hunted again, so a frame swallowed by a garbled length is still found.
   */
  expire(): Frame[] {
    if (this.buf.length === 0) return [];
    this.dropped++;
    const rest = this.buf.slice(1);
    this.buf = [];
    return this.push(rest);
  }

  private scan(out: Frame[]): void {
    for (;;) {
      const start = this.buf.indexOf(FRAME_START);
      if (start < 0) {
        this.buf = [];
        return;
      }
      if (start > 0) this.buf = this.buf.slice(start);
      if (this.buf.length < 5) return;
      const length = this.buf[3] | (this.buf[4] << 8);
      if (length > MAX_PAYLOAD) {
        this.dropped++;
        this.buf = this.buf.slice(1);
        continue;
      }
      if (this.buf.length < FRAME_OVERHEAD + length) return;
      const bytes = Uint8Array.from(this.buf.slice(0, FRAME_OVERHEAD + length));
      const v = new DataView(bytes.buffer);
      if (v.getUint32(5 + length, true) !== crc32(bytes.subarray(1, 5 + length))) {
        this.dropped++;
        this.buf = this.buf.slice(1);
        continue;
      }
      out.push({ type: bytes[1], seq: bytes[2], payload: bytes.slice(5, 5 + length) });
      this.buf = this.buf.slice(FRAME_OVERHEAD + length);
    }
  }
}

// ---- payloads ----

function words(...values: number[]): Uint8Array {
  const out = new Uint8Array(4 * values.length);
  const v = new DataView(out.buffer);
  values.forEach((x, i) => v.setUint32(4 * i, x >>> 0, true));
  return out;
}

function view(p: Uint8Array): DataView {
  return new DataView(p.buffer, p.byteOffset, p.byteLength);
}

function need(p: Uint8Array, n: number, what: string): DataView {
  if (p.length !== n) throw new LinkPayloadError(`${what} payload of ${p.length} bytes, expected ${n}`);
  return view(p);
}

export class LinkPayloadError extends Error {}

export interface Hello {
  linkVersion: number;
  abiVersion: number;
  agentVersion: number;
  coreClockHz: number;
  moduleSha256: Uint8Array;
  jobMax: number;
  resultMax: number;
  kind: string;
  flags: number;
  imageCrc: number;
}

export const HELLO_FLAG_CLOCK = 1;

export function encodeHello(h: Hello): Uint8Array {
  const out = new Uint8Array(HELLO_SIZE);
  const v = view(out);
  v.setUint32(0, AGENT_MAGIC, true);
  v.setUint16(4, h.linkVersion, true);
  v.setUint16(6, h.abiVersion, true);
  v.setUint32(8, h.agentVersion, true);
  v.setUint32(12, h.coreClockHz, true);
  out.set(h.moduleSha256.subarray(0, 32), 16);
  v.setUint32(48, h.jobMax, true);
  v.setUint32(52, h.resultMax, true);
  out.set(new TextEncoder().encode(h.kind).subarray(0, 8), 56);
  v.setUint32(64, h.flags, true);
  v.setUint32(68, h.imageCrc, true);
  return out;
}

export function decodeHello(p: Uint8Array): Hello {
  const v = need(p, HELLO_SIZE, 'HELLO');
  if (v.getUint32(0, true) !== AGENT_MAGIC) throw new LinkPayloadError('HELLO without the PWAG magic');
  const kindBytes = p.subarray(56, 64);
  const end = kindBytes.indexOf(0);
  return {
    linkVersion: v.getUint16(4, true),
    abiVersion: v.getUint16(6, true),
    agentVersion: v.getUint32(8, true),
    coreClockHz: v.getUint32(12, true),
    moduleSha256: p.slice(16, 48),
    jobMax: v.getUint32(48, true),
    resultMax: v.getUint32(52, true),
    kind: new TextDecoder().decode(end < 0 ? kindBytes : kindBytes.subarray(0, end)),
    flags: v.getUint32(64, true),
    imageCrc: v.getUint32(68, true),
  };
}

export const encodeAccept = (jobLength: number): Uint8Array => words(jobLength);
export function decodeAccept(p: Uint8Array): number {
  return need(p, 4, 'ACCEPT').getUint32(0, true);
}

export interface Progress {
  kind: number;
  value: number;
}
export function encodeProgress(kind: number, value: number): Uint8Array {
  const out = words(0, value);
  out[0] = kind;
  return out;
}
export function decodeProgress(p: Uint8Array): Progress {
  const v = need(p, 8, 'PROGRESS');
  return { kind: p[0], value: v.getUint32(4, true) };
}

export interface Done {
  status: number;
  resultLength: number;
  blocks: number;
}
export const encodeDone = (d: Done): Uint8Array => words(d.status, d.resultLength, d.blocks);
export function decodeDone(p: Uint8Array): Done {
  const v = need(p, 12, 'DONE');
  return { status: v.getUint32(0, true), resultLength: v.getUint32(4, true), blocks: v.getUint32(8, true) };
}

export function encodeData(offset: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + bytes.length);
  view(out).setUint32(0, offset, true);
  out.set(bytes, 4);
  return out;
}
export function decodeData(p: Uint8Array): { offset: number; bytes: Uint8Array } {
  if (p.length < 4) throw new LinkPayloadError(`DATA payload of ${p.length} bytes`);
  return { offset: view(p).getUint32(0, true), bytes: p.slice(4) };
}

export function encodeRead(offset: number, length: number): Uint8Array {
  const out = new Uint8Array(6);
  const v = view(out);
  v.setUint32(0, offset, true);
  v.setUint16(4, length, true);
  return out;
}
export function decodeRead(p: Uint8Array): { offset: number; length: number } {
  const v = need(p, 6, 'READ');
  return { offset: v.getUint32(0, true), length: v.getUint16(4, true) };
}

export const encodeClock = (hz: number): Uint8Array => words(hz);
export function decodeClock(p: Uint8Array): number {
  return need(p, 4, 'CLOCK').getUint32(0, true);
}

export interface Status {
  state: number;
  jobSeq: number;
  status: number;
  resultLength: number;
}
export function encodeStatus(s: Status): Uint8Array {
  const out = words(0, s.status, s.resultLength);
  out[0] = s.state;
  out[1] = s.jobSeq;
  return out;
}
export function decodeStatus(p: Uint8Array): Status {
  const v = need(p, 12, 'STATUS');
  return { state: p[0], jobSeq: p[1], status: v.getUint32(4, true), resultLength: v.getUint32(8, true) };
}

export interface LinkErrorReply {
  reason: number;
  detail: number;
}
export function encodeError(reason: number, detail: number): Uint8Array {
  const out = words(0, detail);
  out[0] = reason;
  return out;
}
export function decodeError(p: Uint8Array): LinkErrorReply {
  const v = need(p, 8, 'ERROR');
  return { reason: p[0], detail: v.getUint32(4, true) };
}

// ---- the parameter block the host writes before Go ----

export interface AgentParams {
  baud: number;
  coreClockHz: number;
  usart: number;
  usartClockRegister: number;
  usartClockMask: number;
  gpio: number;
  gpioClockRegister: number;
  gpioClockMask: number;
  tx: number;
  rx: number;
  af: number;
  idleTimeoutMs: number;
  /** bytes of flash from 0x08000000 that hal.read/erase/program may touch; 0 = the part's flash size register */
  flashSize: number;
}

export function encodeParams(p: AgentParams): Uint8Array {
  const out = new Uint8Array(PARAMS_SIZE);
  const v = view(out);
  [PARAMS_MAGIC, PARAMS_VERSION, p.baud, p.coreClockHz, p.usart, p.usartClockRegister, p.usartClockMask, p.gpio, p.gpioClockRegister, p.gpioClockMask].forEach(
    (x, i) => v.setUint32(4 * i, x >>> 0, true),
  );
  out[40] = p.tx;
  out[41] = p.rx;
  out[42] = p.af;
  v.setUint32(44, p.idleTimeoutMs >>> 0, true);
  v.setUint32(48, p.flashSize >>> 0, true);
  v.setUint32(52, crc32(out.subarray(0, 52)), true);
  return out;
}

/** The block as the agent reads it; null when its magic, version or CRC is wrong (the agent resets). */
export function decodeParams(bytes: Uint8Array): AgentParams | null {
  if (bytes.length < PARAMS_SIZE) return null;
  const v = view(bytes);
  if (v.getUint32(0, true) !== PARAMS_MAGIC || v.getUint32(4, true) !== PARAMS_VERSION) return null;
  if (v.getUint32(52, true) !== crc32(bytes.subarray(0, 52))) return null;
  const w = (i: number): number => v.getUint32(4 * i, true);
  return {
    baud: w(2),
    coreClockHz: w(3),
    usart: w(4),
    usartClockRegister: w(5),
    usartClockMask: w(6),
    gpio: w(7),
    gpioClockRegister: w(8),
    gpioClockMask: w(9),
    tx: bytes[40],
    rx: bytes[41],
    af: bytes[42],
    idleTimeoutMs: v.getUint32(44, true),
    flashSize: v.getUint32(48, true),
  };
}

// ---- the signature block the host writes at the parameter block + 64 (signed images) ----

export const SIGNATURE_MAGIC = 0x47535750; // "PWSG"
export const SIGNATURE_BLOCK_OFFSET = 64;
export const SIGNATURE_BYTES = 64;
export const SIGNATURE_BLOCK_SIZE = 8 + SIGNATURE_BYTES;

/** { u32 magic PWSG, u32 64, 64-byte Ed25519 signature over the agent binary } */
export function encodeSignatureBlock(signature: Uint8Array): Uint8Array {
  if (signature.length !== SIGNATURE_BYTES) throw new RangeError(`an agent signature has ${SIGNATURE_BYTES} bytes, got ${signature.length}`);
  const out = new Uint8Array(SIGNATURE_BLOCK_SIZE);
  const v = view(out);
  v.setUint32(0, SIGNATURE_MAGIC, true);
  v.setUint32(4, SIGNATURE_BYTES, true);
  out.set(signature, 8);
  return out;
}

/** The signature in a block, or null when its magic or length is wrong. */
export function decodeSignatureBlock(bytes: Uint8Array): Uint8Array | null {
  if (bytes.length < SIGNATURE_BLOCK_SIZE) return null;
  const v = view(bytes);
  if (v.getUint32(0, true) !== SIGNATURE_MAGIC || v.getUint32(4, true) !== SIGNATURE_BYTES) return null;
  return bytes.slice(8, 8 + SIGNATURE_BYTES);
}

// ---- the image header at offset 0x40 of every agent binary ----

export const IMAGE_HEADER_OFFSET = 0x40;
export const IMAGE_HEADER_SIZE = 0x4c;

export interface AgentImageHeader {
  headerVersion: number;
  linkVersion: number;
  abiVersion: number;
  load: number;
  size: number;
  params: number;
  ramEnd: number;
  kind: string;
  moduleSha256: Uint8Array;
  agentVersion: number;
  initialSp: number;
  entry: number;
}

/** Parses an agent binary's vector table and header; throws naming the first field that is wrong. */
export function parseImageHeader(image: Uint8Array): AgentImageHeader {
  if (image.length < IMAGE_HEADER_OFFSET + IMAGE_HEADER_SIZE) throw new LinkPayloadError(`agent image of ${image.length} bytes is shorter than its header`);
  const v = view(image);
  const h = IMAGE_HEADER_OFFSET;
  if (v.getUint32(h, true) !== AGENT_MAGIC) throw new LinkPayloadError('agent image has no PWAG header at offset 0x40');
  const kindBytes = image.subarray(h + 0x20, h + 0x28);
  const end = kindBytes.indexOf(0);
  return {
    headerVersion: v.getUint32(h + 4, true),
    linkVersion: v.getUint32(h + 8, true),
    abiVersion: v.getUint32(h + 12, true),
    load: v.getUint32(h + 16, true),
    size: v.getUint32(h + 20, true),
    params: v.getUint32(h + 24, true),
    ramEnd: v.getUint32(h + 28, true),
    kind: new TextDecoder().decode(end < 0 ? kindBytes : kindBytes.subarray(0, end)),
    moduleSha256: image.slice(h + 0x28, h + 0x48),
    agentVersion: v.getUint32(h + 0x48, true),
    initialSp: v.getUint32(0, true),
    entry: v.getUint32(4, true),
  };
}
