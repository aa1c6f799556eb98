// Cold start of webhook and runTest: process start → first answer (infra/build/cold-start.ts,
// also `npm run bench:cold-start`), median of 5, from source and as bundled; short: 1 run, source only.
import { measureColdStarts } from '../build/cold-start';
import type { Figure, Scenario } from './scenario';

const TARGET_MS: Record<string, number> = { webhook: 300, runTest: 1500 };

export const coldStartScenario: Scenario = {
  name: 'cold-start',
  async run(ctx) {
    const runs = ctx.short ? 1 : 5;
    const results = await measureColdStarts({
      runs,
      bundles: !ctx.short,
      onRun: (done, total) => ctx.progress('cold start: processes', done, total),
    });
    const figures: Figure[] = results.map((r) => ({
      name: `${r.function} (${r.how}): median`,
      value: r.median,
      unit: 'ms',
      ...(TARGET_MS[r.function] !== undefined
        ? { target: { op: '<=' as const, value: TARGET_MS[r.function]! } }
        : {}),
    }));
    return [
      {
        scenario: 'cold-start',
        figures,
        notes: [
          `process start → first answer (a 401 to an unsigned POST), ${runs} run(s) each, one process at a time`,
        ],
      },
    ];
  },
};
