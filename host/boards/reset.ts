/**
 * Reset sequences: how the host drives a terminal's BOOT0 and NRST through the serial adapter's
 * DTR and RTS lines. The language is described in docs/reset-sequences.md:
 *
 *   dtr | -dtr      assert / release DTR (wired to BOOT0: asserted = BOOT0 high)
 *   rts | -rts      assert / release RTS (wired to NRST: asserted = reset held)
 *   wait:<ms>       pause, 1..60000 milliseconds
 *
 * Tokens are separated by commas and/or white space, and are case-insensitive.
 */

export type ResetLine = 'dtr' | 'rts';

export type ResetStep = { kind: 'line'; line: ResetLine; asserted: boolean } | { kind: 'wait'; ms: number };

export const MAX_WAIT_MS = 60000;

export class ResetSequenceError extends Error {
  /** 1-based position of the offending token, 0 when the sequence as a whole is wrong */
  readonly token: number;

  constructor(sequence: string, token: number, explanation: string) {
    super(`reset sequence ${JSON.stringify(sequence)}: ${token > 0 ? `token ${token}: ` : ''}${explanation}`);
    this.name = 'ResetSequenceError';
    this.token = token;
  }
}

const EXPECTED_TOKENS = 'expected dtr, -dtr, rts, -rts or wait:<ms>';

/** Parse a sequence; throws ResetSequenceError naming the first bad token. */
export function parseResetSequence(sequence: string): ResetStep[] {
  const tokens = sequence.split(/[\s,]+/).filter((t) => t !== '');
  if (tokens.length === 0) throw new ResetSequenceError(sequence, 0, `empty sequence; ${EXPECTED_TOKENS}`);
  return tokens.map((token, i) => parseToken(sequence, token, i + 1));
}

function parseToken(sequence: string, token: string, position: number): ResetStep {
  const t = token.toLowerCase();
  const line = /^(-?)(dtr|rts)$/.exec(t);
  if (line) return { kind: 'line', line: line[2] as ResetLine, asserted: line[1] === '' };
  if (t.startsWith('wait')) {
    const m = /^wait:(\d+)$/.exec(t);
    if (!m) throw new ResetSequenceError(sequence, position, `"${token}": a wait is written wait:<ms>, e.g. wait:100`);
    const ms = Number(m[1]);
    if (ms < 1 || ms > MAX_WAIT_MS) {
      throw new ResetSequenceError(sequence, position, `"${token}": wait must be 1..${MAX_WAIT_MS} ms`);
    }
    return { kind: 'wait', ms };
  }
  throw new ResetSequenceError(sequence, position, `"${token}": unknown token; ${EXPECTED_TOKENS}`);
}

/** The sequence written back in its canonical form, e.g. "rts,dtr,wait:100,-rts". */
export function formatResetSequence(steps: readonly ResetStep[]): string {
  return steps.map((s) => (s.kind === 'wait' ? `wait:${s.ms}` : `${s.asserted ? '' : '-'}${s.line}`)).join(',');
}
