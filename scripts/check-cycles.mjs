// `npm run lint` (second step): import cycles among the TypeScript modules of host/, tests/ and
// bench/, type-only imports and `import()` types included (import-x/no-cycle skips those, and a
// type import is coupling too). Prints each strongly connected group with one cycle through it and
// exits 1 when there is any.
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIRS = ['host', 'tests', 'bench'];

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function resolve(from, spec) {
  if (!spec.startsWith('.')) return null;
  const base = path.resolve(path.dirname(from), spec).replace(/\.js$/, '');
  for (const c of [base + '.ts', path.join(base, 'index.ts')]) if (existsSync(c)) return c;
  return null;
}

const files = DIRS.flatMap((d) => walk(path.join(root, d))).sort();
const edges = new Map();
for (const f of files) {
  const info = ts.preProcessFile(readFileSync(f, 'utf8'), true, true);
  edges.set(f, [...new Set(info.importedFiles.map((i) => resolve(f, i.fileName)).filter((t) => t !== null))]);
}

// Tarjan's strongly connected components
let index = 0;
const idx = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const groups = [];
function strong(v) {
  idx.set(v, index);
  low.set(v, index++);
  stack.push(v);
  onStack.add(v);
  for (const w of edges.get(v) ?? []) {
    if (!idx.has(w)) {
      strong(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const g = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      g.push(w);
    } while (w !== v);
    if (g.length > 1 || (edges.get(v) ?? []).includes(v)) groups.push(g.sort());
  }
}
for (const f of files) if (!idx.has(f)) strong(f);

/** The shortest cycle through `start` inside its group (breadth-first). */
function cycleThrough(start, group) {
  const inGroup = new Set(group);
  const prev = new Map([[start, null]]);
  const queue = [start];
  while (queue.length) {
    const v = queue.shift();
    for (const w of edges.get(v) ?? []) {
      if (!inGroup.has(w)) continue;
      if (w === start) {
        const p = [v];
        while (prev.get(p[0])) p.unshift(prev.get(p[0]));
        return [...p, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}

const rel = (f) => path.relative(root, f).split(path.sep).join('/');
for (const g of groups) {
  const names = g.map(rel);
  console.log(`error: import cycle: ${names.length} modules: ${cycleThrough(g[0], g).map(rel).join(' -> ')}`);
  if (names.length > 2) console.log(`  group: ${names.join(', ')}`);
}
console.log(`import cycles: ${groups.length} group(s), ${files.length} modules checked`);
process.exit(groups.length > 0 ? 1 : 0);
