import { parseFaults } from '../emulator/faults';
import { InputError } from '../errors';

/**
 * A `--port` of the station. `emu` is an emulated terminal of --board; options for that one
 * terminal follow a colon, separated by commas:
 *
 *   emu                                  a terminal of --board, seed 1 + its position
 *   emu:stuck@0x08012345                 with a stuck byte (any --emu-fault spec)
 *   emu:stuck@0x08012345,drop=0.001      several faults
 *   emu:board=stm32f429,seed=7,rdp=1     another board, seed or read protection
 *
 * Anything else is a serial device path (/dev/ttyUSB0).
 */
export interface PortSpec {
  text: string;
  kind: 'emu' | 'serial';
  /** the serial device (kind serial) */
  path: string | null;
  faults: string[];
  board: string | null;
  seed: string | null;
  rdp: string | null;
}

export const PORT_SPEC_HELP =
  'serial device, or emu (an emulated terminal; repeatable); emu:<fault>[,<fault>…] gives that terminal its own faults (e.g. emu:stuck@0x08012345), emu:board=<b>,seed=<n>,rdp=<0|1> its own board, seed or protection';

export function parsePortSpec(text: string): PortSpec {
  const t = text.trim();
  if (t === 'emu' || t.startsWith('emu:')) {
    const spec: PortSpec = { text: t, kind: 'emu', path: null, faults: [], board: null, seed: null, rdp: null };
    const rest = t.slice(4);
    if (t.startsWith('emu:') && !rest) throw new InputError(`--port ${text}: nothing after "emu:" (e.g. emu:stuck@0x08012345)`);
    for (const item of rest ? rest.split(',') : []) {
      const part = item.trim();
      const kv = /^(board|seed|rdp)=(.*)$/i.exec(part);
      if (kv) {
        const key = kv[1].toLowerCase() as 'board' | 'seed' | 'rdp';
        if (!kv[2]) throw new InputError(`--port ${text}: ${key}= needs a value`);
        if (key === 'seed' && !/^\d+$/.test(kv[2])) throw new InputError(`--port ${text}: seed "${kv[2]}" is not a number`);
        if (key === 'rdp' && kv[2] !== '0' && kv[2] !== '1') throw new InputError(`--port ${text}: rdp must be 0 or 1`);
        spec[key] = kv[2];
        continue;
      }
      try {
        parseFaults([part]);
      } catch (err) {
        throw new InputError(`--port ${text}: ${(err as Error).message}`);
      }
      spec.faults.push(part);
    }
    return spec;
  }
  if (!t) throw new InputError('--port: empty port name');
  return { text: t, kind: 'serial', path: t, faults: [], board: null, seed: null, rdp: null };
}
