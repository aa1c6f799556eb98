// Contract: reconcileSlot, which makes a platform's slots agree with one test
// (the sweep's repair of a slot leaked by a crash, or lost by one).
import { holdsSlot, TEST_STATUSES } from '../../../shared/domain/test';
import type { ReconcileResult, TestStore } from '../../../shared/store/port';
import { at, testRecord, useStore, type MakeStore } from './fixtures';

export function defineReconcileContractTests(makeStore: MakeStore): void {
  describe('reconcileSlot', () => {
    const current = useStore(makeStore);

    it('releases a slot held by an ended test, and leaves the other holders', async () => {
      const { store } = current();
      const ended = testRecord({ id: 'ended', status: 'passed' });
      await store.createTests([ended]);
      await store.acquireSlot('linux', 'ended', 5, at(0));
      await store.acquireSlot('linux', 'other', 5, at(0));

      expect(await store.reconcileSlot('linux', 'ended', at(9))).toEqual({
        change: 'released',
        holders: 1,
      });
      expect(await store.slotHolders('linux')).toEqual(['other']);
      expect(await store.getTest('ended')).toEqual(ended);
      expect(await store.reconcileSlot('linux', 'ended', at(10))).toEqual({
        change: 'none',
        holders: 1,
      });
    });

    it('releases a slot held by a test that does not exist, or that runs on another platform', async () => {
      const { store } = current();
      await store.createTests([testRecord({ id: 'win', status: 'running', platform: 'windows' })]);
      await store.acquireSlot('linux', 'ghost', 5, at(0));
      await store.acquireSlot('linux', 'win', 5, at(0));
      await store.acquireSlot('windows', 'win', 5, at(0));

      expect(await store.reconcileSlot('linux', 'ghost', at(1))).toEqual({
        change: 'released',
        holders: 1,
      });
      expect(await store.reconcileSlot('linux', 'win', at(1))).toEqual({
        change: 'released',
        holders: 0,
      });
      expect(await store.reconcileSlot('windows', 'win', at(1))).toEqual({
        change: 'none',
        holders: 1,
      });
      expect(await store.slotHolders('linux')).toEqual([]);
      expect(await store.slotHolders('windows')).toEqual(['win']);
    });

    it('restores the slot of a running test that lost it, past maxConcurrent', async () => {
      const { store } = current();
      const running = testRecord({ id: 'run', status: 'running' });
      await store.createTests([running]);
      expect(await store.acquireSlot('linux', 'x', 2, at(0))).toMatchObject({ acquired: true });
      expect(await store.acquireSlot('linux', 'y', 2, at(0))).toMatchObject({ acquired: true });

      expect(await store.reconcileSlot('linux', 'run', at(3))).toEqual({
        change: 'restored',
        holders: 3,
      });
      expect(await store.slotHolders('linux')).toEqual(['run', 'x', 'y']);
      // Held now: asking again changes nothing, and the platform stays full for others.
      expect(await store.reconcileSlot('linux', 'run', at(4))).toEqual({
        change: 'none',
        holders: 3,
      });
      expect(await store.acquireSlot('linux', 'z', 3, at(4))).toEqual({
        acquired: false,
        holders: 3,
      });
      expect(await store.releaseSlot('linux', 'run')).toEqual({ released: true });
      expect(await store.slotHolders('linux')).toEqual(['x', 'y']);
      expect(await store.getTest('run')).toEqual(running);
    });

    it('changes nothing for a test that agrees with the slots, in every status', async () => {
      const { store } = current();
      await store.createTests(TEST_STATUSES.map((status) => testRecord({ id: status, status })));
      for (const status of TEST_STATUSES.filter(holdsSlot)) {
        await store.acquireSlot('linux', status, 10, at(0));
      }
      const count = TEST_STATUSES.filter(holdsSlot).length;

      for (const status of TEST_STATUSES) {
        expect([status, await store.reconcileSlot('linux', status, at(1))]).toEqual([
          status,
          { change: 'none', holders: count },
        ]);
      }
      expect(await store.reconcileSlot('linux', 'missing', at(1))).toEqual({
        change: 'none',
        holders: count,
      });
      expect(await store.slotHolders('linux')).toEqual(['running', 'starting']);
    });

    it('holds a slot exactly for the starting and running statuses', async () => {
      const { store } = current();
      const held = TEST_STATUSES.map((status) => testRecord({ id: `h-${status}`, status }));
      const free = TEST_STATUSES.map((status) => testRecord({ id: `f-${status}`, status }));
      await store.createTests([...held, ...free]);
      for (const test of held) await store.acquireSlot('linux', test.id, 100, at(0));

      for (const status of TEST_STATUSES) {
        const a = await store.reconcileSlot('linux', `h-${status}`, at(1));
        const b = await store.reconcileSlot('linux', `f-${status}`, at(1));
        const expected = holdsSlot(status) ? ['none', 'restored'] : ['released', 'none'];
        expect([status, a.change, b.change]).toEqual([status, ...expected]);
      }
      expect(await store.slotHolders('linux')).toEqual([
        'f-running',
        'f-starting',
        'h-running',
        'h-starting',
      ]);
    });

    it('racing acquires and reconciles through separate handles: no slot lost or leaked', async () => {
      const { store, peer } = current();
      for (let round = 0; round < 2; round++) {
        const platform = `p${round}`;
        await store.createTests([
          testRecord({ id: `run-${round}`, platform, status: 'running' }),
          testRecord({ id: `end-${round}`, platform, status: 'canceled' }),
        ]);
        await store.acquireSlot(platform, `end-${round}`, 2, at(0));
        const [a, b, c, d] = [store, peer(), peer(), peer()];

        const [restore, release, x, y] = await Promise.all([
          a.reconcileSlot(platform, `run-${round}`, at(1)),
          b.reconcileSlot(platform, `end-${round}`, at(1)),
          c.acquireSlot(platform, 'x', 2, at(1)),
          d.acquireSlot(platform, 'y', 2, at(1)),
        ]);

        expect(restore.change).toBe('restored');
        expect(release.change).toBe('released');
        const expected = [`run-${round}`];
        if (x.acquired) expected.push('x');
        if (y.acquired) expected.push('y');
        const holders = await store.slotHolders(platform);
        // A lost update would drop one of these, or bring the ended test's slot back.
        expect(holders).toEqual(expected.sort());
      }
    });

    it('a reconcile racing the move that ends the test never leaves it a slot', async () => {
      const { store, peer } = current();
      for (let round = 0; round < 4; round++) {
        const id = `r${round}`;
        await store.createTests([testRecord({ id, status: 'running' })]);
        await store.acquireSlot('linux', id, 10, at(0));
        const handles: TestStore[] = [store, peer()];
        const [ender, reconciler] = round % 2 === 0 ? handles : [...handles].reverse();

        const [ended, reconciled] = await Promise.all([
          ender!.transition(id, {
            from: ['running'],
            to: 'passed',
            at: at(2),
            message: 'All tests passed',
            slot: { op: 'release' },
          }),
          reconciler!.reconcileSlot('linux', id, at(2)),
        ]);

        expect(ended.ok).toBe(true);
        // Before the end: the slot agreed (none). After it: released by the move already (none).
        expect(reconciled).toEqual<ReconcileResult>({
          change: 'none',
          holders: expect.any(Number),
        });
        expect(await store.slotHolders('linux')).toEqual([]);
      }
    });
  });
}
