/**
 * Conformance vectors for engineers who embed a Wasm runtime in terminal firmware
 * (docs/terminal-abi-guide.md): a small flash with a fixed image, a fixed nonce and four jobs that
 * exercise HASH (with a short last block), ERASE, PROGRAM with both pattern kinds, and the
 * expected status, blank bitmap, HAL event counts and digests of each. The expectation is the
 * host's (node:crypto); before printing, the script checks that the engine agrees in every
 * runtime available here and exits 1 if any disagrees.
 *
 *   node build/host/image/vectors.js > docs/conformance-vectors.json
 */
import { createHash } from 'node:crypto';
import { ABI_VERSION, blocksOf, encodeJob, patternBytes, type JobSpec } from '../engine/abi';
import {
  CONFORMANCE_IMAGE_SEED,
  CONFORMANCE_NONCE,
  CONFORMANCE_PATTERN_SEED,
  expectedOutputs,
  fixedImage,
  runConformance,
  type ConformanceCase,
} from './conformance';
import { hex32 } from '../format/hex';

const BASE = 0x08000000;
const SIZE = 16 * 1024;
const ERASED = 0xff;

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** The vectors' case: a 16 KiB flash (four 4 KiB sectors) and four jobs run in order. */
export function vectorCase(): ConformanceCase {
  const base = { erasedValue: ERASED, nonce: CONFORMANCE_NONCE };
  const jobs: { label: string; spec: JobSpec }[] = [
    {
      label: 'hash-image',
      spec: {
        ...base,
        blockSize: 1024,
        ops: { hash: true },
        pattern: null,
        erase: [],
        program: [],
        hash: [
          { address: BASE, size: 4096 },
          { address: BASE + 0x3f00, size: 200 },
        ],
      },
    },
    {
      label: 'erase-sector-0',
      spec: {
        ...base,
        blockSize: 1024,
        ops: { erase: true, hash: true },
        pattern: null,
        erase: [{ address: BASE, size: 4096 }],
        program: [],
        hash: [{ address: BASE, size: 4096 }],
      },
    },
    {
      label: 'program-xoshiro-sector-0',
      spec: {
        ...base,
        blockSize: 2048,
        ops: { program: true, hash: true },
        pattern: { kind: 'xoshiro', seed: CONFORMANCE_PATTERN_SEED },
        erase: [],
        program: [{ address: BASE, size: 4096 }],
        hash: [{ address: BASE, size: 4096 }],
      },
    },
    {
      label: 'zeroize-2k-of-sector-1',
      spec: {
        ...base,
        blockSize: 1024,
        ops: { program: true, hash: true },
        pattern: { kind: 'constant', value: 0 },
        erase: [],
        program: [{ address: BASE + 0x1000, size: 2048 }],
        hash: [{ address: BASE + 0x1000, size: 2048 }],
      },
    },
  ];
  return { name: 'vectors', flash: { base: BASE, size: SIZE, erasedValue: ERASED }, imageSeed: CONFORMANCE_IMAGE_SEED, jobs };
}

function opsList(spec: JobSpec): string[] {
  return (['program', 'erase', 'hash'] as const).filter((k) => spec.ops[k]);
}

/** The vectors document (JSON-ready). */
export function vectors(): Record<string, unknown> {
  const c = vectorCase();
  const expected = expectedOutputs(c);
  // replay the jobs on a copy of the image to give the flash digest after each
  const flash = fixedImage(BASE, SIZE, CONFORMANCE_IMAGE_SEED);
  const initial = sha(flash);
  const jobs = c.jobs.map(({ label, spec }, i) => {
    if (spec.ops.program) for (const r of spec.program) patternBytes(spec.pattern!, r.address, r.size).forEach((b, k) => (flash[r.address - BASE + k] &= b));
    if (spec.ops.erase) for (const r of spec.erase) flash.fill(ERASED, r.address - BASE, r.address - BASE + r.size);
    const e = expected[i];
    const blocks = blocksOf(spec.hash, spec.blockSize);
    const bitmap: number[] = [];
    e.blank.forEach((b, k) => {
      if (b) bitmap[k >>> 5] = ((bitmap[k >>> 5] ?? 0) | (1 << (k & 31))) >>> 0;
      else bitmap[k >>> 5] ??= 0;
    });
    return {
      label,
      ops: opsList(spec),
      blockSize: spec.blockSize,
      erasedValue: spec.erasedValue,
      pattern:
        spec.pattern &&
        (spec.pattern.kind === 'constant' ? { kind: 'constant', value: spec.pattern.value } : { kind: 'xoshiro', seed: spec.pattern.seed.map(hex32) }),
      erase: spec.erase.map((r) => ({ address: hex32(r.address), size: r.size })),
      hash: spec.hash.map((r) => ({ address: hex32(r.address), size: r.size })),
      program: spec.program.map((r) => ({ address: hex32(r.address), size: r.size })),
      job: Buffer.from(encodeJob(spec)).toString('hex'),
      expected: {
        status: e.status,
        blocksHashed: e.blocks,
        blankBitmap: bitmap.map(hex32),
        events: { programmed: e.events[0], erased: e.events[1], hashed: e.events[2] },
        digests: blocks.map((b, k) => ({ address: hex32(b.address), size: b.size, digest: e.digests[k] })),
        flashSha256After: sha(flash),
      },
    };
  });
  return {
    description:
      'poswipe engine conformance vectors (docs/terminal-abi-guide.md). Fill the flash with the fixed image, write each job at JOB and call run() in order: each job sees the flash as the previous one left it. Every field of `expected` must match.',
    abiVersion: ABI_VERSION,
    flash: {
      base: hex32(BASE),
      size: SIZE,
      sectors: [0, 1, 2, 3].map((i) => ({ address: hex32(BASE + i * 4096), size: 4096 })),
      erasedValue: `0x${ERASED.toString(16)}`,
      imageSeed: hex32(CONFORMANCE_IMAGE_SEED),
      image: 'the u32 word at device address a (a multiple of 4) is splitmix32(imageSeed ^ a), stored little-endian (splitmix32 as in docs/abi.md, "Patterns")',
      imageFirst32Bytes: Buffer.from(fixedImage(BASE, SIZE, CONFORMANCE_IMAGE_SEED).subarray(0, 32)).toString('hex'),
      imageSha256: initial,
    },
    nonce: Buffer.from(CONFORMANCE_NONCE).toString('hex'),
    jobs,
  };
}

if (require.main === module) {
  const report = runConformance([vectorCase()]);
  if (!report.ok) {
    process.stderr.write(
      `vectors: the engine does not agree with the host expectation:\n${JSON.stringify(report.runtimes)}\n${JSON.stringify(report.mismatches.slice(0, 3))}\n`,
    );
    process.exit(1);
  }
  for (const s of report.skipped) process.stderr.write(`vectors: not cross-checked in ${s.runtime}: ${s.reason}\n`);
  process.stdout.write(JSON.stringify(vectors(), null, 2) + '\n');
}
