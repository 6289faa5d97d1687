/**
 * `npm run build:web`: bundles the browser entry (host/web/main.ts) with esbuild into
 * build/web/, a static folder that runs anywhere Chromium does: index.html, poswipe-web.js (the
 * host core, boards, engine module and the committed agent binaries with their manifest
 * embedded), tiles.js and station.css (shared with the station page).
 *
 * The core is the same code as the CLI's: Node built-ins it imports are swapped for the small
 * browser modules in host/platform/browser/ (SHA-256, Buffer, setImmediate, stubs for the file
 * system), never copied or rewritten. CRC-32 is the crc-32 package on both sides.
 */
import { build, type Plugin } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadPinned } from '../agent/pinned';
import { listBoards } from '../boards/load';
import { packageRoot } from '../engine/module';
import { PoswipeError } from '../errors';

const SHIMS: Record<string, string> = {
  crypto: 'crypto.ts',
  fs: 'node-stubs.ts',
  path: 'node-stubs.ts',
  os: 'node-stubs.ts',
};

/** Node-only packages that must never reach the page (the build fails naming the importer). */
const FORBIDDEN =
  /^(serialport|@serialport\/.*|better-sqlite3|pdfkit|commander|cli-progress|koffi|(node:)?zlib|node:(child_process|net|http|https|tty|worker_threads))$/;

function nodeShims(platformDir: string): Plugin {
  return {
    name: 'poswipe-node-shims',
    setup(b) {
      b.onResolve({ filter: /^(node:)?(crypto|fs|path|os)$/ }, (args) => ({ path: join(platformDir, SHIMS[args.path.replace(/^node:/, '')]) }));
      // the instruction-level CPU is native (Unicorn through koffi): the page gets a runner that is never available
      b.onResolve({ filter: /\/cpu\/machine$/ }, () => ({ path: join(platformDir, 'no-cpu.ts') }));
      b.onResolve({ filter: FORBIDDEN }, (args) => ({
        errors: [{ text: `${args.path} is Node-only and must not be in the browser bundle (imported by ${args.importer})` }],
      }));
    },
  };
}

export interface WebBuildResult {
  dir: string;
  files: string[];
  bundleBytes: number;
}

export async function buildWeb(outDir?: string): Promise<WebBuildResult> {
  const root = packageRoot();
  const dir = outDir ?? join(root, 'build', 'web');
  mkdirSync(dir, { recursive: true });
  // only the pinned engine and the committed agents are bundled: a changed build/terminal.wasm or agent is refused (host/agent/pinned.ts);
  // the page checks the agents again with parseAgentManifest, as loadAgentManifest does on disk
  const { manifest, module } = loadPinned(root);
  const engine = Buffer.from(module);
  const manifestJson = readFileSync(join(root, 'agent', 'manifest.json'), 'utf8');
  const listed = (JSON.parse(manifestJson) as { agents: { binary: string }[] }).agents.map((a) => a.binary);
  const agents = { manifest: manifestJson, binaries: Object.fromEntries(listed.map((rel) => [rel, readFileSync(join(root, rel)).toString('base64')])) };
  // board sources as relative paths: the page must not carry the build machine's folders
  const boards = listBoards().map((b) => ({ ...b, source: relative(root, b.source) }));
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string;
  const platformDir = join(root, 'host', 'platform', 'browser');
  const result = await build({
    entryPoints: [join(root, 'host', 'web', 'main.ts')],
    outfile: join(dir, 'poswipe-web.js'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['chrome105'],
    define: { POSWIPE_EMBEDDED: JSON.stringify({ version, boards, engine: engine.toString('base64'), agents }), 'process.env.POSWIPE_BOARDS_DIR': 'undefined' },
    inject: [join(platformDir, 'globals.ts')],
    plugins: [nodeShims(platformDir)],
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
    banner: { js: `/* poswipe ${version} — host core for the browser (Web Serial). Built by npm run build:web. */` },
  });
  const inputs = Object.keys(result.metafile.inputs);
  const leaked = inputs.filter((i) => /node_modules\/(serialport|@serialport|better-sqlite3|pdfkit)/.test(i));
  if (leaked.length) throw new Error(`Node-only modules in the browser bundle: ${leaked.join(', ')}`);
  copyFileSync(join(root, 'host', 'web', 'index.html'), join(dir, 'index.html'));
  copyFileSync(join(root, 'host', 'station', 'static', 'tiles.js'), join(dir, 'tiles.js'));
  copyFileSync(join(root, 'host', 'station', 'static', 'station.css'), join(dir, 'station.css'));
  const bundleBytes = readFileSync(join(dir, 'poswipe-web.js')).length;
  writeFileSync(
    join(dir, 'build-info.json'),
    JSON.stringify(
      {
        version,
        boards: boards.map((b) => b.id),
        engineBytes: engine.length,
        agents: manifest.agents.map((a) => ({ kind: a.kind, bytes: a.size, sha256: a.sha256 })),
        bundleBytes,
        inputs: inputs.filter((i) => !i.includes('node_modules')).sort(),
      },
      null,
      2,
    ) + '\n',
  );
  return { dir, files: ['index.html', 'poswipe-web.js', 'tiles.js', 'station.css', 'build-info.json'], bundleBytes };
}

if (require.main === module) {
  buildWeb(process.argv[2]).then(
    (r) => process.stdout.write(`build:web: ${r.dir} (${r.files.join(', ')}; bundle ${(r.bundleBytes / 1024).toFixed(0)} KiB)\n`),
    (err) => {
      process.stderr.write(`build:web: ${(err as Error).message}\n`);
      // a refusal keeps its code (an unpinned engine: 4); a failed bundle is 1
      process.exitCode = err instanceof PoswipeError ? err.exitCode : 1;
    },
  );
}
