/**
 * The part of Node's Buffer that the host core uses (alloc, from, concat, compare, equals,
 * readUInt32LE, writeUInt32LE, toString hex/latin1/utf8/base64), as a Uint8Array subclass, for
 * the browser build (esbuild injects it as the global `Buffer`).
 */
type Encoding = 'hex' | 'latin1' | 'binary' | 'utf8' | 'utf-8' | 'base64' | 'ascii';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Buffer extends Uint8Array {
  static alloc(size: number, fill: number | string = 0): Buffer {
    const b = new Buffer(size);
    if (typeof fill === 'number') b.fill(fill & 0xff);
    else if (fill.length) b.fill(fill.charCodeAt(0) & 0xff);
    return b;
  }

  static allocUnsafe(size: number): Buffer {
    return new Buffer(size);
  }

  /** Buffer.from (installed over Uint8Array.from below: Node's signature differs from the typed-array one) */
  static fromAny(value: string | ArrayBufferLike | ArrayLike<number> | Iterable<number>, encodingOrOffset?: Encoding | number, length?: number): Buffer {
    if (typeof value === 'string') return Buffer.fromString(value, (encodingOrOffset as Encoding | undefined) ?? 'utf8');
    if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer)) {
      const offset = typeof encodingOrOffset === 'number' ? encodingOrOffset : 0;
      return new Buffer(value as ArrayBuffer, offset, length ?? (value as ArrayBuffer).byteLength - offset);
    }
    const src = value as ArrayLike<number>;
    if (typeof src.length === 'number') {
      const b = new Buffer(src.length);
      b.set(src);
      return b;
    }
    const arr = Array.from(value as Iterable<number>);
    const b = new Buffer(arr.length);
    b.set(arr);
    return b;
  }

  private static fromString(s: string, enc: Encoding): Buffer {
    switch (enc) {
      case 'hex': {
        const n = Math.floor(s.length / 2);
        const b = new Buffer(n);
        for (let i = 0; i < n; i++) {
          const v = parseInt(s.substr(2 * i, 2), 16);
          if (Number.isNaN(v)) return b.subarray(0, i) as unknown as Buffer;
          b[i] = v;
        }
        return b;
      }
      case 'latin1':
      case 'binary':
      case 'ascii': {
        const b = new Buffer(s.length);
        for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
        return b;
      }
      case 'base64': {
        const bin = atob(s.replace(/[^A-Za-z0-9+/]/g, ''));
        return Buffer.fromString(bin, 'latin1');
      }
      default:
        return Buffer.fromAny(encoder.encode(s));
    }
  }

  static concat(list: readonly Uint8Array[], totalLength?: number): Buffer {
    const total = totalLength ?? list.reduce((n, b) => n + b.length, 0);
    const out = new Buffer(total);
    let at = 0;
    for (const b of list) {
      if (at >= total) break;
      const part = b.subarray(0, total - at);
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  static compare(a: Uint8Array, b: Uint8Array): number {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
    return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
  }

  static isBuffer(x: unknown): x is Buffer {
    return x instanceof Buffer;
  }

  static byteLength(s: string, enc: Encoding = 'utf8'): number {
    return Buffer.fromString(s, enc).length;
  }

  equals(other: Uint8Array): boolean {
    return Buffer.compare(this, other) === 0;
  }

  readUInt32LE(offset = 0): number {
    return new DataView(this.buffer, this.byteOffset, this.byteLength).getUint32(offset, true);
  }

  readUInt16LE(offset = 0): number {
    return new DataView(this.buffer, this.byteOffset, this.byteLength).getUint16(offset, true);
  }

  readUInt32BE(offset = 0): number {
    return new DataView(this.buffer, this.byteOffset, this.byteLength).getUint32(offset, false);
  }

  writeUInt32LE(value: number, offset = 0): number {
    new DataView(this.buffer, this.byteOffset, this.byteLength).setUint32(offset, value >>> 0, true);
    return offset + 4;
  }

  writeUInt16LE(value: number, offset = 0): number {
    new DataView(this.buffer, this.byteOffset, this.byteLength).setUint16(offset, value & 0xffff, true);
    return offset + 2;
  }

  writeUInt32BE(value: number, offset = 0): number {
    new DataView(this.buffer, this.byteOffset, this.byteLength).setUint32(offset, value >>> 0, false);
    return offset + 4;
  }

  override toString(enc: Encoding = 'utf8', start = 0, end = this.length): string {
    const b = this.subarray(start, end);
    switch (enc) {
      case 'hex': {
        let s = '';
        for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
        return s;
      }
      case 'latin1':
      case 'binary':
      case 'ascii': {
        let s = '';
        for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
        return s;
      }
      case 'base64':
        return btoa((b as Buffer).toString('latin1'));
      default:
        return decoder.decode(b);
    }
  }

  toJSON(): { type: 'Buffer'; data: number[] } {
    return { type: 'Buffer', data: Array.from(this) };
  }
}

Object.defineProperty(Buffer, 'from', { value: Buffer.fromAny, writable: true, configurable: true });
