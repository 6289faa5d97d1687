/**
 * Hexadecimal spellings shared by reports, records, messages and the emulator: one of each, so the
 * same address or product ID reads the same everywhere.
 */

/** A 32-bit address or word: `0x08000000` (eight digits, unsigned). */
export function hex32(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

/** An STM32 product ID (Get ID): `0x0413` (at least four digits). */
export function hexPid(pid: number): string {
  return `0x${pid.toString(16).padStart(4, '0')}`;
}
