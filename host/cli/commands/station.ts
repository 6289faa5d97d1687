import { Option, type Command } from 'commander';
import { loadPinned, manifestEngine } from '../../agent/pinned';
import { checkModuleAbi } from '../../engine/module';
import { EXIT, InputError } from '../../errors';
import { METHODS, type MethodName } from '../../plan/methods';
import type { VerifyMode } from '../../session/erase';
import { checkVerifyMode } from '../../session/verify-mode';
import { checkRecordPaths, type RecordOptions } from '../../records/erase-records';
import { PORT_SPEC_HELP } from '../../station/port-spec';
import { checkListen, parseListen, startStationServer } from '../../station/server';
import { Station } from '../../station/station';
import type { EmuOptions } from '../../app/ports';
import { act, loadBoardOrExit, out, withEmuOptions } from '../common';
import { recordOptionsOf, withRecordOptions } from '../record-options';

interface StationOptions extends EmuOptions, RecordOptions {
  port?: string[];
  board?: string;
  listen: string;
  allowRemote?: boolean;
  token?: string;
  method: string;
  verify: string;
  includeProtected?: boolean;
  unlock?: boolean;
  baud?: string;
  start?: boolean;
  once?: boolean;
}

async function cmdStation(o: StationOptions): Promise<number> {
  const ports = o.port ?? [];
  if (!ports.length) throw new InputError('station: name at least one --port (a serial device, or emu for an emulated terminal; repeatable)');
  checkVerifyMode(o.method as MethodName, o.verify);
  if (typeof o.backup === 'string' && ports.length > 1)
    throw new InputError(
      'station: --backup <file> names one file; with several ports each terminal gets its own ./backups/<board>-<uid>-<time>.pwbk (or pass --no-backup)',
    );
  const token = o.token ?? process.env.POSWIPE_STATION_TOKEN ?? null;
  const listen = parseListen(o.listen);
  checkListen(listen, o.allowRemote === true, token);
  const board = o.board && o.board !== 'auto' ? loadBoardOrExit(o.board) : null;
  // each tile prepares its records when it starts; their folders and files are checked once, now
  checkRecordPaths(recordOptionsOf(o));
  // the station runs only the pinned engine and agents (a custom engine is a single `erase --engine` run)
  const { manifest, module } = loadPinned();
  checkModuleAbi(module);

  const station = new Station({
    ports,
    board,
    method: o.method as MethodName,
    verify: o.verify as VerifyMode,
    includeProtected: o.includeProtected,
    unlock: o.unlock,
    emu: o,
    module,
    engineFor: (b) => manifestEngine(manifest, b),
    records: recordOptionsOf(o),
    log: (line) => process.stderr.write(line + '\n'),
  });
  const server = await startStationServer({ station, listen, token });
  const url = token ? `${server.url}?token=${encodeURIComponent(token)}` : server.url;
  out(`station: ${url} (${station.tiles.map((t) => `${t.id} ${t.state.port}`).join(', ')})`);
  if (!o.once) out('station: open the page to start the terminals; Ctrl-C stops every session after its current phase and exits');

  /** closes everything; the exit code sums the results up (--once) */
  const finish = async (): Promise<number> => {
    await station.close();
    await server.close();
    const states = station.tiles.map((t) => t.state.status);
    // a terminal refused for safety (e.g. a product ID several board files share) says so: exit 4
    if (station.tiles.some((t) => t.state.status === 'error' && t.state.exitCode === EXIT.SAFETY)) return EXIT.SAFETY;
    if (states.some((s) => s === 'error' || s === 'stopped')) return EXIT.DEVICE;
    if (states.some((s) => s === 'failed')) return EXIT.VERIFY_FAILED;
    return EXIT.OK;
  };

  if (o.once || o.start) station.startAll();
  if (o.once) {
    await station.idle();
    for (const t of station.tiles)
      out(`station: ${t.id} ${t.state.port}: ${t.state.status}${t.state.uid ? ` uid ${t.state.uid}` : ''}${t.state.reason ? ` (${t.state.reason})` : ''}`);
    return finish();
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (): void => {
      if (stopping) process.exit(EXIT.DEVICE); // a second Ctrl-C: leave now
      stopping = true;
      process.stderr.write('station: stopping (sessions end after their current phase; Ctrl-C again to leave at once)\n');
      // the operator ended the station: a normal end (each terminal's result is in its records)
      void finish().then(() => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        process.off('SIGHUP', onSignal);
        resolve(EXIT.OK);
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);
  });
}

export function register(program: Command): void {
  withEmuOptions(
    withRecordOptions(
      program
        .command('station')
        .description('bench station: a local web page with one tile and one parallel session per port (live sector maps, certificates)')
        .option('--port <port>', PORT_SPEC_HELP, (v: string, prev: string[] = []) => [...prev, v])
        .option('--board <board>', 'board id or file (needed for emu ports; serial ports without it are identified by product ID)')
        .option('--listen <host:port>', 'where the page is served (loopback only unless --allow-remote)', '127.0.0.1:8080')
        .option('--allow-remote', 'allow --listen on a non-loopback address (needs --token)')
        .option('--token <secret>', 'require this token on every request (default: $POSWIPE_STATION_TOKEN)')
        .addOption(new Option('--method <method>', 'sanitization method: clear, purge or dod3').choices([...METHODS]).default('purge'))
        .addOption(new Option('--verify <mode>', 'full or sample').default('full'))
        .option('--include-protected', 'erase protected regions too')
        .option('--unlock', 'remove read protection (the part mass-erases itself)')
        .option('--baud <n>', 'line speed of serial ports (default 115200)')
        .option('--start', 'start every terminal at once instead of waiting for the page')
        .option('--once', 'start every terminal, exit when all have ended (0 all verified, 1 some failed, 3 an error, 4 one refused for safety)'),
    ),
  ).action(act(async (o: StationOptions) => cmdStation(o)));
}
