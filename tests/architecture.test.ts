/**
 * The layers of docs/architecture.md, checked on every relative import of host/**\/*.ts (type-only
 * imports, re-exports and dynamic imports included). The table in the doc is the rule: this test
 * parses it rather than keeping a second copy. Loops between files are found by the one cycle
 * check, scripts/check-cycles.mjs (also `npm run lint`'s), which this test runs.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { spawnSync } from 'node:child_process';
import ts from 'typescript';
import { ROOT } from './helpers';

interface Layer {
  rank: number;
  name: string;
  /** whether folders of this layer may import each other */
  shared: boolean;
}

/** file (relative to the repository, forward slashes) -> the files it imports */
type Graph = Map<string, string[]>;

/** Reads the layer table of docs/architecture.md: backticked folder names, lowest layer first. */
export function parseLayers(markdown: string): Map<string, Layer> {
  const layers = new Map<string, Layer>();
  const rows = markdown.split('\n').filter((l) => /^\|\s*\d+\s/.test(l));
  for (const row of rows) {
    const [rankName, folders, same] = row
      .split('|')
      .slice(1)
      .map((c) => c.trim());
    const [rank, ...name] = rankName.split(/\s+/);
    const layer: Layer = { rank: Number(rank), name: name.join(' '), shared: same === 'yes' };
    for (const m of folders.matchAll(/`([^`]+)`/g)) {
      if (layers.has(m[1])) throw new Error(`docs/architecture.md: folder ${m[1]} is in two layers`);
      layers.set(m[1], layer);
    }
  }
  return layers;
}

/** The layer folder of a file under host/: its first folder, or `.` for host/*.ts. */
export function folderOf(file: string): string {
  const parts = file.split('/');
  return parts.length > 2 ? parts[1] : '.';
}

/** Every import that goes up a layer, sideways in a layer that does not share, or into a folder the table does not name. */
export function layerViolations(graph: Graph, layers: Map<string, Layer>): string[] {
  const problems: string[] = [];
  for (const [from, targets] of graph) {
    const a = folderOf(from);
    const la = layers.get(a);
    if (!la) {
      problems.push(`${from}: folder ${a} is in no layer of docs/architecture.md`);
      continue;
    }
    for (const to of targets) {
      const b = folderOf(to);
      if (a === b) continue;
      const lb = layers.get(b);
      if (!lb) problems.push(`${from} imports ${to}: folder ${b} is in no layer of docs/architecture.md`);
      else if (lb.rank > la.rank) problems.push(`${from} imports ${to}: ${a} (layer ${la.rank} ${la.name}) is below ${b} (layer ${lb.rank} ${lb.name})`);
      else if (lb.rank === la.rank && !la.shared) {
        problems.push(`${from} imports ${to}: ${a} and ${b} share layer ${la.rank} ${la.name}, whose folders do not import each other`);
      }
    }
  }
  return problems;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The file a relative specifier names (TypeScript's resolution for .ts sources), or null outside the sources. */
function resolve(fromFile: string, spec: string): string | null {
  const base = path.resolve(path.dirname(fromFile), spec);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts'), base]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

/** The import graph of host/**\/*.ts, relative imports only (packages and node: modules are outside it). */
function hostGraph(): Graph {
  const graph: Graph = new Map();
  const rel = (p: string): string => path.relative(ROOT, p).split(path.sep).join('/');
  for (const file of tsFiles(path.join(ROOT, 'host'))) {
    const specs = ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
    const targets = specs.filter((s) => s.startsWith('.')).map((s) => resolve(file, s));
    graph.set(rel(file), [
      ...new Set(
        targets
          .filter((t): t is string => t !== null)
          .map(rel)
          .filter((t) => t.startsWith('host/')),
      ),
    ]);
  }
  return graph;
}

const DOC = readFileSync(path.join(ROOT, 'docs', 'architecture.md'), 'utf8');

test('layer check (synthetic graph): flags an import from a higher layer, a sideways one and an unknown folder; allows the rest', () => {
  const layers = parseLayers(['| 1 base | `.` `files` | yes | x |', '| 2 mid | `a` `b` | no | x |', '| 3 top | `cli` | no | x |'].join('\n'));
  assert.deepEqual([...layers.keys()], ['.', 'files', 'a', 'b', 'cli']);
  const graph: Graph = new Map([
    ['host/cli/main.ts', ['host/a/x.ts', 'host/errors.ts', 'host/cli/common.ts']],
    ['host/files/read.ts', ['host/errors.ts']],
    ['host/a/x.ts', ['host/cli/common.ts', 'host/b/y.ts', 'host/a/z.ts']],
    ['host/q/w.ts', []],
  ]);
  const problems = layerViolations(graph, layers);
  assert.equal(problems.length, 3, problems.join('\n'));
  assert.match(problems[0], /^host\/a\/x\.ts imports host\/cli\/common\.ts: a \(layer 2 mid\) is below cli \(layer 3 top\)$/);
  assert.match(problems[1], /^host\/a\/x\.ts imports host\/b\/y\.ts: a and b share layer 2 mid/);
  assert.match(problems[2], /^host\/q\/w\.ts: folder q is in no layer/);
});

test('docs/architecture.md names every folder of host/ once, app below the front ends and cli on top', () => {
  const layers = parseLayers(DOC);
  const folders = readdirSync(path.join(ROOT, 'host')).filter((n) => statSync(path.join(ROOT, 'host', n)).isDirectory());
  for (const f of folders) assert.ok(layers.has(f), `host/${f}/ is in no layer of docs/architecture.md`);
  const rank = (f: string): number => layers.get(f)!.rank;
  assert.ok(rank('app') < rank('station') && rank('app') < rank('web') && rank('station') < rank('cli'));
});

let graphOnce: Graph | null = null;
const graphOfHost = (): Graph => (graphOnce ??= hostGraph());

test('no file under host/ imports a folder of a higher layer (docs/architecture.md)', () => {
  const problems = layerViolations(graphOfHost(), parseLayers(DOC));
  assert.deepEqual(problems, [], problems.join('\n'));
});

test('no import loop between files of host/, tests/ or bench/ (scripts/check-cycles.mjs, type-only imports included)', () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'check-cycles.mjs')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /import cycles: 0 group\(s\)/);
});
