// What the Firestore adapter writes, as Firestore sees it: the shapes that TTL
// policies, indexes and people reading the console depend on.
import { Timestamp } from '@google-cloud/firestore';
import { createFirestoreStore } from '../../shared/store/firestore';
import { at, testRecord } from '../contracts/store/fixtures';
import { createTestFirestore } from '../support/firestore';

describe('the Firestore store’s documents', () => {
  const fs = createTestFirestore('vmci-store-docs');
  const store = createFirestoreStore({ db: fs.db });
  afterAll(() => fs.close());

  it('keeps a test in tests/{id} with every date, nested ones too, as a Timestamp', async () => {
    const test = testRecord({
      id: 't1',
      deletion: { name: 'vm', zone: 'z', requestedAt: at(2), attempts: 1, doneAt: null },
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

  it('keeps a platform’s slots in capacity/{platform} as test id → Timestamp', async () => {
    await store.acquireSlot('linux', 't1', 2, at(1));
    await store.acquireSlot('linux', 't2', 2, at(2));
    await store.releaseSlot('linux', 't1');

    const doc = (await fs.db.collection('capacity').doc('linux').get()).data()!;

    expect(doc).toEqual({ platform: 'linux', holders: { t2: Timestamp.fromDate(at(2)) } });
  });
});
