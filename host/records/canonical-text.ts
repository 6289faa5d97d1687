/**
 * The text rules of a signed record's file (certificate, handover manifest), shared by their
 * verifiers: UTF-8 with no byte-order mark, and byte for byte the pretty canonical form (LF line
 * ends, exactly one final newline). A BOM is refused outright (the file is not the canonical form,
 * and a decoder that drops it silently would hide that); every other slip is a layout failure,
 * named as precisely as it can be (docs/records.md, "What cert verify accepts").
 */
import { TextDecoder } from 'node:util';

/** The file's text, or why it cannot be one (malformed: exit 2). */
export function decodeRecordText(bytes: Uint8Array): { text: string } | { problem: string } {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return { problem: 'starts with a UTF-8 byte-order mark (EF BB BF), which the canonical form never has: the file was re-saved by an editor' };
  }
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    return { problem: 'starts with a UTF-16 byte-order mark: the canonical form is UTF-8 with no byte-order mark' };
  }
  try {
    // ignoreBOM: keep a BOM as text rather than drop it (one can only get here without one, but say so)
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes) };
  } catch {
    return { problem: 'not UTF-8 text' };
  }
}

function lineCol(text: string, pos: number): string {
  const before = text.slice(0, pos);
  return `line ${before.split('\n').length}, column ${pos - before.lastIndexOf('\n')}`;
}

/** Where and how `text` differs from `expected` (the pretty canonical form), in one line; null when equal. */
export function layoutDifference(text: string, expected: string): string | null {
  if (text === expected) return null;
  let i = 0;
  while (i < text.length && i < expected.length && text[i] === expected[i]) i++;
  const at = `byte ${Buffer.byteLength(text.slice(0, i), 'utf8')} (${lineCol(text, i)})`;
  if (text.includes('\r')) return `${at} differs from the canonical form: the file has CR (CRLF) line ends, the canonical form has LF only`;
  if (text.length < expected.length && expected.startsWith(text)) return `${at} differs from the canonical form: the final newline is missing`;
  if (text.length > expected.length && text.startsWith(expected)) return `${at} differs from the canonical form: extra bytes after the final newline`;
  return `${at} differs from the canonical form: whitespace, key order or escaping was edited`;
}
