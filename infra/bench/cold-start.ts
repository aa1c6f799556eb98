// Cold start of webhook and runTest: process start → first answer (infra/build/cold-start.ts,
// also `npm run bench:cold-start`), median of 5, from source and as bundled; short: 1 run,
// source only. Two answers, each in processes of its own: the 401 to an unsigned POST, and
// the answer to the first real request (a signed push; a task with its OIDC token), which
// is what GitHub and Cloud Tasks wait for. The targets apply to the latter.
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
    const figures: Figure[] = results.flatMap((r): Figure[] => {
      const target = TARGET_MS[r.function];
      const label = `${r.function} (${r.how})`;
      return [
        { name: `${label}: unsigned 401, median`, value: r.unsigned.median, unit: 'ms' },
        {
          name: `${label}: first signed answer, median`,
          value: r.signed.median,
          unit: 'ms',
          ...(target !== undefined ? { target: { op: '<=' as const, value: target } } : {}),
        },
        ...(r.signed.cpuMedian !== undefined
          ? [
              {
                name: `${label}: CPU by that answer, median`,
                value: r.signed.cpuMedian,
                unit: 'ms' as const,
              },
            ]
          : []),
      ];
    });
    return [
      {
        scenario: 'cold-start',
        figures,
        notes: [
          `process start → first answer, ${runs} run(s) each, one process at a time, against the local cloud`,
          'unsigned: the 401 the door answers before any Google call, the clients made for Google as deployed; signed, against the local cloud: a real push signed with the webhook secret (webhook), a queued task with its OIDC token (runTest), answered 2xx',
          "CPU: the process's user + system time by the signed answer, all threads (less sensitive than wall time to other work on the machine)",
        ],
      },
    ];
  },
};
