// The sweeps read what they act on, not the history (DESIGN §3.3, §3.4): with
// 10,000 ended tests stored and 10 candidates, each run reads a few dozen
// documents through the store port. Counted by a wrapper around the store
// (each record a query returns, each getTest, each slot document read).
import { MAX_CREATE_BATCH, type TestStore } from '../../shared/store/port';
import type { TestRecord, TerminalStatus } from '../../shared/domain/test';
import { sweepExpired } from '../../shared/sweeps/sweep-expired';
import { sweepPending } from '../../shared/sweeps/sweep-pending';
import { at, useStore } from '../contracts/store/fixtures';
import { storeKinds } from '../tests/stores';
import {
  countingStore,
  endedTest,
  harness,
  holdSlots,
  pendingTest,
  queuedTest,
  runningTest,
  type ReadCounts,
} from './support';

const HISTORY = 10_000;
const STATUSES: readonly TerminalStatus[] = ['passed', 'failed', 'error', 'timed_out', 'canceled'];
const PLATFORMS = ['linux', 'windows'];
/** Most documents the two runs may read together for 10 candidates. */
const READ_BUDGET = 60;

/** An ended test of the history: VM deleted, deadline long past, updated long ago. */
function historic(n: number): TestRecord {
  const platform = PLATFORMS[n % PLATFORMS.length]!;
  return endedTest(`hist-${String(n).padStart(5, '0')}`, {
    platform,
    status: STATUSES[n % STATUSES.length]!,
    updatedAt: at(-10_000 + (n % 1000)),
    finishedAt: at(-10_000 + (n % 1000)),
    deadlineAt: at(-9_000),
  });
}

const fmt = (n: number) => n.toLocaleString('en-US');

function describeReads(run: string, counts: ReadCounts, stored: number): string {
  return (
    `${run} read ${fmt(counts.documents)} documents with ${fmt(stored)} tests stored ` +
    `(${counts.queries} queries, ${counts.transactions} transactions)`
  );
}

/** Seeds `history` ended tests and the 10 candidates, runs both sweeps, and counts their reads. */
async function seedAndSweep(
  store: TestStore,
  history: number,
): Promise<{ pending: ReadCounts; expired: ReadCounts; stored: number }> {
  // The history, in the largest batches createTests takes, two at a time.
  const batches: TestRecord[][] = [];
  for (let start = 0; start < history; start += MAX_CREATE_BATCH) {
    const size = Math.min(MAX_CREATE_BATCH, history - start);
    batches.push(Array.from({ length: size }, (_, i) => historic(start + i)));
  }
  for (let i = 0; i < batches.length; i += 2) {
    await Promise.all(batches.slice(i, i + 2).map((batch) => store.createTests(batch)));
  }

  // 10 candidates: 3 queued whose task is lost, 3 pending, 2 past their deadline, 2 due deletions.
  const late = [1, 2].map((n) =>
    runningTest(`late-${n}`, { startedAt: at(1), deadlineAt: at(11), updatedAt: at(2) }),
  );
  const deleting = [1, 2].map((n) =>
    endedTest(`deleting-${n}`, {
      deletionOf: { attempts: 0, doneAt: null, nextCheckAt: at(20), requestedAt: at(20) },
    }),
  );
  const candidates = [
    ...[1, 2, 3].map((n) => queuedTest(`lost-${n}`, { updatedAt: at(n) })),
    ...[1, 2, 3].map((n) => pendingTest(`pending-${n}`, { platform: 'windows', updatedAt: at(n) })),
    ...late,
    ...deleting,
  ];
  await store.createTests(candidates);

  const pendingRun = countingStore(store);
  const h = harness(pendingRun.store);
  await holdSlots(store, 'linux', ...late.map((t) => t.id));
  for (const test of [...late, ...deleting]) await h.seedVm(test, { createdAt: at(1) });

  const pending = await sweepPending(h.deps);
  expect(pending.lostTasks).toMatchObject({ found: 3, done: 3 });
  expect(pending.enqueued).toMatchObject({ done: 1 });

  const expiredRun = countingStore(store);
  const expired = await sweepExpired(h.depsWith(expiredRun.store));
  expect(expired.deletions).toMatchObject({ found: 2, done: 2 });
  expect(expired.timedOut).toMatchObject({ found: 2, done: 2 });
  expect(h.logs.entries.filter((e) => e.level === 'error')).toEqual([]);

  return {
    pending: pendingRun.counts(),
    expired: expiredRun.counts(),
    stored: history + candidates.length,
  };
}

describe.each(storeKinds('vmci-sweeps-reads'))('sweep reads ($name)', ({ make, name }) => {
  const current = useStore(make);

  it('grow with the candidates, not with the tests stored', async () => {
    // The same candidates alone, on a store of their own: the reads they cost.
    const alone = await seedAndSweep((await make()).store, 0);
    const crowded = await seedAndSweep(current().store, HISTORY);

    console.log(
      [
        `[${name}]`,
        describeReads('sweepPending', crowded.pending, crowded.stored),
        describeReads('sweepExpired', crowded.expired, crowded.stored),
        describeReads('sweepPending', alone.pending, alone.stored),
        describeReads('sweepExpired', alone.expired, alone.stored),
      ].join('\n'),
    );
    expect(crowded.pending.documents + crowded.expired.documents).toBeLessThanOrEqual(READ_BUDGET);
    expect(crowded.pending.documents).toBeLessThan(HISTORY / 100);
    expect(crowded.expired.documents).toBeLessThan(HISTORY / 100);
    // Not one read more for the 10,000 ended tests.
    expect({ pending: crowded.pending, expired: crowded.expired }).toEqual({
      pending: alone.pending,
      expired: alone.expired,
    });
  }, 120_000);
});
