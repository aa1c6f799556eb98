// Contract: per-platform capacity slots, alone and inside transitions.
import type { SlotResult, TransitionRequest, TransitionResult } from '../../../shared/store/port';
import { shardCap } from '../../../shared/store/rules';
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

/** A slot taken (or kept) in some shard, or in `shard`. */
function taken(alreadyHeld: boolean, shard: number = expect.any(Number) as number) {
  return { acquired: true, alreadyHeld, shard };
}

function shardOf(result: SlotResult): number {
  if (!result.acquired) throw new Error('no slot was taken');
  return result.shard;
}

export function defineSlotContractTests(makeStore: MakeStore): void {
  describe('slots', () => {
    const current = useStore(makeStore);

    it('holds one slot per test however often it asks, and frees only what is held', async () => {
      const { store } = current();

      const a = await store.acquireSlot('linux', 'a', 2, at(0));
      expect(a).toEqual(taken(false));
      expect(await store.acquireSlot('linux', 'a', 2, at(1))).toEqual(taken(true, shardOf(a)));
      expect(await store.slotHolders('linux')).toEqual(['a']);
      expect(await store.acquireSlot('linux', 'b', 2, at(1))).toEqual(taken(false));
      expect(await store.slotHolders('linux')).toEqual(['a', 'b']);
      expect(await store.acquireSlot('linux', 'c', 2, at(1))).toEqual({
        acquired: false,
        holders: 2,
      });
      expect(await store.acquireSlot('windows', 'c', 2, at(1))).toEqual(taken(false));
      expect(await store.slotHolders('linux')).toEqual(['a', 'b']);
      expect(await store.slotHolders('windows')).toEqual(['c']);

      expect(await store.releaseSlot('linux', 'c')).toEqual({ released: false });
      expect(await store.slotHolders('linux')).toEqual(['a', 'b']);
      expect(await store.releaseSlot('linux', 'a')).toEqual({ released: true });
      expect(await store.slotHolders('linux')).toEqual(['b']);
      expect(await store.releaseSlot('linux', 'a')).toEqual({ released: false });
      expect(await store.acquireSlot('linux', 'c', 2, at(2))).toEqual(taken(false));
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
      let refusals = 0;
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
              if (result.acquired) break;
              expect(result.holders).toBe(max);
              refusals += 1;
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
      // The slots were all in use at once (each refusal saw all 5 held), never more.
      expect(refusals).toBeGreaterThan(0);
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
        slot: { op: 'acquire', alreadyHeld: false, shard: expect.any(Number) },
      });
      const shard = claimed.ok ? claimed.slot?.op === 'acquire' && claimed.slot.shard : null;
      expect(claimed).toMatchObject({ test: { slotShard: shard } });
      expect(await store.getTest('t1')).toMatchObject({ slotShard: shard });
      expect(await store.slotHolders('linux')).toEqual(['t1']);

      const again = await store.transition('t1', { ...claimMove(acquire(2)), from: ['starting'] });
      expect(again).toMatchObject({
        ok: true,
        slot: { op: 'acquire', alreadyHeld: true, shard },
        test: { slotShard: shard },
      });
      expect(await store.slotHolders('linux')).toEqual(['t1']);

      const ended = await store.transition('t1', {
        from: ['starting'],
        to: 'error',
        at: at(3),
        message: 'VM creation failed. Please contact the administrator.',
        slot: { op: 'release' },
      });
      expect(ended).toEqual(
        expect.objectContaining({ ok: true, slot: { op: 'release', released: true } }),
      );
      expect(ended.ok && 'slotShard' in ended.test).toBe(false);
      expect((await store.getTest('t1'))?.slotShard).toBeUndefined();
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
        slot: { op: 'release', released: false },
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

  describe('slots over shards', () => {
    const current = useStore(makeStore);
    const acquire = (maxConcurrent: number) => ({
      slot: { op: 'acquire' as const, maxConcurrent },
    });
    const end = (from: 'starting' | 'running' = 'starting'): TransitionRequest => ({
      from: [from],
      ...(from === 'starting'
        ? { to: 'error', message: 'VM creation failed. Please contact the administrator.' }
        : { to: 'passed', message: 'All tests passed' }),
      at: at(5),
      slot: { op: 'release' },
    });
    const claimedShard = (result: TransitionResult): number => {
      if (!result.ok || result.slot?.op !== 'acquire') throw new Error('no slot was taken');
      return result.slot.shard;
    };
    /** Each shard holds at most its share of maxConcurrent. */
    const expectWithinCaps = (shards: readonly number[], max: number) => {
      const over = [...new Set(shards)].filter(
        (shard) => shards.filter((s) => s === shard).length > shardCap(max, shard),
      );
      expect(over).toEqual([]);
    };

    it('the shards’ caps sum to maxConcurrent exactly: that many hold, never more', async () => {
      const { store } = current();
      for (const max of [3, 17]) {
        const platform = `caps-${max}`;
        const results: SlotResult[] = [];
        for (let i = 0; i < max + 3; i++) {
          results.push(await store.acquireSlot(platform, `c${i}`, max, at(0)));
        }

        const shards = results.filter((r) => r.acquired).map(shardOf);
        expect(shards).toHaveLength(max);
        // Every one of the first `max` got in, whatever shard it preferred.
        expect(results.slice(0, max).every((r) => r.acquired)).toBe(true);
        expect(results.slice(max)).toEqual(Array(3).fill({ acquired: false, holders: max }));
        expectWithinCaps(shards, max);
        expect(await store.slotHolders(platform)).toHaveLength(max);
      }
    });

    it('claims racing through several handles: exactly maxConcurrent start, each test records its shard', async () => {
      const { store, peer } = current();
      const handles = [store, peer(), peer(), peer()];
      for (const max of [5, 18]) {
        const platform = `race-${max}`;
        const tests = Array.from({ length: max + 8 }, (_, i) =>
          testRecord({ id: `m${max}-${String(i).padStart(2, '0')}`, platform }),
        );
        await store.createTests(tests);

        const results = await Promise.all(
          tests.map((t, i) =>
            handles[i % handles.length]!.transition(t.id, claimMove(acquire(max))),
          ),
        );

        const won = tests.filter((_, i) => results[i]!.ok).map((t) => t.id);
        expect(won).toHaveLength(max);
        for (const r of results.filter((r) => !r.ok)) {
          expect(r).toMatchObject({ reason: 'no_capacity', holders: max });
        }
        const shards = results.filter((r) => r.ok).map(claimedShard);
        expectWithinCaps(shards, max);
        for (const [i, r] of results.entries()) {
          const stored = await store.getTest(tests[i]!.id);
          if (r.ok) {
            expect(r.test.slotShard).toBe(claimedShard(r));
            expect(stored).toEqual(r.test);
          } else {
            expect(stored?.status).toBe('queued');
            expect(stored?.slotShard).toBeUndefined();
          }
        }
        expect(await store.slotHolders(platform)).toEqual([...won].sort());
      }
    }, 60_000);

    it('a release frees exactly its shard: on a full platform, the next claim takes that one', async () => {
      const { store } = current();
      const tests = ['a', 'b', 'c', 'd'].map((id) => testRecord({ id }));
      await store.createTests(tests);
      const shards = new Map<string, number>();
      for (const id of ['a', 'b', 'c']) {
        shards.set(id, claimedShard(await store.transition(id, claimMove(acquire(3)))));
      }
      // Three shards of cap 1: each holds one.
      expect(new Set(shards.values()).size).toBe(3);
      expect(await store.transition('d', claimMove(acquire(3)))).toMatchObject({
        ok: false,
        reason: 'no_capacity',
        holders: 3,
      });

      const ended = await store.transition('b', end());
      expect(ended).toMatchObject({ ok: true, slot: { op: 'release', released: true } });
      expect((await store.getTest('b'))?.slotShard).toBeUndefined();

      const d = await store.transition('d', claimMove(acquire(3)));
      expect(claimedShard(d)).toBe(shards.get('b'));
      expect((await store.getTest('a'))?.slotShard).toBe(shards.get('a'));
      expect((await store.getTest('c'))?.slotShard).toBe(shards.get('c'));
      expect(await store.slotHolders('linux')).toEqual(['a', 'c', 'd']);
    });

    it('a holder asking again keeps its one slot, however many handles ask at once', async () => {
      const { store, peer } = current();
      await store.createTests([testRecord({ id: 't' })]);
      const shard = claimedShard(await store.transition('t', claimMove(acquire(4))));
      const again = { ...claimMove(acquire(4)), from: ['starting' as const] };

      const [x, y, z] = await Promise.all([
        store.transition('t', again),
        peer().transition('t', again),
        peer().acquireSlot('linux', 't', 4, at(2)),
      ]);

      expect(x).toMatchObject({ ok: true, slot: { op: 'acquire', alreadyHeld: true, shard } });
      expect(y).toMatchObject({ ok: true, slot: { op: 'acquire', alreadyHeld: true, shard } });
      expect(z).toEqual(taken(true, shard));
      expect((await store.getTest('t'))?.slotShard).toBe(shard);
      expect(await store.slotHolders('linux')).toEqual(['t']);

      // A holder that is no test is looked for in every shard.
      const handles = [store, peer(), peer(), peer()];
      const asks = await Promise.all(handles.map((h) => h.acquireSlot('macos', 'same', 4, at(3))));
      expect(asks.filter((r) => r.acquired && !r.alreadyHeld)).toHaveLength(1);
      expect(new Set(asks.map(shardOf)).size).toBe(1);
      expect(await store.slotHolders('macos')).toEqual(['same']);
    }, 60_000);

    it('no capacity counts the holders of every shard: a lower maxConcurrent evicts none, a restored slot counts', async () => {
      const { store } = current();
      const tests = Array.from({ length: 5 }, (_, i) => testRecord({ id: `h${i}` }));
      await store.createTests([
        ...tests,
        testRecord({ id: 'late' }),
        testRecord({ id: 'lost', status: 'running' }),
      ]);
      for (const t of tests) claimedShard(await store.transition(t.id, claimMove(acquire(5))));

      // maxConcurrent lowered to 2: the five keep their slots, and no one else gets one.
      expect(await store.transition('late', claimMove(acquire(2)))).toMatchObject({
        ok: false,
        reason: 'no_capacity',
        holders: 5,
      });
      expect(await store.slotHolders('linux')).toHaveLength(5);

      expect(await store.reconcileSlot('linux', 'lost', at(2))).toEqual({
        change: 'restored',
        holders: 6,
      });
      expect(await store.transition('late', claimMove(acquire(5)))).toMatchObject({
        ok: false,
        reason: 'no_capacity',
        holders: 6,
      });
      expect(await store.acquireSlot('linux', 'other', 5, at(2))).toEqual({
        acquired: false,
        holders: 6,
      });
    });

    it('reconcile works over every shard: releases a slot wherever it is, restores into free room, keeps the test’s shard', async () => {
      const { store } = current();
      await store.createTests([
        ...['a', 'b', 'c', 'd'].map((id) => testRecord({ id })),
        testRecord({ id: 'lost', status: 'running' }),
      ]);
      const a = claimedShard(await store.transition('a', claimMove(acquire(3))));
      const b = claimedShard(await store.transition('b', claimMove(acquire(3))));
      // `a` ends without giving its slot back (a crash between the two, say).
      const leaked = await store.transition('a', { ...end(), slot: undefined });
      expect(leaked).toMatchObject({ ok: true, test: { status: 'error', slotShard: a } });

      expect(await store.reconcileSlot('linux', 'a', at(6))).toEqual({
        change: 'released',
        holders: 1,
      });
      expect((await store.getTest('a'))?.slotShard).toBeUndefined();
      expect(await store.slotHolders('linux')).toEqual(['b']);

      expect(await store.reconcileSlot('linux', 'lost', at(6))).toEqual({
        change: 'restored',
        holders: 2,
      });
      const lost = (await store.getTest('lost'))?.slotShard;
      expect(lost).toEqual(expect.any(Number));
      expect(lost).not.toBe(b);
      // The restored slot took free room: one slot is left of three.
      const c = claimedShard(await store.transition('c', claimMove(acquire(3))));
      // The three shards of cap 1 (0, 1 and 2 for maxConcurrent 3), one holder each.
      expect([b, lost, c].sort()).toEqual([0, 1, 2]);
      expect(await store.transition('d', claimMove(acquire(3)))).toMatchObject({
        reason: 'no_capacity',
        holders: 3,
      });

      // The restored slot is given back by the test's end, through the shard it records.
      expect(await store.transition('lost', end('running'))).toMatchObject({
        ok: true,
        slot: { op: 'release', released: true },
      });
      expect(await store.slotHolders('linux')).toEqual(['b', 'c']);
    });

    it('slotHolders unions every shard of the platform, and only of that platform', async () => {
      const { store } = current();
      const tests = Array.from({ length: 10 }, (_, i) => testRecord({ id: `u${i}` }));
      await store.createTests(tests);
      const shards = [];
      for (const t of tests)
        shards.push(claimedShard(await store.transition(t.id, claimMove(acquire(10)))));
      await store.acquireSlot('windows', 'w', 10, at(1));

      // Ten shards of cap 1: one holder each.
      expect(new Set(shards).size).toBe(10);
      expect(await store.slotHolders('linux')).toEqual(tests.map((t) => t.id).sort());
      expect(await store.slotHolders('windows')).toEqual(['w']);
    });

    it('a holder whose test records no shard (its slot taken before the test was stored) is found in every shard', async () => {
      const { store } = current();
      for (let i = 0; i < 6; i++) await store.acquireSlot('linux', `x${i}`, 20, at(0));
      await store.acquireSlot('linux', 'early', 20, at(0));
      await store.createTests([testRecord({ id: 'early', status: 'running' })]);
      expect((await store.getTest('early'))?.slotShard).toBeUndefined();

      const ended = await store.transition('early', end('running'));

      expect(ended).toMatchObject({ ok: true, slot: { op: 'release', released: true } });
      expect(await store.slotHolders('linux')).toEqual(['x0', 'x1', 'x2', 'x3', 'x4', 'x5']);
    });
  });
}
