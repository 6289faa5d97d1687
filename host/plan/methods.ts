/**
 * Sanitization methods as data: the passes each one runs over the planned sectors
 * (../shared/reference/sanitization.md). On NOR flash a pattern pass programs, verifies by digest,
 * and is followed by an erase; every method ends with an erase and a blank check.
 */
export type MethodName = 'clear' | 'purge' | 'dod3';
export const METHODS: readonly MethodName[] = ['clear', 'purge', 'dod3'];

export type PassPattern = { kind: 'constant'; value: number } | { kind: 'xoshiro' };

export type Pass = { kind: 'erase'; name: string } | { kind: 'program'; name: string; pattern: PassPattern };

export interface MethodSpec {
  name: MethodName;
  /** NIST SP 800-88 outcome */
  nistType: 'Clear' | 'Purge';
  description: string;
  passes: Pass[];
  /** sampled verification of the final blank check is allowed */
  allowsSampling: boolean;
}

export const METHOD_SPECS: Record<MethodName, MethodSpec> = {
  clear: {
    name: 'clear',
    nistType: 'Clear',
    description: 'block erase of every sector in the plan, then a blank check',
    passes: [{ kind: 'erase', name: 'erase' }],
    allowsSampling: true,
  },
  purge: {
    name: 'purge',
    nistType: 'Purge',
    description:
      'block erase, a PRNG stream (xoshiro128**, host-chosen seed) programmed over every sector and verified by digest, then block erase and a full blank check',
    // programming can only clear bits: the stream goes onto erased flash so that its digests are predictable
    passes: [
      { kind: 'erase', name: 'erase-1' },
      { kind: 'program', name: 'prng', pattern: { kind: 'xoshiro' } },
      { kind: 'erase', name: 'erase-2' },
    ],
    allowsSampling: false,
  },
  dod3: {
    name: 'dod3',
    nistType: 'Purge',
    description: '0x00 pass, erase (0xFF, its complement), PRNG pass, erase; each pass verified by digest',
    passes: [
      { kind: 'program', name: 'zeros', pattern: { kind: 'constant', value: 0x00 } },
      { kind: 'erase', name: 'erase-1' },
      { kind: 'program', name: 'prng', pattern: { kind: 'xoshiro' } },
      { kind: 'erase', name: 'erase-2' },
    ],
    allowsSampling: false,
  },
};
