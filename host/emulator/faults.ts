import type { Board } from '../boards/types';
import { InputError } from '../errors';
import { COMMAND_BY_NAME } from '../protocol/frames';
import { hex32 } from '../format/hex';

/** Faults injected into an emulated terminal (docs/cli.md, "Fault specs"). */
export interface FaultSet {
  /** bytes that keep a non-erased value through every erase and program */
  stuck: number[];
  /** addresses whose sector reports failure when erased */
  eraseFail: number[];
  /** probability that a byte on the line (either direction) is lost */
  drop: number;
  /** probability that a byte on the line (either direction) has one bit flipped */
  flip: number;
  /** 1-based index of the flash operation during which power is lost, or null */
  powerlossAt: number | null;
  /** read protection level the part starts with (`rdp=1`), or null to leave it to `--emu-rdp` */
  rdp?: 0 | 1 | null;
  /** bootloader command codes answered with NACK */
  nack: number[];
  /**
   * what the flash-size register reads (KiB), or null for the truth: the register lies while the
   * physical flash stays the board's (an F103C8 marked 64 KiB with 128 KiB inside)
   */
  flashSizeKiB: number | null;
  /**
   * A simulated lying terminal (`fake-digests`): the code Go starts in RAM sees its erase and program
   * operations succeed on a shadow of the flash, so its digests are exactly the expected ones, while
   * the true flash (what the ROM bootloader's Read Memory returns) is left unchanged.
   */
  fakeDigests: boolean;
  /**
   * A lying agent (simulated, the model only): a job identical to an earlier one but for its
   * nonce is not run; the earlier job's result table is sent again instead (`replay-results`)
   */
  replayResults?: boolean;
}

export function noFaults(): FaultSet {
  return { stuck: [], eraseFail: [], drop: 0, flip: 0, powerlossAt: null, nack: [], rdp: null, flashSizeKiB: null, fakeDigests: false };
}

/**
 * The largest register value a fault may set: above every shipped board's flash (2 MiB at most),
 * so over-reporting can be tried, while a typo such as 65536 is refused.
 */
export const MAX_FLASH_SIZE_KIB = 4096;

export const FAULT_HELP = [
  'stuck@<addr>       that byte keeps its value through erase and program (image value, or 0x00 where the image is erased)',
  'erase-fail@<addr>  erasing the sector holding <addr> reports failure',
  'drop=<rate>        each byte on the line is lost with this probability (0..1)',
  'flip=<rate>        each byte on the line gets one bit flipped with this probability (0..1)',
  'powerloss@<n>      power is lost during the n-th flash operation (that sector is left partly erased, RAM is lost, the part restarts in its bootloader)',
  'rdp=<0|1>          the part starts read-protected (RDP level 1) or not; same as --emu-rdp',
  "fake-digests       a simulated lying terminal: the agent's erase and program operations go to a shadow of the flash, so its digests match while the true flash is unchanged",
  'replay-results     (model agent) a job equal to an earlier one but for its nonce is not run: the earlier result table is sent again',
  `nack@<command>     the bootloader answers NACK to that command (${Object.keys(COMMAND_BY_NAME).join(', ')}, or a hex code)`,
  `flash-size=<KiB>   the flash-size register reads <KiB> (1..${MAX_FLASH_SIZE_KIB}); the physical flash stays the board's`,
];

function parseFlashSize(spec: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new InputError(`bad fault spec "${spec}": "${text}" is not a whole number of KiB`);
  const n = Number(text);
  if (n < 1 || n > MAX_FLASH_SIZE_KIB) throw new InputError(`bad fault spec "${spec}": the flash size is 1 to ${MAX_FLASH_SIZE_KIB} KiB`);
  return n;
}

/** The part's flash, where stuck@ and erase-fail@ addresses must lie. */
export interface FlashMap {
  id: string;
  base: number;
  size: number;
}

/**
 * An address of 32 bits at most, inside the flash when the board is known: a typo
 * (`stuck@0x0801234`, one digit short) must not give a run that passes while testing nothing.
 */
function parseAddress(spec: string, text: string, flash: FlashMap | null): number {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(text)) throw new InputError(`bad fault spec "${spec}": "${text}" is not an address`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n > 0xffffffff)
    throw new InputError(`bad fault spec "${spec}": ${text} is wider than 32 bits (an STM32 address is at most 0xffffffff)`);
  if (flash && (n < flash.base || n >= flash.base + flash.size)) {
    throw new InputError(
      `bad fault spec "${spec}": ${hex32(n)} is outside the flash of ${flash.id} (${hex32(flash.base)} to ${hex32(flash.base + flash.size - 1)})`,
    );
  }
  return n;
}

function parseRate(spec: string, text: string): number {
  const r = Number(text);
  if (!/^[0-9.eE-]+$/.test(text) || !Number.isFinite(r) || r < 0 || r > 1) {
    throw new InputError(`bad fault spec "${spec}": rate "${text}" must be a number from 0 to 1`);
  }
  return r;
}

/**
 * Parses `--emu-fault` specs; throws InputError naming the bad spec. With `board`, addresses are
 * checked against its flash (docs/cli.md: a fault address outside the memory map is bad usage).
 */
export function parseFaults(specs: readonly string[], board?: Pick<Board, 'id' | 'flash'>): FaultSet {
  const f = noFaults();
  const flash: FlashMap | null = board ? { id: board.id, base: board.flash.base, size: board.flash.size } : null;
  for (const raw of specs) {
    const spec = raw.trim();
    let m: RegExpMatchArray | null;
    if ((m = spec.match(/^stuck@(.+)$/i))) f.stuck.push(parseAddress(spec, m[1], flash));
    else if ((m = spec.match(/^erase-fail@(.+)$/i))) f.eraseFail.push(parseAddress(spec, m[1], flash));
    else if ((m = spec.match(/^drop=(.+)$/i))) f.drop = parseRate(spec, m[1]);
    else if ((m = spec.match(/^flip=(.+)$/i))) f.flip = parseRate(spec, m[1]);
    else if ((m = spec.match(/^powerloss@(\d+)$/i))) {
      const n = Number(m[1]);
      if (!Number.isSafeInteger(n) || n > 0xffffffff) throw new InputError(`bad fault spec "${spec}": the operation count is at most ${0xffffffff}`);
      if (n < 1) throw new InputError(`bad fault spec "${spec}": the operation count starts at 1`);
      f.powerlossAt = n;
    } else if (/^fake-digests$/i.test(spec)) {
      f.fakeDigests = true;
    } else if ((m = spec.match(/^flash-size=(.*)$/i))) {
      f.flashSizeKiB = parseFlashSize(spec, m[1]);
    } else if ((m = spec.match(/^rdp=([01])$/i))) {
      f.rdp = Number(m[1]) as 0 | 1;
    } else if (/^replay-results$/i.test(spec)) {
      f.replayResults = true;
    } else if ((m = spec.match(/^nack@(.+)$/i))) {
      const name = m[1].toLowerCase();
      const code = COMMAND_BY_NAME[name] ?? (/^0x[0-9a-f]{1,2}$/.test(name) ? Number(name) : undefined);
      if (code === undefined) {
        throw new InputError(`bad fault spec "${spec}": unknown command "${m[1]}" (known: ${Object.keys(COMMAND_BY_NAME).join(', ')})`);
      }
      f.nack.push(code);
    } else {
      throw new InputError(
        `bad fault spec "${spec}": expected stuck@<addr>, erase-fail@<addr>, drop=<rate>, flip=<rate>, powerloss@<n>, nack@<command>, ` +
          'fake-digests, replay-results, rdp=<0|1> or flash-size=<KiB>',
      );
    }
  }
  return f;
}
