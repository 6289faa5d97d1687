import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './helpers';

/** Every relative import and re-export of the .ts files under `dir` (type-only ones count: they are coupling too). */
function importGraph(dir: string): Map<string, string[]> {
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.push(p);
    }
  };
  walk(dir);
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const deps: string[] = [];
    for (const m of readFileSync(f, 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/g)) {
      const base = path.resolve(path.dirname(f), m[1]);
      const target = [`${base}.ts`, path.join(base, 'index.ts')].find((c) => existsSync(c));
      if (target && target.startsWith(dir + path.sep)) deps.push(target);
    }
    graph.set(f, deps);
  }
  return graph;
}

/** The import cycles of a graph, each as the files along it (depth-first search, back edges). */
function cycles(graph: Map<string, string[]>, root: string): string[] {
  const out: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    stack.push(n);
    for (const d of graph.get(n) ?? []) {
      if (state.get(d) === 'open') out.push([...stack.slice(stack.indexOf(d)), d].map((x) => path.relative(root, x)).join(' -> '));
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return out;
}

test('the cycle finder finds a cycle (a type-only one included) in a graph that has one', () => {
  const g = new Map([
    ['/r/a.ts', ['/r/b.ts']],
    ['/r/b.ts', ['/r/c.ts']],
    ['/r/c.ts', ['/r/a.ts']],
    ['/r/d.ts', ['/r/a.ts']],
  ]);
  assert.deepEqual(cycles(g, '/r'), ['a.ts -> b.ts -> c.ts -> a.ts']);
});

test('host/session has no import cycle, type-only imports included (issue #17)', () => {
  const dir = path.join(ROOT, 'host', 'session');
  const graph = importGraph(dir);
  assert.ok(graph.size >= 10 && [...graph.values()].some((d) => d.length > 0), 'the graph was read');
  assert.deepEqual(cycles(graph, dir), []);
});
