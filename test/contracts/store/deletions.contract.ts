// Contract: VM deletions as the expired sweep uses them — a compare-and-set on
// the attempts (one claim per attempt), and the query for deletions that are due.
import type { VmDeletion } from '../../../shared/domain/test';
import { MAX_LIST_LIMIT } from '../../../shared/store/port';
import { at, ids, testRecord, useStore, type MakeStore } from './fixtures';

function deletion(overrides: Partial<VmDeletion> = {}): VmDeletion {
  return {
    name: 'vmci-linux-x-1',
    zone: 'local-a',
    requestedAt: at(0),
    attempts: 0,
    doneAt: null,
    nextCheckAt: at(0),
    ...overrides,
  };
}

export function defineDeletionContractTests(makeStore: MakeStore): void {
  describe('recordDeletion with expected attempts', () => {
    const current = useStore(makeStore);

    it('records when the attempts match, and refuses a stale expectation, writing nothing', async () => {
      const { store } = current();
      const test = testRecord({ id: 'd', status: 'canceled', deletion: deletion({ attempts: 2 }) });
      await store.createTests([test]);
      const claim = deletion({ attempts: 3, nextCheckAt: at(4) });

      expect(await store.recordDeletion('d', claim, { attempts: 1 })).toEqual({ recorded: false });
      expect(await store.recordDeletion('d', claim, { attempts: 3 })).toEqual({ recorded: false });
      expect(await store.getTest('d')).toEqual(test);

      expect(await store.recordDeletion('d', claim, { attempts: 2 })).toEqual({ recorded: true });
      expect((await store.getTest('d'))?.deletion).toEqual(claim);
      // The same claim again is stale now: the attempts moved to 3.
      expect(await store.recordDeletion('d', claim, { attempts: 2 })).toEqual({ recorded: false });
      const done = { ...claim, doneAt: at(5), nextCheckAt: null };
      expect(await store.recordDeletion('d', done, { attempts: 3 })).toEqual({ recorded: true });
      expect(await store.getTest('d')).toEqual({ ...test, deletion: done });
    });

    it("still checks the VM: matching attempts on another VM's deletion record nothing", async () => {
      const { store } = current();
      await store.createTests([
        testRecord({ id: 'd', status: 'canceled', deletion: deletion() }),
        testRecord({ id: 'none', status: 'canceled' }),
      ]);
      const other = deletion({ name: 'vmci-linux-x-2', attempts: 1 });

      expect(await store.recordDeletion('d', other, { attempts: 0 })).toEqual({ recorded: false });
      expect(await store.recordDeletion('none', other, { attempts: 0 })).toEqual({
        recorded: false,
      });
      expect(await store.recordDeletion('missing', other, { attempts: 0 })).toEqual({
        recorded: false,
      });
      expect((await store.getTest('d'))?.deletion).toEqual(deletion());
    });

    it('racing claims with the same expectation: exactly one records', async () => {
      const { store, peer } = current();
      await store.createTests([testRecord({ id: 'd', status: 'canceled', deletion: deletion() })]);
      const handles = [store, store, store, peer(), peer(), peer()];

      const results = await Promise.all(
        handles.map((h, i) =>
          h.recordDeletion('d', deletion({ attempts: 1, nextCheckAt: at(10 + i) }), {
            attempts: 0,
          }),
        ),
      );

      const winners = results.flatMap((r, i) => (r.recorded ? [i] : []));
      expect(winners).toHaveLength(1);
      expect((await store.getTest('d'))?.deletion).toEqual(
        deletion({ attempts: 1, nextCheckAt: at(10 + winners[0]!) }),
      );
    });
  });

  describe('listDueDeletions', () => {
    const current = useStore(makeStore);

    it('lists deletions not done and due strictly before now, earliest check first, then by id', async () => {
      const { store } = current();
      await store.createTests([
        testRecord({ id: 'late', status: 'canceled', deletion: deletion({ nextCheckAt: at(5) }) }),
        testRecord({ id: 'early', status: 'passed', deletion: deletion({ nextCheckAt: at(1) }) }),
        testRecord({ id: 'tie-b', status: 'failed', deletion: deletion({ nextCheckAt: at(3) }) }),
        testRecord({ id: 'tie-a', status: 'error', deletion: deletion({ nextCheckAt: at(3) }) }),
        testRecord({ id: 'at-now', status: 'passed', deletion: deletion({ nextCheckAt: at(6) }) }),
        testRecord({ id: 'future', status: 'passed', deletion: deletion({ nextCheckAt: at(9) }) }),
      ]);

      expect(ids(await store.listDueDeletions(at(6), 10))).toEqual([
        'early',
        'tie-a',
        'tie-b',
        'late',
      ]);
      expect(ids(await store.listDueDeletions(at(6), 2))).toEqual(['early', 'tie-a']);
      expect(ids(await store.listDueDeletions(at(1), 10))).toEqual([]);
      expect(ids(await store.listDueDeletions(at(3.5), 10))).toEqual(['early', 'tie-a', 'tie-b']);
      expect(ids(await store.listDueDeletions(at(60), 10))).toEqual([
        'early',
        'tie-a',
        'tie-b',
        'late',
        'at-now',
        'future',
      ]);
    });

    it('never lists a test without a deletion, a deletion done, or one with no next check', async () => {
      const { store } = current();
      const due = testRecord({ id: 'due', status: 'canceled', deletion: deletion() });
      await store.createTests([
        due,
        testRecord({ id: 'no-deletion', status: 'canceled', deletion: null }),
        testRecord({ id: 'live', status: 'queued', deletion: null }),
        testRecord({
          id: 'done',
          status: 'canceled',
          deletion: deletion({ doneAt: at(1), nextCheckAt: null }),
        }),
        // A done deletion whose next check was never cleared is still done.
        testRecord({
          id: 'done-stale-check',
          status: 'canceled',
          deletion: deletion({ doneAt: at(1), nextCheckAt: at(1) }),
        }),
        testRecord({
          id: 'given-up',
          status: 'canceled',
          deletion: deletion({ attempts: 9, nextCheckAt: null }),
        }),
      ]);

      expect(await store.listDueDeletions(at(60), 10)).toEqual([due]);
    });

    it('sees a deletion recorded done, or pushed later, at once', async () => {
      const { store } = current();
      await store.createTests([
        testRecord({ id: 'a', status: 'canceled', deletion: deletion({ nextCheckAt: at(1) }) }),
        testRecord({ id: 'b', status: 'canceled', deletion: deletion({ nextCheckAt: at(2) }) }),
      ]);
      expect(ids(await store.listDueDeletions(at(10), 10))).toEqual(['a', 'b']);

      await store.recordDeletion('a', deletion({ attempts: 1, doneAt: at(3), nextCheckAt: null }));
      await store.recordDeletion('b', deletion({ attempts: 1, nextCheckAt: at(20) }), {
        attempts: 0,
      });

      expect(await store.listDueDeletions(at(10), 10)).toEqual([]);
      expect(ids(await store.listDueDeletions(at(21), 10))).toEqual(['b']);
    });

    it('refuses an unbounded or malformed limit', async () => {
      const { store } = current();
      await expect(store.listDueDeletions(at(0), 0)).rejects.toThrow(RangeError);
      await expect(store.listDueDeletions(at(0), 2.5)).rejects.toThrow(RangeError);
      await expect(store.listDueDeletions(at(0), MAX_LIST_LIMIT + 1)).rejects.toThrow(RangeError);
      expect(await store.listDueDeletions(at(0), MAX_LIST_LIMIT)).toEqual([]);
    });
  });
}
