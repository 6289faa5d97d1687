import { Option, type Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../files/atomic-write';
import { probeWritableFile } from '../../files/write-probe';
import { loadPinned } from '../../agent/pinned';
import { EXIT, InputError, PoswipeError, errorLine } from '../../errors';
import { buildImage, type VerifyPolicy } from '../../image/build';
import { describeConformance } from '../../image/conformance';
import { loadPrivateKey } from '../../image/sign';
import type { MethodName } from '../../plan/methods';
import { act, loadBoardOrExit, out } from '../common';
import { shortKeyId } from '../../key-id';

interface BuildOptions {
  board: string;
  method: string;
  verify: string;
  key: string;
  out: string;
  force?: boolean;
  json?: boolean;
}

/** The image file, written through a temporary file next to it (removed when anything fails). */
function writeImageFile(path: string, bytes: Uint8Array): void {
  try {
    writeFileAtomic(path, bytes, { replace: true });
  } catch (err) {
    throw new InputError(`--out ${path}: cannot write the image: ${errorLine(err)}`);
  }
}

async function cmdBuild(o: BuildOptions): Promise<number> {
  // the output is checked before the (long) conformance run: a folder, an existing image without --force, an unwritable place
  if (o.out.trim() === '') throw new InputError('--out: the image file name is empty');
  if (existsSync(o.out) && statSync(o.out).isDirectory())
    throw new InputError(`--out ${o.out}: is a folder; name the image file (e.g. ${join(o.out, 'erase.pwimg')})`);
  if (existsSync(o.out) && !o.force) throw new InputError(`--out ${o.out}: already exists; pass --force to replace it`);
  probeWritableFile(o.out, '--out', { mayExist: true });
  const board = loadBoardOrExit(o.board);
  const key = loadPrivateKey(o.key);
  // only the pinned engine is signed: a signature makes whatever it covers trusted by flash
  const { module } = loadPinned();
  // the conformance check runs inside buildImage, before anything is signed
  let built: ReturnType<typeof buildImage>;
  try {
    built = buildImage({ board, method: o.method as MethodName, verify: o.verify as VerifyPolicy, key, module });
  } catch (err) {
    // a missing build/selfcontained.wasm and the like: not a device problem (main's default)
    if (err instanceof PoswipeError) throw err;
    throw new InputError(`cannot build the image: ${(err as Error).message}`);
  }
  writeImageFile(o.out, built.bytes);
  const m = built.manifest;
  if (o.json) {
    out(JSON.stringify({ image: o.out, bytes: built.bytes.length, moduleBytes: built.module.length, manifest: m, conformance: built.conformance }, null, 2));
    return EXIT.OK;
  }
  out(
    `image ${o.out} (${built.bytes.length} bytes): board ${m.board.id} (product ID ${m.board.productIds.join(' or ')}), method ${m.method.name} (${m.method.passes.join(', ')}), verify ${m.verify}, ${m.blockSize}-byte blocks`,
  );
  out(`  terminal module: ${built.module.length} bytes, sha256 ${m.engine.sha256}, ABI version ${m.engine.abiVersion}`);
  out(`  signed by key ${shortKeyId(m.signer.keyId)} (module signature for the terminal, image signature for poswipe flash)`);
  out(describeConformance(built.conformance).replace(/^/gm, '  '));
  for (const s of built.conformance.skipped) process.stderr.write(`poswipe: warning: conformance not checked in ${s.runtime}: ${s.reason}\n`);
  return EXIT.OK;
}

export function register(program: Command): void {
  program
    .command('build')
    .description('build and sign an erase image for one board and method (runs the conformance check first)')
    .requiredOption('--board <board>', 'board id or file')
    .requiredOption('--method <method>', 'sanitization method: clear, purge or dod3')
    .addOption(new Option('--verify <mode>', 'full or sample').default('full'))
    .requiredOption('--key <private.pem>', 'Ed25519 private key that signs the image')
    .requiredOption('--out <image>', 'image file to write (an existing one only with --force)')
    .option('--force', 'replace an existing image file')
    .option('--json', 'one JSON report on stdout')
    .action(act(async (o: BuildOptions) => cmdBuild(o)));
}
