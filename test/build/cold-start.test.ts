// npm run bench:cold-start's measurement still works: the webhook and runTest,
// started from source, answer the unsigned POST with a 401, and a real signed
// push (webhook) or a queued task with its OIDC token (runTest) with a 2xx
// (measureColdStarts throws on any other answer). Times are printed by the
// bench, never asserted.
import { measureColdStarts } from '../../infra/build/cold-start';

jest.setTimeout(120_000);

it('times each function from source to its 401 and to its first signed answer', async () => {
  const results = await measureColdStarts({ runs: 1, bundles: false });
  expect(results.map((r) => [r.function, r.how])).toEqual([
    ['webhook', 'source'],
    ['runTest', 'source'],
  ]);
  for (const result of results) {
    for (const timing of [result.unsigned, result.signed]) {
      expect(timing.runs).toHaveLength(1);
      expect(timing.median).toBeGreaterThan(0);
      expect(Number.isFinite(timing.median)).toBe(true);
    }
  }
});
