// The sweeps-at-scale scenario (infra/bench/sweeps.ts), small: it runs, its
// figures are finite, its reads/candidates ratio is reported, and its read
// counter counts what the Firestore client really reads. No timing is asserted.
import { randomBytes } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { PassThroughClient } from 'google-auth-library';
import {
  clearEmulatorProject,
  ensureFirestoreEmulator,
} from '../../infra/local/firestore-emulator';
import { countReads, createSweepsScenario } from '../../infra/bench/sweeps';
import type { BenchContext } from '../../infra/bench/scenario';

jest.setTimeout(90_000);

describe('countReads', () => {
  let db: Firestore;
  let host: string;
  const projectId = `vmci-bench-count-${randomBytes(4).toString('hex')}`;
  beforeAll(async () => {
    host = (await ensureFirestoreEmulator()).host;
    db = new Firestore({
      projectId,
      host,
      ssl: false,
      authClient: new PassThroughClient(),
    });
  });
  afterAll(async () => {
    await clearEmulatorProject(host, projectId).catch(() => {});
    await db.terminate();
  });

  it('adds each document a query, a get, a transaction get and a getAll returns, once', async () => {
    const docs = db.collection('things');
    const batch = db.batch();
    for (let i = 0; i < 7; i++) batch.set(docs.doc(`t${i}`), { i });
    await batch.commit();
    const counter = countReads();
    try {
      await docs.get(); // not counting yet
      expect(counter.counts.documents).toBe(0);
      counter.start();
      await docs.where('i', '<', 5).get();
      expect(counter.counts).toMatchObject({ documents: 5, queries: 1 });
      await docs.doc('t1').get(); // implemented with getAll inside: still 1
      await docs.doc('missing').get(); // a get of nothing is a read too
      expect(counter.counts).toMatchObject({ documents: 7, gets: 2 });
      await db.runTransaction(async (tx) => {
        await tx.get(docs.doc('t2'));
        await tx.getAll(docs.doc('t3'), docs.doc('t4'));
        await tx.get(docs.limit(3));
      });
      expect(counter.counts).toMatchObject({ documents: 13, gets: 5, queries: 2 });
      await db.getAll(docs.doc('t5'), docs.doc('t6'));
      await docs.count().get();
      expect(counter.counts).toMatchObject({ documents: 16, gets: 7, aggregations: 1 });
      counter.stop();
      await docs.get();
      expect(counter.counts.documents).toBe(16);
    } finally {
      counter.restore();
    }
    // Restored: a new counter starts from nothing and the client still works.
    expect((await docs.get()).size).toBe(7);
  });
});

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
