// The sweeps-at-scale scenario (infra/bench/sweeps.ts), small: it runs, its
// figures are finite and its reads/candidates ratio is reported (the counter
// itself: firestore-ops.test.ts). No timing is asserted.
import { createSweepsScenario } from '../../infra/bench/sweeps';
import type { BenchContext } from '../../infra/bench/scenario';

jest.setTimeout(90_000);

describe('sweepsScenario, short', () => {
  it('reports time, documents read, candidates and the ratio for 10 and 100 candidates', async () => {
    const progress: [string, number, number][] = [];
    const ctx: BenchContext = {
      short: true,
      log: () => {},
      progress: (label, done, total) => progress.push([label, done, total]),
    };
    const results = await createSweepsScenario({ stored: 500 }).run(ctx);
    expect(results.map((r) => r.mode)).toEqual([
      '500 stored, 10 candidates',
      '500 stored, 100 candidates',
    ]);
    for (const result of results) {
      expect(result.scenario).toBe('sweeps');
      const byName = Object.fromEntries(result.figures.map((f) => [f.name, f]));
      for (const figure of result.figures) expect(Number.isFinite(figure.value)).toBe(true);
      const candidates = byName['candidates']!.value;
      const reads =
        byName['sweepPending documents read']!.value + byName['sweepExpired documents read']!.value;
      // Every candidate is read at least once; the ended history is not read.
      expect(reads).toBeGreaterThanOrEqual(candidates);
      expect(reads).toBeLessThan(500);
      expect(byName['reads / candidates']).toMatchObject({
        unit: 'ratio',
        value: reads / candidates,
        target: { op: '<=', value: 2 },
      });
      expect(byName['sweepPending time']!.unit).toBe('ms');
      expect(result.notes?.join(' ')).toMatch(/0 errors logged/);
      expect(result.notes?.join(' ')).toContain('Transaction.get');
    }
    expect(progress).toContainEqual(['sweeps: storing ended tests', 500, 500]);
  });
});
