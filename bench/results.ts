/**
 * The shape of bench/results.json: what bench/run.ts measures and bench/report.ts prints and
 * judges (bench/README.md explains every figure).
 */
import type { CliTime } from './cli-time';
import type { benchCpu } from './cpu';
import type { BoardE2e } from './e2e';
import type { Footprint } from './footprint';
import type { Summary } from './stats';

export interface Target {
  name: string;
  /** what is required, in words */
  want: string;
  value: number | null;
  /** the value shown, with its unit */
  shown: string;
  met: boolean | null;
}

export interface BenchResults extends Footprint {
  version: 1;
  date: string;
  node: string;
  cpu: string;
  cores: number;
  platform: string;
  config: { blockSize: number; totalMiB: number; rounds: number; cliRuns: number };
  /** the committed f4 agent executed by the instruction-level emulated terminal (bench/cpu.ts) */
  instructionLevel: Awaited<ReturnType<typeof benchCpu>>;
  sha256: {
    engineMiBs: number;
    simdMiBs: number;
    simdKernelMiBs: number;
    hashWasmMiBs: number;
    asSha256MiBs: number;
    nodeMiBs: number;
    ratios: Record<'engineVsHashWasm' | 'engineVsNode' | 'simdVsHashWasm' | 'simdVsNode' | 'simdVsEngine' | 'simdKernelVsHashWasm', number>;
    runs: Record<string, Summary>;
    /** with --callgrind: instructions executed per byte of block data (engine, simd, hashWasm) */
    instructionsPerByte: Record<string, number> | null;
  };
  blank: { engineMiBs: number; bufferCompareMiBs: number; runs: Record<string, Summary> };
  pattern: {
    engineXoshiroMiBs: number;
    engineConstantMiBs: number;
    bufferFillMiBs: number;
    randomFillMiBs: number;
    hostXoshiroMiBs: number;
    runs: Record<string, Summary>;
  };
  e2e: Record<string, BoardE2e>;
  cli: Record<string, CliTime | { error: string }>;
  targets: Target[];
  durationS: number;
}
