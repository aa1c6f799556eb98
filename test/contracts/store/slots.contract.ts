// Contract: per-platform capacity slots, alone and inside transitions.
import {
  at,
  claimMove,
  ids,
  randomBetween,
  sleep,
  testRecord,
  useStore,
  type MakeStore,
} from './fixtures';

export function defineSlotContractTests(makeStore: MakeStore): void {
  describe('slots', () => {
    const current = useStore(makeStore);

    it('holds one slot per test however often it asks, and frees only what is held', async () => {
      const { store } = current();

      expect(await store.acquireSlot('linux', 'a', 2, at(0))).toEqual({
        acquired: true,
        holders: 1,
        alreadyHeld: false,
      });
      expect(await store.acquireSlot('linux', 'a', 2, at(1))).toEqual({
        acquired: true,
        holders: 1,
        alreadyHeld: true,
      });
      expect(await store.acquireSlot('linux', 'b', 2, at(1))).toEqual({
        acquired: true,
        holders: 2,
        alreadyHeld: false,
      });
      expect(await store.acquireSlot('linux', 'c', 2, at(1))).toEqual({
        acquired: false,
        holders: 2,
      });
      expect(await store.acquireSlot('windows', 'c', 2, at(1))).toEqual({
        acquired: true,
        holders: 1,
        alreadyHeld: false,
      });
      expect(await store.slotHolders('linux')).toEqual(['a', 'b']);

      expect(await store.releaseSlot('linux', 'c')).toEqual({ released: false, holders: 2 });
      expect(await store.releaseSlot('linux', 'a')).toEqual({ released: true, holders: 1 });
      expect(await store.releaseSlot('linux', 'a')).toEqual({ released: false, holders: 1 });
      expect(await store.acquireSlot('linux', 'c', 2, at(2))).toEqual({
        acquired: true,
        holders: 2,
        alreadyHeld: false,
      });
      expect(await store.slotHolders('linux')).toEqual(['b', 'c']);
      expect(await store.slotHolders('macos')).toEqual([]);
    });

    it('gives no slot when maxConcurrent is 0, and refuses a malformed maxConcurrent', async () => {
      const { store } = current();
      expect(await store.acquireSlot('linux', 'a', 0, at(0))).toEqual({
        acquired: false,
        holders: 0,
      });
      await expect(store.acquireSlot('linux', 'a', -1, at(0))).rejects.toThrow(RangeError);
      await expect(store.acquireSlot('linux', 'a', 2.5, at(0))).rejects.toThrow(RangeError);
      expect(await store.slotHolders('linux')).toEqual([]);
    });

    it('50 workers share 5 slots: never more than 5 held at once, and every worker is served', async () => {
      const { store } = current();
      const max = 5;
      let held = 0;
      let maxHeld = 0;
      let served = 0;
      const reported: number[] = [];
      const sampled: number[] = [];
      let sampling = true;
      // A store that loses releases would starve the workers: fail in time, don't hang.
      const deadline = Date.now() + 20_000;
      const sampler = (async () => {
        while (sampling && Date.now() < deadline) {
          sampled.push((await store.slotHolders('linux')).length);
          await sleep(50);
        }
      })();

      try {
        await Promise.all(
          Array.from({ length: 50 }, async (_, i) => {
            const testId = `w${String(i).padStart(2, '0')}`;
            for (let attempt = 0; ; attempt++) {
              if (Date.now() > deadline) throw new Error(`${testId} got no slot within 20 s`);
              const result = await store.acquireSlot('linux', testId, max, at(0));
              if (result.acquired) {
                reported.push(result.holders);
                break;
              }
              expect(result.holders).toBe(max);
              await sleep(randomBetween(5, 10 * 2 ** Math.min(attempt, 4)));
            }
            held += 1;
            maxHeld = Math.max(maxHeld, held);
            await sleep(randomBetween(30, 80));
            held -= 1;
            expect(await store.releaseSlot('linux', testId)).toMatchObject({ released: true });
            served += 1;
          }),
        );
      } finally {
        sampling = false;
        await sampler;
      }

      expect(served).toBe(50);
      expect(reported).toHaveLength(50);
      expect(Math.max(...reported)).toBe(max);
      expect(maxHeld).toBeLessThanOrEqual(max);
      expect(Math.max(...sampled)).toBeLessThanOrEqual(max);
      expect(await store.slotHolders('linux')).toEqual([]);
    });

    it('separate handles racing for 2 slots: exactly 2 are taken', async () => {
      const { store, peer } = current();
      const handles = [store, peer(), peer(), peer()];

      const results = await Promise.all(
        handles.map((h, i) => h.acquireSlot('linux', `h${i}`, 2, at(0))),
      );

      expect(results.filter((r) => r.acquired)).toHaveLength(2);
      expect(results.filter((r) => !r.acquired)).toEqual([
        { acquired: false, holders: 2 },
        { acquired: false, holders: 2 },
      ]);
      expect(await store.slotHolders('linux')).toHaveLength(2);
    });
  });

  describe('slots inside transitions', () => {
    const current = useStore(makeStore);
    const acquire = (maxConcurrent: number) => ({
      slot: { op: 'acquire' as const, maxConcurrent },
    });

    it('a claim takes the slot with the move, and a terminal move gives it back', async () => {
      const { store } = current();
      await store.createTests([testRecord({ id: 't1' })]);

      const claimed = await store.transition('t1', claimMove(acquire(2)));
      expect(claimed).toMatchObject({
        ok: true,
        slot: { op: 'acquire', holders: 1, alreadyHeld: false },
      });
      expect(await store.slotHolders('linux')).toEqual(['t1']);

      const again = await store.transition('t1', { ...claimMove(acquire(2)), from: ['starting'] });
      expect(again).toMatchObject({
        ok: true,
        slot: { op: 'acquire', holders: 1, alreadyHeld: true },
      });

      const ended = await store.transition('t1', {
        from: ['starting'],
        to: 'error',
        at: at(3),
        message: 'VM creation failed. Please contact the administrator.',
        slot: { op: 'release' },
      });
      expect(ended).toMatchObject({
        ok: true,
        slot: { op: 'release', holders: 0, released: true },
      });
      expect(await store.slotHolders('linux')).toEqual([]);
    });

    it('a release of a slot the test does not hold still moves the test', async () => {
      const { store } = current();
      await store.createTests([testRecord({ id: 't1' })]);
      await store.acquireSlot('linux', 'other', 3, at(0));

      const result = await store.transition('t1', {
        from: ['queued'],
        to: 'canceled',
        at: at(1),
        message: 'PR closed',
        slot: { op: 'release' },
      });

      expect(result).toMatchObject({
        ok: true,
        test: { status: 'canceled' },
        slot: { op: 'release', released: false, holders: 1 },
      });
      expect(await store.slotHolders('linux')).toEqual(['other']);
    });

    it('no free slot: nothing moves, and the answer says how many hold one', async () => {
      const { store } = current();
      const before = testRecord({ id: 't1' });
      await store.createTests([before]);
      await store.acquireSlot('linux', 'x', 2, at(0));
      await store.acquireSlot('linux', 'y', 2, at(0));

      const result = await store.transition('t1', claimMove(acquire(2)));

      expect(result).toEqual({ ok: false, reason: 'no_capacity', current: before, holders: 2 });
      expect(await store.getTest('t1')).toEqual(before);
      expect(await store.slotHolders('linux')).toEqual(['x', 'y']);
    });

    it('a refused move takes no slot', async () => {
      const { store } = current();
      await store.createTests([testRecord({ id: 't1', status: 'running' })]);

      const result = await store.transition('t1', claimMove(acquire(2)));

      expect(result).toMatchObject({ ok: false, reason: 'unexpected_status' });
      expect(await store.slotHolders('linux')).toEqual([]);
    });

    it('10 tests racing to start with 3 slots: exactly 3 start, 7 stay queued', async () => {
      const { store } = current();
      const tests = Array.from({ length: 10 }, (_, i) => testRecord({ id: `r${i}` }));
      await store.createTests(tests);

      const results = await Promise.all(
        tests.map((t) => store.transition(t.id, claimMove(acquire(3)))),
      );

      const started = tests.filter((_, i) => results[i]!.ok).map((t) => t.id);
      expect(started).toHaveLength(3);
      const refused = results.filter((r) => !r.ok);
      expect(refused).toHaveLength(7);
      for (const r of refused) expect(r).toMatchObject({ reason: 'no_capacity', holders: 3 });
      expect(await store.slotHolders('linux')).toEqual([...started].sort());
      expect(ids(await store.listByStatus('starting', { limit: 20 })).sort()).toEqual(
        [...started].sort(),
      );
      expect(await store.listByStatus('queued', { limit: 20 })).toHaveLength(7);
    });

    it('separate handles racing to start with 1 slot: exactly 1 starts', async () => {
      const { store, peer } = current();
      const tests = Array.from({ length: 3 }, (_, i) => testRecord({ id: `p${i}` }));
      await store.createTests(tests);
      const handles = [store, peer(), peer()];

      const results = await Promise.all(
        handles.map((h, i) => h.transition(`p${i}`, claimMove(acquire(1)))),
      );

      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok && r.reason === 'no_capacity')).toHaveLength(2);
      expect(await store.slotHolders('linux')).toHaveLength(1);
      expect(await store.listByStatus('queued', { limit: 5 })).toHaveLength(2);
    });
  });
}
