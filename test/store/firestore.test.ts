// What the Firestore adapter writes, as Firestore sees it: the shapes that TTL
// policies, indexes and people reading the console depend on.
import { Timestamp, type DocumentData } from '@google-cloud/firestore';
import { approvalId } from '../../shared/domain/naming';
import type { TestRecord } from '../../shared/domain/test';
import { createFirestoreStore } from '../../shared/store/firestore';
import { toFirestore } from '../../shared/store/firestore-convert';
import { at, testRecord } from '../contracts/store/fixtures';
import { createTestFirestore } from '../support/firestore';

describe('the Firestore store’s documents', () => {
  const fs = createTestFirestore('vmci-store-docs');
  const store = createFirestoreStore({ db: fs.db });
  afterAll(() => fs.close());

  it('keeps a test in tests/{id} with every date, nested ones too, as a Timestamp', async () => {
    const test = testRecord({
      id: 't1',
      deletion: {
        name: 'vm',
        zone: 'z',
        requestedAt: at(2),
        attempts: 1,
        doneAt: null,
        nextCheckAt: at(3),
      },
    });
    await store.createTests([test]);

    const doc = (await fs.db.collection('tests').doc('t1').get()).data()!;

    expect(doc.id).toBeUndefined();
    expect(doc.repo).toBe(test.repo);
    expect(doc.createdAt).toEqual(Timestamp.fromDate(test.createdAt));
    expect(doc.deadlineAt).toBeNull();
    expect(doc.deletion.requestedAt).toEqual(Timestamp.fromDate(at(2)));
    expect(doc.timeline[0].at).toBeInstanceOf(Timestamp);
    expect(doc.timeline[0]).not.toHaveProperty('stage');
  });

  it('keeps a PR test’s headUpdatedAt as a Timestamp; a document written before the field reads null and is not listed by head', async () => {
    const heads = createFirestoreStore({ db: fs.db, collections: { tests: 'head-tests' } });
    await heads.createTests([
      testRecord({ id: 'new', trigger: 'pull_request', pr: 4, headUpdatedAt: at(3) }),
    ]);
    const { headUpdatedAt: _dropped, ...legacy } = testRecord({
      id: 'legacy',
      trigger: 'pull_request',
      pr: 4,
    });
    const { id: _id, ...legacyFields } = legacy;
    await fs.db
      .collection('head-tests')
      .doc('legacy')
      .set({ ...legacyFields, createdAt: Timestamp.fromDate(at(0)) });

    const doc = (await fs.db.collection('head-tests').doc('new').get()).data()!;
    expect(doc.headUpdatedAt).toEqual(Timestamp.fromDate(at(3)));
    expect((await heads.getTest('legacy'))?.headUpdatedAt).toBeNull();
    expect((await heads.listByPrHead('ccextractor/ccextractor', 4)).map((t) => t.id)).toEqual([
      'new',
    ]);
    expect((await heads.listByPr('ccextractor/ccextractor', 4)).map((t) => t.id).sort()).toEqual([
      'legacy',
      'new',
    ]);
  });

  it('keeps a test’s title as text; a document written before the field reads a null title', async () => {
    const titled = testRecord({ id: 'titled', title: 'Fix <img src=x> in the parser' });
    await store.createTests([titled]);
    const { title: _dropped, id: _id, ...legacyFields } = testRecord({ id: 'untitled' });
    await fs.db
      .collection('tests')
      .doc('untitled')
      .set(toFirestore(legacyFields) as DocumentData);

    const doc = (await fs.db.collection('tests').doc('titled').get()).data()!;
    expect(doc.title).toBe('Fix <img src=x> in the parser');
    expect((await store.getTest('titled'))?.title).toBe('Fix <img src=x> in the parser');
    const legacy = await store.getTest('untitled');
    expect(legacy).not.toBeNull();
    expect(legacy?.title).toBeNull();
  });

  it('keeps an approval in approvals/{approvalId} with approvedAt a Timestamp', async () => {
    const sha = 'f'.repeat(40);
    await store.recordApproval({
      repo: 'o/r',
      pr: 5,
      sha,
      approvedBy: 'maintainer',
      approvedAt: at(2),
      delivery: 'd-approve',
    });

    const doc = (
      await fs.db
        .collection('approvals')
        .doc(approvalId('o/r', 5, sha))
        .get()
    ).data();

    expect(doc).toEqual({
      repo: 'o/r',
      pr: 5,
      sha,
      approvedBy: 'maintainer',
      approvedAt: Timestamp.fromDate(at(2)),
      delivery: 'd-approve',
    });
  });

  it('keeps a delivery in deliveries/{id} with expireAt a Timestamp, for the TTL policy', async () => {
    await store.recordDelivery({
      id: 'd1',
      event: 'ping',
      receivedAt: at(0),
      expireAt: at(60),
      response: { status: 200, body: { ok: true } },
    });

    const doc = (await fs.db.collection('deliveries').doc('d1').get()).data()!;

    expect(doc.expireAt).toEqual(Timestamp.fromDate(at(60)));
    expect(doc.response).toEqual({ status: 200, bodyJson: '{"ok":true}' });
  });

  it('lists as due only a deletion whose doneAt is null and nextCheckAt a past Timestamp', async () => {
    // A collection of its own: the other tests' documents have deletions too.
    const tests = fs.db.collection('due-tests');
    const dueStore = createFirestoreStore({ db: fs.db, collections: { tests: 'due-tests' } });
    const base = {
      name: 'vm',
      zone: 'z',
      requestedAt: Timestamp.fromDate(at(0)),
      attempts: 0,
    };
    const past = Timestamp.fromDate(at(1));
    // Written as raw documents, including shapes the adapter never writes itself.
    await Promise.all([
      tests.doc('due').set({ deletion: { ...base, doneAt: null, nextCheckAt: past } }),
      tests.doc('no-deletion').set({ deletion: null }),
      tests.doc('no-field').set({ status: 'canceled' }),
      tests.doc('done').set({ deletion: { ...base, doneAt: past, nextCheckAt: past } }),
      tests.doc('no-check').set({ deletion: { ...base, doneAt: null, nextCheckAt: null } }),
      // A deletion written before nextCheckAt existed: never listed (see the store's report).
      tests.doc('legacy').set({ deletion: { ...base, doneAt: null } }),
      tests.doc('no-done-field').set({ deletion: { ...base, nextCheckAt: past } }),
    ]);

    const due = await dueStore.listDueDeletions(at(5), 10);

    expect(due.map((t) => t.id)).toEqual(['due']);
    await Promise.all(
      ['due', 'no-deletion', 'no-field', 'done', 'no-check', 'legacy', 'no-done-field'].map((id) =>
        tests.doc(id).delete(),
      ),
    );
  });

  it('keeps waitingSince and statusCheckAt as Timestamps; a document written before them reads as best it can, and is never listed by them', async () => {
    const store2 = createFirestoreStore({ db: fs.db, collections: { tests: 'since-tests' } });
    await store2.createTests([
      testRecord({ id: 'new-wait', status: 'waiting', waitReason: 'build', waitingSince: at(1) }),
      testRecord({ id: 'new-end', status: 'passed', statusCheckAt: at(2) }),
    ]);
    const legacy = (id: string, fields: Partial<TestRecord>) => {
      const {
        id: _id,
        waitingSince: _w,
        statusCheckAt: _s,
        ...rest
      } = testRecord({ id, ...fields });
      return fs.db
        .collection('since-tests')
        .doc(id)
        .set(toFirestore(rest) as DocumentData);
    };
    await legacy('old-wait', { status: 'waiting', waitReason: 'build', updatedAt: at(0) });
    await legacy('old-end', { status: 'passed', updatedAt: at(0) });

    const doc = (await fs.db.collection('since-tests').doc('new-wait').get()).data()!;
    expect(doc.waitingSince).toEqual(Timestamp.fromDate(at(1)));
    const ended = (await fs.db.collection('since-tests').doc('new-end').get()).data()!;
    expect(ended.statusCheckAt).toEqual(Timestamp.fromDate(at(2)));
    // An older waiting test has waited at least since its last update; an older end has no check.
    expect(await store2.getTest('old-wait')).toMatchObject({ waitingSince: at(0) });
    expect(await store2.getTest('old-end')).toMatchObject({ statusCheckAt: null });
    const waits = await store2.listWaitingBefore('linux', 'build', at(60), 10);
    expect(waits.map((t) => t.id)).toEqual(['new-wait']);
    const checks = await store2.listDueStatusChecks(at(60), 10);
    expect(checks.map((t) => t.id)).toEqual(['new-end']);
  });

  it('reads a test stored before failures were kept with failures null', async () => {
    const { id: _id, failures: _f, ...rest } = testRecord({ id: 'pre-failures', status: 'failed' });
    await fs.db
      .collection('tests')
      .doc('pre-failures')
      .set(toFirestore(rest) as DocumentData);

    expect(await store.getTest('pre-failures')).toEqual(
      testRecord({ id: 'pre-failures', status: 'failed' }),
    );
  });

  it('a restored slot is held from the time given to reconcileSlot, in the first emptiest shard, noted on the test', async () => {
    await store.createTests([testRecord({ id: 'lost', status: 'running', platform: 'macos' })]);

    expect(await store.reconcileSlot('macos', 'lost', at(7))).toEqual({
      change: 'restored',
      holders: 1,
    });

    const doc = (await fs.db.collection('capacity').doc('macos~0').get()).data()!;
    expect(doc).toEqual({
      platform: 'macos',
      shard: 0,
      holders: { lost: Timestamp.fromDate(at(7)) },
    });
    expect((await fs.db.collection('tests').doc('lost').get()).get('slotShard')).toBe(0);
  });

  it('keeps a platform’s slots in capacity/{platform}~{shard} as test id → Timestamp, the shard noted on the test', async () => {
    await store.createTests([testRecord({ id: 's1' }), testRecord({ id: 's2' })]);
    const s1 = await store.acquireSlot('linux', 's1', 2, at(1));
    const s2 = await store.acquireSlot('linux', 's2', 2, at(2));
    if (!s1.acquired || !s2.acquired) throw new Error('no slot');
    expect((await fs.db.collection('tests').doc('s1').get()).get('slotShard')).toBe(s1.shard);
    await store.releaseSlot('linux', 's1');

    const docs = await fs.db.collection('capacity').where('platform', '==', 'linux').get();

    // maxConcurrent 2: shards 0 and 1, one slot each.
    expect([s1.shard, s2.shard].sort()).toEqual([0, 1]);
    expect(Object.fromEntries(docs.docs.map((d) => [d.id, d.data()]))).toEqual({
      [`linux~${s1.shard}`]: { platform: 'linux', shard: s1.shard, holders: {} },
      [`linux~${s2.shard}`]: {
        platform: 'linux',
        shard: s2.shard,
        holders: { s2: Timestamp.fromDate(at(2)) },
      },
    });
    expect((await fs.db.collection('tests').doc('s1').get()).data()).not.toHaveProperty(
      'slotShard',
    );
    expect((await fs.db.collection('tests').doc('s2').get()).get('slotShard')).toBe(s2.shard);
  });

  it('a claim writes the test, with its shard, and that shard in one commit; the end clears both', async () => {
    const claims = createFirestoreStore({ db: fs.db, collections: { tests: 'claim-tests' } });
    await claims.createTests([testRecord({ id: 'c1', platform: 'claims' })]);

    const claimed = await claims.transition('c1', {
      from: ['queued'],
      to: 'starting',
      at: at(1),
      message: 'Starting a VM',
      slot: { op: 'acquire', maxConcurrent: 40 },
    });
    if (!claimed.ok || claimed.slot?.op !== 'acquire') throw new Error('not claimed');
    const { shard } = claimed.slot;

    const test = await fs.db.collection('claim-tests').doc('c1').get();
    const slots = await fs.db.collection('capacity').doc(`claims~${shard}`).get();
    expect(test.get('slotShard')).toBe(shard);
    expect(slots.data()).toEqual({
      platform: 'claims',
      shard,
      holders: { c1: Timestamp.fromDate(at(1)) },
    });
    // Written by one commit: the same update time.
    expect(test.updateTime!.isEqual(slots.updateTime!)).toBe(true);

    await claims.transition('c1', {
      from: ['starting'],
      to: 'error',
      at: at(2),
      message: 'VM creation failed. Please contact the administrator.',
      slot: { op: 'release' },
    });
    expect((await fs.db.collection('claim-tests').doc('c1').get()).data()).not.toHaveProperty(
      'slotShard',
    );
    expect(
      (await fs.db.collection('capacity').doc(`claims~${shard}`).get()).get('holders'),
    ).toEqual({});
  });
});
