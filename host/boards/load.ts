/**
 * Finding, reading and validating board files. This is the only module here that touches the
 * file system.
 *
 *   loadBoard('stm32f407')              a board id from the boards directory
 *   loadBoard('./my-terminal.json')     a path (contains a '/' or ends with .json)
 *
 * The boards directory is `boards/` at the package root (found by walking up from this file to
 * poswipe's package.json), or the directory named by POSWIPE_BOARDS_DIR, or `opts.boardsDir`.
 * `inherits` is looked up next to the file that names it (and in a `families/` folder there),
 * then in the boards directory and its `families/` folder.
 */
import { FILE_LIMITS, readBounded } from '../files/read-bounded';
import * as fs from 'fs';
import * as path from 'path';
import { packageRoot } from '../files/package-root';
import { BoardError, type Problem } from './errors';
import { type BoardFile, mergeFiles, resolveChain } from './resolve';
import { FILE_RULES, checkBoard, requiredFields } from './rules';
import { convertFile, isPlainObject } from './schema';
import { type Board } from './types';

export { BoardError } from './errors';
export type { Problem } from './errors';
export { sectorsOf, sectorsIn, eraseTimeFor, fullEraseTime } from './layout';

export interface LoadOptions {
  /** the boards directory to use instead of the shipped one */
  boardsDir?: string;
}

const FAMILIES = 'families';

/** The boards directory: opts.boardsDir, else POSWIPE_BOARDS_DIR, else `boards/` at the package root. */
export function boardsDir(opts: LoadOptions = {}): string {
  if (opts.boardsDir !== undefined) return path.resolve(opts.boardsDir);
  const env = process.env.POSWIPE_BOARDS_DIR;
  if (env !== undefined && env !== '') return path.resolve(env);
  return packageBoardsDir();
}

function packageBoardsDir(): string {
  return path.join(packageRoot(), 'boards');
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** True when `s` names a file rather than a board id. */
export function looksLikePath(s: string): boolean {
  return s.includes('/') || s.includes('\\') || s.endsWith('.json');
}

/** Read and parse one file; throws BoardError (file-readable, json-syntax). */
export function readBoardFile(file: string): BoardFile {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = readBounded(abs, FILE_LIMITS.board).toString('utf8');
  } catch (e) {
    const why = e instanceof Error ? e.message.replace(/^[A-Z]+: /, '') : String(e);
    throw new BoardError([{ file: abs, field: '(file)', rule: 'file-readable', explanation: `cannot read the board file: ${why}` }]);
  }
  try {
    return { file: abs, raw: JSON.parse(text) as unknown };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new BoardError([{ file: abs, field: '(file)', rule: 'json-syntax', explanation: jsonErrorText(text, msg) }]);
  }
}

/** The parser's message with the position turned into line and column. */
function jsonErrorText(text: string, message: string): string {
  const m = /at position (\d+)/.exec(message);
  let pos: number | undefined = m ? Number(m[1]) : undefined;
  if (pos === undefined && /Unexpected end of JSON input/.test(message)) pos = text.length;
  const bare = message.replace(/\s*in JSON at position \d+.*$/, '').replace(/\s*\(line \d+ column \d+\)$/, '');
  if (pos === undefined) return `not valid JSON: ${bare}`;
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  return `not valid JSON at line ${line}, column ${column} (offset ${pos}): ${bare}`;
}

function searchDirs(from: string | undefined, opts: LoadOptions): string[] {
  const shipped = boardsDir(opts);
  const dirs = from === undefined ? [] : [path.dirname(from), path.join(path.dirname(from), FAMILIES)];
  dirs.push(shipped, path.join(shipped, FAMILIES));
  return [...new Set(dirs)];
}

function findFile(id: string, dirs: string[]): string | undefined {
  for (const d of dirs) {
    const f = path.join(d, `${id}.json`);
    if (isFile(f)) return f;
  }
  return undefined;
}

/** Load, resolve and validate one board; throws BoardError listing every problem. */
export function loadBoard(idOrPath: string, opts: LoadOptions = {}): Board {
  let file: string;
  if (looksLikePath(idOrPath)) {
    file = path.resolve(idOrPath);
  } else {
    const found = findFile(idOrPath, searchDirs(undefined, opts));
    if (found === undefined) {
      const known = scanBoards(opts)
        .filter((f) => !f.family)
        .map((f) => f.id);
      throw new BoardError([
        {
          file: boardsDir(opts),
          field: '(id)',
          rule: 'unknown-board',
          explanation: `no board "${idOrPath}"; known boards: ${known.length > 0 ? known.join(', ') : '(none)'}`,
        },
      ]);
    }
    file = found;
  }
  return loadFile(readBoardFile(file), opts);
}

function loadFile(start: BoardFile, opts: LoadOptions): Board {
  // 1. the chain of files
  const { chain, problems: chainProblems } = resolveChain(start, (id, from) => {
    const f = findFile(id, searchDirs(from.file, opts));
    return f === undefined ? undefined : readBoardFile(f);
  });
  if (chainProblems.length > 0) throw new BoardError(chainProblems);

  // 2. each file as written
  const fileProblems: Problem[] = [];
  for (const f of chain) for (const rule of Object.values(FILE_RULES)) fileProblems.push(...rule(f.raw, f.file));
  if (fileProblems.length > 0) throw new BoardError(fileProblems);

  if (isPlainObject(start.raw) && start.raw.kind === 'family') {
    throw new BoardError([
      { file: start.file, field: 'kind', rule: 'not-a-board', explanation: 'this is a family file: boards inherit it, but it is not a board of its own' },
    ]);
  }

  // 3. merged
  const merged = mergeFiles(chain.map((f) => ({ file: f.file, data: convertFile(f.raw) })));
  const missing = requiredFields(merged.value, merged.origin);
  if (missing.length > 0) throw new BoardError(missing);

  // 4. the board
  const { kind: _kind, inherits: _inherits, ...fields } = merged.value;
  const board = {
    ...fields,
    inherits: chain.slice(0, -1).map((f) => (f.raw as { id: string }).id),
    source: start.file,
  } as unknown as Board;
  const problems = checkBoard(board, merged.origin);
  if (problems.length > 0) throw new BoardError(problems);
  return board;
}

interface ScannedFile {
  file: string;
  id: string;
  family: boolean;
}

/** The .json files of the boards directory and its families/ folder (unparsable files count as boards). */
function scanBoards(opts: LoadOptions): ScannedFile[] {
  const root = boardsDir(opts);
  const out: ScannedFile[] = [];
  for (const dir of [root, path.join(root, FAMILIES)]) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      const file = path.join(dir, name);
      let family = false;
      try {
        const raw: unknown = JSON.parse(readBounded(file, FILE_LIMITS.board).toString('utf8'));
        family = isPlainObject(raw) && raw.kind === 'family';
      } catch {
        // loadBoard reports it
      }
      out.push({ file, id: path.basename(name, '.json'), family });
    }
  }
  return out;
}

/** Every board in the boards directory (family files left out), sorted by id; throws on the first invalid one. */
export function listBoards(opts: LoadOptions = {}): Board[] {
  return scanBoards(opts)
    .filter((f) => !f.family)
    .map((f) => loadBoard(f.file, opts))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Every board in the boards directory, valid ones and the errors of the others (for listings that carry on). */
export function loadAllBoards(opts: LoadOptions = {}): { boards: Board[]; errors: BoardError[] } {
  const boards: Board[] = [];
  const errors: BoardError[] = [];
  for (const f of scanBoards(opts).filter((s) => !s.family)) {
    try {
      boards.push(loadBoard(f.file, opts));
    } catch (e) {
      if (!(e instanceof BoardError)) throw e;
      errors.push(e);
    }
  }
  boards.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { boards, errors };
}

/** The boards whose part reports `pid` to Get ID (several boards may share a part). */
export function boardForProductId(pid: number, opts: LoadOptions = {}): Board[] {
  return listBoards(opts).filter((b) => b.productIds.includes(pid));
}
