import type { Command, Option } from 'commander';

function matches(o: Option, name: string): boolean {
  return o.long === name || o.short === name || (o.negate && o.long === name);
}

/**
 * The first option in `argv` that the command it is given to does not know, or null.
 * Commander reports a missing required option before an unknown one (`erase --bogus` would
 * complain about --board); the caller uses this to name the real mistake first.
 */
export function firstUnknownOption(program: Command, argv: readonly string[]): string | null {
  let cmd = program;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') return null;
    if (!arg.startsWith('-') || arg === '-') {
      const sub = cmd.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
      if (sub) cmd = sub;
      continue;
    }
    const name = arg.startsWith('--') ? arg.split('=')[0] : arg.slice(0, 2);
    if (name === '--help' || name === '-h' || name === '--version' || name === '-V') return null;
    const opt = cmd.options.find((o) => matches(o, name));
    if (!opt) return name;
    // a value given as the next argument is not an option
    if ((opt.required || opt.optional) && !arg.includes('=') && !(name.length === 2 && arg.length > 2)) i++;
  }
  return null;
}
