// Contract: webhook delivery dedupe records.
import type { DeliveryRecord } from '../../../shared/store/port';
import { at, useStore, type MakeStore } from './fixtures';

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
  });
}
