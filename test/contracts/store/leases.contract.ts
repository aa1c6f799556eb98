// Contract: named leases, taken and given back in transactions.
import { at, useStore, type MakeStore } from './fixtures';

export function defineLeaseContractTests(makeStore: MakeStore): void {
  describe('leases', () => {
    const current = useStore(makeStore);

    it('one holder at a time until the lease runs out; the holder renews it', async () => {
      const { store } = current();

      expect(await store.takeLease('fill-linux', 'a', at(0), at(1))).toEqual({ taken: true });
      expect(await store.takeLease('fill-linux', 'b', at(0), at(1))).toEqual({ taken: false });
      // Another name is another lease.
      expect(await store.takeLease('fill-windows', 'b', at(0), at(1))).toEqual({ taken: true });
      // The holder renews: b is refused past the first end.
      expect(await store.takeLease('fill-linux', 'a', at(0.5), at(2))).toEqual({ taken: true });
      expect(await store.takeLease('fill-linux', 'b', at(1.5), at(3))).toEqual({ taken: false });
      // Run out (its end is not after now): anyone may take it.
      expect(await store.takeLease('fill-linux', 'b', at(2), at(3))).toEqual({ taken: true });
      expect(await store.takeLease('fill-linux', 'a', at(2), at(3))).toEqual({ taken: false });
    });

    it('is given back only by its holder', async () => {
      const { store } = current();
      await store.takeLease('fill-linux', 'a', at(0), at(1));

      expect(await store.releaseLease('fill-linux', 'b')).toEqual({ released: false });
      expect(await store.takeLease('fill-linux', 'b', at(0), at(1))).toEqual({ taken: false });
      expect(await store.releaseLease('fill-linux', 'a')).toEqual({ released: true });
      expect(await store.releaseLease('fill-linux', 'a')).toEqual({ released: false });
      expect(await store.releaseLease('never-taken', 'a')).toEqual({ released: false });
      expect(await store.takeLease('fill-linux', 'b', at(0), at(1))).toEqual({ taken: true });
    });

    it('of takers racing on separate handles, exactly one takes it', async () => {
      const { store, peer } = current();
      const handles = [store, peer(), peer(), peer()];

      const results = await Promise.all(
        handles.map((handle, i) => handle.takeLease('fill-linux', `h${i}`, at(0), at(1))),
      );

      expect(results.filter((r) => r.taken)).toHaveLength(1);
    });

    it('refuses a name that is not a document id', async () => {
      const { store } = current();
      for (const name of ['', 'a/b', '..', 'x'.repeat(201)]) {
        await expect(store.takeLease(name, 'a', at(0), at(1))).rejects.toThrow(RangeError);
        await expect(store.releaseLease(name, 'a')).rejects.toThrow(RangeError);
      }
    });
  });
}
