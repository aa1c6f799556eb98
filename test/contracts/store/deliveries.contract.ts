// Contract: webhook delivery dedupe records.
import type { DeliveryRecord } from '../../../shared/store/port';
import { at, testRecord, useStore, type MakeStore } from './fixtures';

function delivery(overrides: Partial<DeliveryRecord> = {}): DeliveryRecord {
  return {
    id: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    event: 'push',
    receivedAt: at(0),
    expireAt: at(7 * 24 * 60),
    response: { status: 202, body: { delivery: '72d3162e', tests: ['t1', 't2'] } },
    ...overrides,
  };
}

export function defineDeliveryContractTests(makeStore: MakeStore): void {
  describe('deliveries', () => {
    const current = useStore(makeStore);

    it('records the first delivery and answers a repeat with the first record', async () => {
      const { store } = current();
      const first = delivery();

      expect(await store.recordDelivery(first)).toEqual({ first: true, record: first });
      const repeat = await store.recordDelivery(
        delivery({ receivedAt: at(5), response: { status: 500, body: 'other' } }),
      );

      expect(repeat).toEqual({ first: false, record: first });
      const stored = await store.getDelivery(first.id);
      expect(stored).toEqual(first);
      expect(stored?.expireAt).toBeInstanceOf(Date);
      expect(stored?.receivedAt).toBeInstanceOf(Date);
      expect(await store.getDelivery('unknown')).toBeNull();
    });

    it('keeps any JSON body, including nested arrays and null', async () => {
      const { store } = current();
      const body = { grid: [[1, 2], [3]], none: null, text: 'é ✓', list: [{ a: [true] }] };

      await store.recordDelivery(delivery({ id: 'd-json', response: { status: 200, body } }));
      await store.recordDelivery(delivery({ id: 'd-null', response: { status: 204, body: null } }));

      expect((await store.getDelivery('d-json'))?.response).toEqual({ status: 200, body });
      expect((await store.getDelivery('d-null'))?.response).toEqual({ status: 204, body: null });
    });

    it('10 racing deliveries of one id: exactly one is first, all see its record', async () => {
      const { store } = current();

      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          store.recordDelivery(delivery({ response: { status: 202, body: { racer: i } } })),
        ),
      );

      const firsts = results.filter((r) => r.first);
      expect(firsts).toHaveLength(1);
      for (const r of results) expect(r.record).toEqual(firsts[0]!.record);
      expect(await store.getDelivery(delivery().id)).toEqual(firsts[0]!.record);
    });

    it('setDeliveryAnswer replaces a kept answer; a record that is not there stays away', async () => {
      const { store } = current();
      const first = delivery();
      await store.recordDelivery(first);
      const corrected = { status: 202, body: { tests: ['t1'], notQueued: ['t1'] } };

      await store.setDeliveryAnswer(first.id, corrected);
      await store.setDeliveryAnswer('never-recorded', corrected);

      expect(await store.getDelivery(first.id)).toEqual({ ...first, response: corrected });
      expect(await store.getDelivery('never-recorded')).toBeNull();
    });

    describe('createTestsForDelivery: the tests and the answer in one transaction', () => {
      const tests = [testRecord({ id: 'push-linux' }), testRecord({ id: 'push-windows' })];
      const byId = delivery({ id: 'd-1' });
      const byBody = delivery({ id: 'sha256_abc' });

      it('creates the tests and records every delivery record', async () => {
        const { store } = current();

        const result = await store.createTestsForDelivery(tests, [byId, byBody]);

        expect(result).toEqual({ created: ['push-linux', 'push-windows'], existing: [] });
        expect(await store.getTest('push-linux')).toEqual(tests[0]);
        expect(await store.getDelivery('d-1')).toEqual(byId);
        expect(await store.getDelivery('sha256_abc')).toEqual(byBody);
      });

      it('a delivery seen before: its first record back, and nothing written', async () => {
        const { store } = current();
        await store.recordDelivery(byBody);
        const later = [testRecord({ id: 'other-linux' })];

        const result = await store.createTestsForDelivery(later, [delivery({ id: 'd-2' }), byBody]);

        expect(result).toEqual({ seen: byBody });
        expect(await store.getTest('other-linux')).toBeNull();
        expect(await store.getDelivery('d-2')).toBeNull();
      });

      it('tests that exist (the same event in other bytes) are left as they are; the new records are written', async () => {
        const { store } = current();
        await store.createTests([tests[0]!]);
        const changed = tests.map((t) => ({ ...t, message: 'changed' }));

        const result = await store.createTestsForDelivery(changed, [byId]);

        expect(result).toEqual({ created: ['push-windows'], existing: ['push-linux'] });
        expect(await store.getTest('push-linux')).toEqual(tests[0]);
        expect(await store.getDelivery('d-1')).toEqual(byId);
      });

      it('10 racing deliveries of one event from two handles: one writes, the others see its record', async () => {
        const { store, peer } = current();
        const other = peer();

        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 ? other : store).createTestsForDelivery(tests, [
              delivery({ id: 'd-race', response: { status: 202, body: { racer: i } } }),
            ]),
          ),
        );

        const writers = results.filter((r) => !('seen' in r));
        expect(writers).toEqual([{ created: ['push-linux', 'push-windows'], existing: [] }]);
        const record = await store.getDelivery('d-race');
        for (const r of results) if ('seen' in r) expect(r.seen).toEqual(record);
      });
    });
  });
}
