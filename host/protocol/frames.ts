/**
 * AN3155 frame encoding and decoding: pure functions on Uint8Array, shared by the host client and
 * the emulated bootloader so that both sides speak from one definition.
 */
export const SYNC = 0x7f;
export const ACK = 0x79;
export const NACK = 0x1f;

export const CMD = {
  GET: 0x00,
  GET_VERSION: 0x01,
  GET_ID: 0x02,
  READ_MEMORY: 0x11,
  GO: 0x21,
  WRITE_MEMORY: 0x31,
  ERASE: 0x43,
  EXTENDED_ERASE: 0x44,
  WRITE_PROTECT: 0x63,
  WRITE_UNPROTECT: 0x73,
  READOUT_PROTECT: 0x82,
  READOUT_UNPROTECT: 0x92,
  GET_CHECKSUM: 0xa1,
} as const;

export const COMMAND_NAMES: Record<number, string> = {
  0x00: 'Get',
  0x01: 'Get Version',
  0x02: 'Get ID',
  0x11: 'Read Memory',
  0x21: 'Go',
  0x31: 'Write Memory',
  0x43: 'Erase',
  0x44: 'Extended Erase',
  0x63: 'Write Protect',
  0x73: 'Write Unprotect',
  0x82: 'Readout Protect',
  0x92: 'Readout Unprotect',
  0xa1: 'Get Checksum',
};

/** Command names as written in fault specs (`nack@read`), mapped to codes. */
export const COMMAND_BY_NAME: Record<string, number> = {
  get: 0x00,
  'get-version': 0x01,
  'get-id': 0x02,
  read: 0x11,
  go: 0x21,
  write: 0x31,
  erase: 0x43,
  'extended-erase': 0x44,
  'write-protect': 0x63,
  'write-unprotect': 0x73,
  'readout-protect': 0x82,
  'readout-unprotect': 0x92,
  'get-checksum': 0xa1,
};

export function commandName(code: number): string {
  return COMMAND_NAMES[code] ?? `command 0x${code.toString(16).padStart(2, '0')}`;
}

/** Maximum bytes moved by one Read Memory or Write Memory command. */
export const MAX_TRANSFER = 256;
/** Maximum pages per Erase/Extended Erase request that clients send (stm32flash splits at 511). */
export const MAX_ERASE_GROUP = 511;

export const SPECIAL_ERASE = {
  MASS: 0xffff,
  BANK1: 0xfffe,
  BANK2: 0xfffd,
} as const;

export function xorOf(bytes: ArrayLike<number>, start = 0, end = bytes.length): number {
  let x = 0;
  for (let i = start; i < end; i++) x ^= bytes[i];
  return x & 0xff;
}

/** A command: the code and its complement. */
export function commandFrame(code: number): Uint8Array {
  return Uint8Array.of(code & 0xff, ~code & 0xff);
}

export function isCommandFrame(b0: number, b1: number): boolean {
  return ((b0 ^ b1) & 0xff) === 0xff;
}

/** An address: four bytes, most significant first, then their XOR. */
export function addressFrame(address: number): Uint8Array {
  const f = new Uint8Array(5);
  f[0] = (address >>> 24) & 0xff;
  f[1] = (address >>> 16) & 0xff;
  f[2] = (address >>> 8) & 0xff;
  f[3] = address & 0xff;
  f[4] = xorOf(f, 0, 4);
  return f;
}

/** Decodes an address frame; null when its XOR is wrong. */
export function decodeAddressFrame(f: ArrayLike<number>): number | null {
  if (f.length !== 5 || xorOf(f, 0, 4) !== f[4]) return null;
  return ((f[0] << 24) | (f[1] << 16) | (f[2] << 8) | f[3]) >>> 0;
}

/** A data frame: N-1, the N bytes, and the XOR of N-1 and all the bytes. */
export function dataFrame(data: Uint8Array): Uint8Array {
  if (data.length < 1 || data.length > MAX_TRANSFER) {
    throw new RangeError(`data frame of ${data.length} bytes (1..${MAX_TRANSFER} allowed)`);
  }
  const f = new Uint8Array(data.length + 2);
  f[0] = data.length - 1;
  f.set(data, 1);
  f[f.length - 1] = xorOf(f, 0, f.length - 1);
  return f;
}

/** The length frame of Read Memory: N-1 and its complement. */
export function readLengthFrame(length: number): Uint8Array {
  if (length < 1 || length > MAX_TRANSFER) throw new RangeError(`read of ${length} bytes`);
  return Uint8Array.of(length - 1, ~(length - 1) & 0xff);
}

/** Extended Erase of listed pages/sectors: N-1 (2 bytes), the 16-bit numbers, XOR of all. */
export function extendedEraseFrame(pages: readonly number[]): Uint8Array {
  if (pages.length < 1 || pages.length > MAX_ERASE_GROUP + 1) {
    throw new RangeError(`extended erase of ${pages.length} pages`);
  }
  const f = new Uint8Array(2 + 2 * pages.length + 1);
  const n = pages.length - 1;
  f[0] = n >> 8;
  f[1] = n & 0xff;
  pages.forEach((p, i) => {
    f[2 + 2 * i] = (p >> 8) & 0xff;
    f[3 + 2 * i] = p & 0xff;
  });
  f[f.length - 1] = xorOf(f, 0, f.length - 1);
  return f;
}

/** Extended Erase special codes (mass, bank 1, bank 2): two bytes and their XOR. */
export function specialEraseFrame(code: number): Uint8Array {
  return Uint8Array.of(code >> 8, code & 0xff, (code >> 8) ^ (code & 0xff));
}

/** Legacy Erase (0x43) of listed pages: N-1, page bytes, XOR. */
export function legacyEraseFrame(pages: readonly number[]): Uint8Array {
  if (pages.length < 1 || pages.length > 255) throw new RangeError(`erase of ${pages.length} pages`);
  const f = new Uint8Array(pages.length + 2);
  f[0] = pages.length - 1;
  pages.forEach((p, i) => {
    if (p > 0xff) throw new RangeError(`page ${p} cannot be named by the Erase (0x43) command`);
    f[1 + i] = p;
  });
  f[f.length - 1] = xorOf(f, 0, f.length - 1);
  return f;
}

/** Legacy Erase (0x43) global erase: 0xFF 0x00. */
export const LEGACY_GLOBAL_ERASE = Uint8Array.of(0xff, 0x00);

/** Get Checksum length: 4 bytes, most significant first, then their XOR. */
export function checksumLengthFrame(length: number): Uint8Array {
  return addressFrame(length);
}

/**
 * CRC-32 as the STM32 CRC unit computes it: polynomial 0x04C11DB7, MSB first, not reflected,
 * initial value 0xFFFFFFFF, no final XOR, fed 32-bit words read little-endian from memory.
 */
export function stm32Crc32(data: Uint8Array, crc = 0xffffffff): number {
  if (data.length % 4 !== 0) throw new RangeError('STM32 CRC is computed over whole 32-bit words');
  let c = crc >>> 0;
  for (let i = 0; i < data.length; i += 4) {
    const word = (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)) >>> 0;
    c = (c ^ word) >>> 0;
    for (let b = 0; b < 32; b++) {
      c = c & 0x80000000 ? ((c << 1) ^ 0x04c11db7) >>> 0 : (c << 1) >>> 0;
    }
  }
  return c >>> 0;
}
