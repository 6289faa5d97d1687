/**
 * The core clocks the agent knows (docs/agent.md, CLOCK): the clock CLOCK switches each agent
 * kind to, the family's maximum from the PLL (agent/src/clock_f2.c, clock_l4.c).
 */
export const FAST_CLOCK_HZ: Readonly<Record<string, number>> = {
  f2: 120_000_000,
  f4: 168_000_000,
  l4: 80_000_000,
};
