/**
 * Timing helpers for the benchmark: every figure is the median of several runs, reported with its
 * minimum and maximum. Candidates that are compared with each other run interleaved (round 1 of
 * each, then round 2 of each, ...), in a rotated order, so that a noisy moment on a shared machine
 * hits all of them rather than one.
 */

export interface Summary {
  median: number;
  min: number;
  max: number;
  /** every run, in the order measured */
  runs: number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function summarize(values: readonly number[]): Summary {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), runs: [...values] };
}

/** Seconds taken by fn (wall clock, high resolution). */
export function seconds(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

export async function secondsAsync(fn: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

export interface Candidate {
  name: string;
  /** one run over the whole data set */
  run: () => void;
}

/**
 * Runs every candidate `rounds` times, interleaved, after one untimed warm-up run each (V8
 * compiles Wasm with its baseline tier first and optimizes hot functions later: the warm-up makes
 * every timed run an optimized one). Returns each candidate's seconds per run, in round order.
 */
export function interleaved(candidates: readonly Candidate[], rounds: number, onRound?: (round: number) => void): Map<string, number[]> {
  for (const c of candidates) c.run();
  const times = new Map<string, number[]>(candidates.map((c) => [c.name, []]));
  for (let r = 0; r < rounds; r++) {
    // forwards, then backwards: neighbours stay neighbours and none always goes first
    const order = r % 2 === 0 ? candidates : [...candidates].reverse();
    for (const c of order) times.get(c.name)!.push(seconds(c.run));
    onRound?.(r + 1);
  }
  return times;
}

/** MiB/s of each run, from seconds per run over `bytes`. */
export function throughput(secondsPerRun: readonly number[], bytes: number): Summary {
  return summarize(secondsPerRun.map((s) => bytes / 1048576 / s));
}

/**
 * Median over the rounds of a / b, with a and b taken from the same round: less sensitive to a
 * machine that slows down and speeds up than the ratio of two medians.
 */
export function pairedRatio(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  const r: number[] = [];
  for (let i = 0; i < n; i++) r.push(a[i] / b[i]);
  return median(r);
}
