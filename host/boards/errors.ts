/**
 * Problems found in board files, and the error `loadBoard` throws when there are any.
 */
import * as path from 'path';

/** One thing wrong with a board file. `field` is a dotted path such as `flash.sectors[1].size`. */
export interface Problem {
  file: string;
  field: string;
  rule: string;
  explanation: string;
}

/** `<file>: <field>: <rule-name>: <explanation>`, with the file shown relative to the working directory when inside it. */
export function formatProblem(p: Problem): string {
  return `${displayPath(p.file)}: ${p.field}: ${p.rule}: ${p.explanation}`;
}

/** A path as a person would like to read it: relative to the working directory when below it. */
export function displayPath(file: string): string {
  if (!path.isAbsolute(file)) return file;
  const rel = path.relative(process.cwd(), file);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return file;
  return rel.split(path.sep).join('/');
}

/**
 * Thrown by the loader. `rule`, `file` and `field` are those of the first problem; `problems`
 * holds every problem found. The message's first line names the first problem and counts the
 * others; the following lines list all of them.
 */
export class BoardError extends Error {
  readonly rule: string;
  readonly file: string;
  readonly field: string;
  readonly problems: readonly Problem[];

  constructor(problems: Problem[]) {
    if (problems.length === 0) throw new Error('BoardError needs at least one problem');
    const first = problems[0];
    const more = problems.length - 1;
    const summary = formatProblem(first) + (more > 0 ? ` (and ${more} more problem${more === 1 ? '' : 's'})` : '');
    const details = more > 0 ? '\n' + problems.map((p) => '  ' + formatProblem(p)).join('\n') : '';
    super(summary + details);
    this.name = 'BoardError';
    this.rule = first.rule;
    this.file = first.file;
    this.field = first.field;
    this.problems = problems;
  }

  /** the distinct rule names among the problems, in order of first appearance */
  get rules(): string[] {
    return [...new Set(this.problems.map((p) => p.rule))];
  }
}
