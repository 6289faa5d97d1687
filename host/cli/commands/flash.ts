import type { Command } from 'commander';
import { SafetyError } from '../../errors';
import type { Board } from '../../boards/types';
import { signedImageEngine } from '../../agent/pinned';
import { detectBoard } from '../../app/detect';
import { boardForImage, openImage } from '../../image/build';
import { readInputFile } from '../../files/read-bounded';
import { loadTrustKeys } from '../../image/sign';
import type { EmuOptions } from '../../app/ports';
import { runEraseCommand } from '../erase-output';
import { act, loadBoardOrExit, withEmuOptions } from '../common';
import { recordOptionsOf, withRecordOptions } from '../record-options';
import type { RecordOptions } from '../../records/erase-records';
import { appendFailure, newRow } from '../../records/audit';
import { openAuditLog } from '../../records/audit-bench';
import { toolVersion } from '../../records/certificate';
import { loadOperatorConfig } from '../../records/config';

interface FlashOptions extends EmuOptions, RecordOptions {
  image: string;
  port: string;
  trust: string[];
  board?: string;
  json?: boolean;
  quiet?: boolean;
  baud?: string;
}

/**
 * Everything about the image is settled before the port opens: structure (exit 2), both
 * signatures against the trusted keys (exit 4), the manifest (exit 2). Only then does the erase
 * flow run, with the image's module, agent (exactly its bytes are uploaded), agent signature, method and verification policy, against
 * the image's board with the product IDs the image was built for (a terminal answering another
 * product ID is refused by identify: exit 3).
 */
async function cmdFlash(o: FlashOptions): Promise<number> {
  try {
    return await flashChecked(o);
  } catch (err) {
    // a refused image never reaches the erase flow (which records its own runs): record it here
    if (!(err instanceof FlowError)) recordRefusal(o, err);
    throw err instanceof FlowError ? err.cause : err;
  }
}

/** Wraps errors from inside runEraseCommand (app/run-erase.ts), which has already written their audit row. */
class FlowError extends Error {
  constructor(override readonly cause: unknown) {
    super('erase flow');
  }
}

function recordRefusal(o: FlashOptions, err: unknown): void {
  try {
    const { config } = loadOperatorConfig(o.operatorConfig);
    const row = newRow('flash', { board: o.board ?? null, port: o.port, operator: config.operator.name ?? null, reason: `image ${o.image}` }, toolVersion());
    appendFailure(openAuditLog(o, config), row, err);
  } catch {
    // the audit log itself is unusable: the refusal is still reported on stderr
  }
}

/**
 * The terminal's board (`--board`, or detected from the product ID on a serial port) must be the
 * image's board file, not only a board with the same product ID: an image for a plain part run on
 * a terminal board would treat its boot sector, keys and data as plain flash. Pure.
 */
export function refuseOtherBoard(imageBoard: Board, terminalBoard: Board, how: string, imageFile: string): void {
  if (terminalBoard.id !== imageBoard.id) {
    const what = `image ${imageFile} is built for board ${imageBoard.id}, the terminal is ${terminalBoard.id} (${how})`;
    throw new SafetyError(`${what}: refused; build an image for ${terminalBoard.id}`);
  }
}

async function flashChecked(o: FlashOptions): Promise<number> {
  const trusted = loadTrustKeys(o.trust);
  const image = openImage(new Uint8Array(readInputFile(o.image, '--image', 'image')), trusted, `image ${o.image}`);
  const local = loadBoardOrExit(image.manifest.board.id);
  const board = boardForImage(image, local, `image ${o.image}`);
  if (o.board) refuseOtherBoard(board, loadBoardOrExit(o.board), `--board ${o.board}`, o.image);
  // without --board a serial terminal names its board by its product ID (refused when several files share it)
  else if (o.port !== 'emu') refuseOtherBoard(board, await detectBoard(o.port, o, (l) => process.stderr.write(l + '\n')), 'detected', o.image);
  return runEraseCommand({
    board,
    port: o.port,
    emu: o,
    method: image.method,
    verify: image.verify,
    json: o.json,
    quiet: o.quiet,
    module: image.module,
    agent: image.agent,
    engine: signedImageEngine(image.module, image.agent, o.image),
    signature: image.agentSignature,
    records: recordOptionsOf(o),
    command: 'flash',
  }).catch((err: unknown) => {
    throw new FlowError(err);
  });
}

export function register(program: Command): void {
  withEmuOptions(
    withRecordOptions(
      program
        .command('flash')
        .description('run a signed erase image on one terminal (signature checked before the terminal is touched)')
        .requiredOption('--image <image>', 'erase image made by poswipe build')
        .requiredOption('--port <port>', "serial device, or emu for an emulated terminal of the image's board")
        .requiredOption('--trust <public.pem>', 'trusted public key (repeatable; a file may hold several)', (v: string, prev: string[] = []) => [...prev, v])
        .option('--board <board>', "the terminal's board: must be the image's (default: detected from the product ID on a serial port)")
        .option('--baud <n>', 'line speed (default 115200)')
        .option('--json', 'one JSON report on stdout'),
    ),
  ).action(act(async (o: FlashOptions) => cmdFlash(o)));
}
