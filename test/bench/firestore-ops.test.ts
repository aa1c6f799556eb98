// The bench's Firestore counter (infra/bench/firestore-ops.ts) against the real
// emulator: it counts what the client really reads and writes, by collection
// and kind, once per document per commit, each attempt of a retried
// transaction, nothing of an ignored client, and clients of another copy of
// the module (a Jest-isolated registry) once that copy is added.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { FieldValue, Firestore } from '@google-cloud/firestore';
import type * as FirestoreModule from '@google-cloud/firestore';
import { PassThroughClient } from 'google-auth-library';
import {
  clearEmulatorProject,
  ensureFirestoreEmulator,
} from '../../infra/local/firestore-emulator';
import {
  addFirestoreModule,
  billedReads,
  callSite,
  countFirestoreOps,
  describeByCollection,
  describeBySite,
  documentPath,
  hottestDocuments,
  topCollection,
  type CountOptions,
  type FirestoreOpsCounter,
  type OpsCounts,
} from '../../infra/bench/firestore-ops';
import { createFirestoreStore } from '../../shared/store/firestore';

jest.setTimeout(60_000);

let host: string;
const projectId = `vmci-bench-count-${randomBytes(4).toString('hex')}`;
const clients: Firestore[] = [];

function client(Ctor: typeof Firestore = Firestore): Firestore {
  const db = new Ctor({ projectId, host, ssl: false, authClient: new PassThroughClient() });
  clients.push(db);
  return db;
}

beforeAll(async () => {
  host = (await ensureFirestoreEmulator()).host;
});
afterAll(async () => {
  await clearEmulatorProject(host, projectId).catch(() => {});
  await Promise.all(clients.map((db) => db.terminate()));
});

let lastCounts: OpsCounts | undefined;

async function counting<T>(
  run: (counter: FirestoreOpsCounter) => Promise<T>,
  options: CountOptions = {},
): Promise<T> {
  const counter = countFirestoreOps(options);
  try {
    return await run(counter);
  } finally {
    lastCounts = structuredClone(counter.counts);
    counter.restore();
  }
}

describe('reads', () => {
  it('adds each document a query, a get, a transaction get and a getAll returns, once', async () => {
    const db = client();
    const docs = db.collection('things');
    const batch = db.batch();
    for (let i = 0; i < 7; i++) batch.set(docs.doc(`t${i}`), { i });
    await batch.commit();
    await counting(async (counter) => {
      await docs.get(); // not counting yet
      expect(counter.counts.documents).toBe(0);
      counter.start();
      await docs.where('i', '<', 5).get();
      expect(counter.counts).toMatchObject({ documents: 5, queries: 1, queryDocs: 5 });
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
    });
    // Restored: the client still works.
    expect((await docs.get()).size).toBe(7);
  });

  it('bills an empty query one read, and says which collection each read went to', async () => {
    const db = client();
    await db.doc('alpha/a1').set({ n: 1 });
    await db.doc('beta/b1').set({ n: 1 });
    await db.doc('beta/b1/sub/s1').set({ n: 1 });
    await counting(async (counter) => {
      counter.start();
      await db.collection('alpha').where('n', '==', 2).get(); // nothing
      await db.collection('beta').get();
      await db.doc('beta/b1/sub/s1').get();
      await db.collection('beta/b1/sub').get();
      await db.runTransaction(async (tx) => {
        await tx.get(db.collection('alpha').count());
      });
      const { alpha, beta } = counter.counts.byCollection;
      expect(alpha).toMatchObject({ queries: 1, queryDocs: 0, emptyQueries: 1, aggregations: 1 });
      expect(billedReads(alpha!)).toBe(2);
      // A subcollection's reads go to its top-level collection.
      expect(beta).toMatchObject({ queries: 2, queryDocs: 2, gets: 1, emptyQueries: 0 });
      expect(billedReads(counter.counts)).toBe(5);
      expect(counter.counts.documents).toBe(4);
      expect(describeByCollection(counter.counts, 'reads', 1)).toBe(
        'beta 3 (query docs 2, gets 1); alpha 2 (empty queries 1, aggregations 1)',
      );
    });
  });
});

describe('writes', () => {
  it('counts each document a commit writes once: create, set, update, delete, batch, transaction', async () => {
    const db = client();
    await counting(async (counter) => {
      counter.start();
      await db.doc('w/one').create({ a: 1 });
      expect(counter.counts).toMatchObject({ writes: 1, commits: 1 });
      await db.doc('w/one').set({ a: 2 });
      await db.doc('w/one').update({ a: 3, at: FieldValue.serverTimestamp() });
      expect(counter.counts).toMatchObject({ writes: 3, commits: 3 });
      // A transaction with two writes counts 2 (its read is a read).
      await db.runTransaction(async (tx) => {
        await tx.get(db.doc('w/one'));
        tx.update(db.doc('w/one'), { a: 4 });
        tx.set(db.doc('other/two'), { b: 1 });
      });
      expect(counter.counts).toMatchObject({ writes: 5, commits: 4, gets: 1 });
      // A batch: a set and an update of one document are one write; three documents, three.
      const batch = db.batch();
      batch.set(db.doc('w/three'), { c: 1 });
      batch.update(db.doc('w/three'), { c: 2 });
      batch.set(db.doc('w/four'), { d: 1 });
      batch.delete(db.doc('other/two'));
      await batch.commit();
      expect(counter.counts).toMatchObject({ writes: 8, deletes: 1, commits: 5 });
      // A create of an existing document fails: nothing written.
      await expect(db.doc('w/one').create({ a: 5 })).rejects.toThrow();
      expect(counter.counts).toMatchObject({ writes: 8, commits: 5, failedCommits: 1 });
      // A commit with no reads nor writes sends nothing.
      await db.runTransaction(async () => {});
      expect(counter.counts.commits).toBe(5);

      expect(counter.counts.byCollection.w).toMatchObject({ writes: 6, deletes: 0 });
      expect(counter.counts.byCollection.other).toMatchObject({ writes: 2, deletes: 1 });
      expect(counter.writeLog.map((w) => w.path)).toEqual([
        'w/one',
        'w/one',
        'w/one',
        'w/one',
        'other/two',
        'w/three',
        'w/four',
        'other/two',
      ]);
      const now = Date.now();
      for (const w of counter.writeLog) expect(Math.abs(w.at - now)).toBeLessThan(60_000);
      expect(describeByCollection(counter.counts, 'writes', 2)).toBe(
        'w 3 (sets/updates 3); other 1 (sets/updates 0.5, deletes 0.5)',
      );
    });
  });

  it('counts a BulkWriter write once per document written', async () => {
    const db = client();
    await db.doc('bulk/a').set({ a: 1 });
    await counting(async (counter) => {
      counter.start();
      const writer = db.bulkWriter();
      const refused = writer.create(db.doc('bulk/a'), { a: 2 }).then(
        () => false,
        () => true,
      );
      void writer.set(db.doc('bulk/b'), { b: 1 });
      void writer.delete(db.doc('bulk/c'));
      await writer.close();
      expect(await refused).toBe(true);
      // The create of an existing document fails alone: two documents written.
      expect(counter.counts.byCollection.bulk).toMatchObject({ writes: 2, deletes: 1 });
    });
  });

  it('counts a contended transaction’s reads on every attempt, its writes once', async () => {
    const db = client();
    await db.doc('contended/doc').set({ n: 0 });
    await counting(async (counter) => {
      counter.start();
      let firstAttempts = 0;
      let secondAttempts = 0;
      const first = db.runTransaction(async (tx) => {
        firstAttempts += 1;
        const snap = await tx.get(db.doc('contended/doc'));
        await new Promise((resolve) => setTimeout(resolve, 300));
        tx.update(snap.ref, { n: (snap.get('n') as number) + 1 });
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const second = db.runTransaction(async (tx) => {
        secondAttempts += 1;
        const snap = await tx.get(db.doc('contended/doc'));
        tx.update(snap.ref, { n: (snap.get('n') as number) + 1 });
      });
      await Promise.all([first, second]);
      expect((await db.doc('contended/doc').get()).get('n')).toBe(2);
      // The emulator aborts one of the two; it runs again and reads again.
      expect(firstAttempts + secondAttempts).toBeGreaterThan(2);
      expect(counter.counts.byCollection.contended).toMatchObject({
        gets: firstAttempts + secondAttempts + 1,
        writes: 2,
      });
    });
  });
});

describe('which clients', () => {
  it('leaves out an ignored client, and counts another module copy once it is added', async () => {
    const db = client();
    const mine = client();
    let isolated: typeof FirestoreModule | undefined;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a second copy of the module
      isolated = require('@google-cloud/firestore') as typeof FirestoreModule;
    });
    expect(isolated!.Firestore).not.toBe(Firestore);
    const other = client(isolated!.Firestore);
    const originalGet = isolated!.Query.prototype.get;
    await counting(async (counter) => {
      counter.ignore(mine);
      counter.start();
      await mine.doc('mine/x').set({ a: 1 });
      await mine.collection('mine').get();
      await db.doc('plain/x').set({ a: 1 });
      await other.doc('copy/x').set({ a: 1 }); // that copy is not patched yet
      await other.collection('copy').get();
      expect(counter.counts).toMatchObject({ writes: 1, queries: 0 });
      expect(Object.keys(counter.counts.byCollection)).toEqual(['plain']);
      addFirestoreModule(isolated!);
      await other.doc('copy/y').set({ a: 1 });
      await other.collection('copy').get();
      expect(counter.counts.byCollection.copy).toMatchObject({
        writes: 1,
        queries: 1,
        queryDocs: 2,
      });
    });
    // Restored, that copy too.
    expect(isolated!.Query.prototype.get).toBe(originalGet);
  });
});

describe('call sites', () => {
  it('puts each read and write down to the store method and its caller', async () => {
    const db = client();
    const store = createFirestoreStore({ db });
    await counting(async (counter) => {
      counter.start();
      await store.getDelivery('nothing-here');
      await db.runTransaction(async (tx) => {
        await tx.get(db.doc('sited/a'));
        tx.set(db.doc('sited/a'), { a: 1 });
      });
      await db.doc('sited/b').set({ b: 1 });
      expect(counter.counts.bySite).toEqual({});
    });
    await counting(
      async (counter) => {
        counter.start();
        await store.getDelivery('nothing-here');
        await db.runTransaction(async (tx) => {
          await tx.get(db.doc('sited/a'));
          tx.set(db.doc('sited/a'), { a: 1 });
        });
        await db.doc('sited/b').set({ b: 1 });
      },
      { sites: true },
    );
    const sites = Object.keys(lastCounts!.bySite);
    expect(sites).toHaveLength(3);
    expect(sites[0]).toMatch(/^getDelivery ← .* \(test\/bench\/firestore-ops\.test\.ts:\d+\)$/);
    expect(lastCounts!.bySite[sites[0]!]).toEqual({
      deliveries: expect.objectContaining({ gets: 1 }),
    });
    // The transaction's read and write belong to where it was run.
    expect(lastCounts!.bySite[sites[1]!]).toEqual({
      sited: expect.objectContaining({ gets: 1, writes: 1 }),
    });
    expect(lastCounts!.bySite[sites[2]!]).toEqual({
      sited: expect.objectContaining({ writes: 1 }),
    });
    expect(describeBySite(lastCounts!, 1)).toEqual([
      `${sites[1]}: sited gets 1, sited writes 1`,
      `${sites[0]}: deliveries gets 1`,
      `${sites[2]}: sited writes 1`,
    ]);
  });

  it('reads a stack: the store frame, then the first caller outside the store', () => {
    const root = join(__dirname, '..', '..');
    const stack = [
      'Error',
      `    at DocumentReference.get (${root}/infra/bench/firestore-ops.ts:1:1)`,
      `    at Object.acquireSlot (${root}/shared/store/firestore.ts:420:20)`,
      `    at async Object.run (${root}/shared/store/keyed-lock.ts:32:16)`,
      `    at async runTest (${root}/shared/run/run-test.ts:88:5)`,
      `    at async x (${root}/node_modules/y/z.js:1:1)`,
    ].join('\n');
    expect(callSite(stack)).toBe('acquireSlot ← runTest (shared/run/run-test.ts:88)');
    expect(callSite(`Error\n    at ${root}/functions/webhook/handler.ts:47:14`)).toBe(
      '<anonymous> (functions/webhook/handler.ts:47)',
    );
  });
});

describe('hottestDocuments', () => {
  it('finds the most writes on one document within any one-second window', () => {
    const log = [
      ...[0, 100, 900, 1500, 1800, 1950, 2050].map((at) => ({ path: 'capacity/linux', at })),
      ...[0, 400, 800, 990].map((at) => ({ path: 'tests/a', at })),
      { path: 'tests/b', at: 5 },
    ];
    expect(hottestDocuments(log, 1000, 2)).toEqual([
      { path: 'capacity/linux', writes: 4, from: 1500, total: 7 },
      { path: 'tests/a', writes: 4, from: 0, total: 4 },
    ]);
    expect(hottestDocuments([], 1000)).toEqual([]);
  });

  it('names documents and collections from resource names', () => {
    expect(documentPath('projects/p/databases/(default)/documents/capacity/linux')).toBe(
      'capacity/linux',
    );
    expect(topCollection('tests/abc/runs/1')).toBe('tests');
  });
});
