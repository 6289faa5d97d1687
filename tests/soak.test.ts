/**
 * The fixed short soak campaign (bench/soak.ts): seeded sessions of the real erase path against
 * faulty emulated terminals, each checked independently of the tool's verdict. The long campaign
 * is `npm run soak -- --sessions 10000 --seed 1`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planSession, runSoak, sessionSeed, formatSoak, FAULT_KINDS } from '../bench/soak';

const SESSIONS = 200;
/** sessions run in `npm test`: at instruction level a session costs up to 2 s of one core */
const RUN = 40;

test('session plans are reproducible from their seed and cover every board, method and fault', () => {
  const plans = Array.from({ length: SESSIONS }, (_, i) => planSession(sessionSeed(7, i)));
  assert.deepEqual(planSession(plans[3].seed), plans[3]);
  const kinds = new Set(plans.flatMap((p) => p.kinds));
  for (const k of FAULT_KINDS) assert.ok(kinds.has(k), `no session with ${k}`);
  assert.equal(new Set(plans.map((p) => p.method)).size, 3);
  assert.ok(new Set(plans.map((p) => p.board)).size >= 7, 'every shipped board');
  for (const p of plans) if (p.unlock) assert.equal(p.backup, false, 'an unlocked part is erased with --no-backup');
});

// the time limit is a safety net for a hung campaign, not a speed check (speed is npm run bench's): a loaded machine must not fail it
test(`soak: ${RUN} seeded faulty sessions, no false success, no lost backup, every failure named`, { timeout: 900_000 }, async () => {
  const lines: string[] = [];
  const s = await runSoak({ sessions: RUN, seed: 7, maxSeconds: 600, workers: 2, log: (l) => lines.push(l) });
  const table = formatSoak(s);
  assert.equal(s.sessions, RUN, `stopped early:\n${table}`);
  assert.equal(s.falseSuccess, 0, table);
  assert.equal(s.lostBackups, 0, table);
  assert.deepEqual(s.violations, [], `${table}\n${lines.join('\n')}`);
  // the campaign exercised both sides: verified runs and failures of each kind
  assert.ok(s.verified > RUN / 4, table);
  for (const code of ['1', '3', '4']) assert.ok((s.outcomes[code] ?? 0) > 0, `no session ended with exit ${code}\n${table}`);
  assert.equal(s.verified + s.failed, s.sessions);
});
