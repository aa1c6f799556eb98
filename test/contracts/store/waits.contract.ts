// Contract: how long a test has waited — `waitingSince`, kept by every
// transition, checked as part of a compare-and-set, and the indexed query for
// the waits that began before a time.
import type { TestRecord } from '../../../shared/domain/test';
import { MAX_LIST_LIMIT, type TestPatch } from '../../../shared/store/port';
import { at, ids, testRecord, useStore, type MakeStore } from './fixtures';

const waiting = (id: string, overrides: Partial<TestRecord> = {}): TestRecord =>
  testRecord({
    id,
    status: 'waiting',
    waitReason: 'build',
    waitingSince: at(0),
    queuedAt: null,
    ...overrides,
  });

export function defineWaitContractTests(makeStore: MakeStore): void {
  describe('waitingSince', () => {
    const current = useStore(makeStore);

    it('begins when a wait begins, goes on while it does, begins again for a new reason, ends with it', async () => {
      const { store } = current();
      await store.createTests([testRecord({ id: 't', status: 'pending', queuedAt: null })]);
      const move = (
        from: TestRecord['status'],
        to: TestRecord['status'],
        minute: number,
        patch?: TestPatch,
      ) =>
        store.transition('t', { from: [from], to, at: at(minute), message: `m${minute}`, patch });

      const parked = await move('pending', 'waiting', 1, { waitReason: 'maintenance' });
      // The same wait, a new line: it goes on from minute 1.
      const again = await move('waiting', 'waiting', 2);
      const sameReason = await move('waiting', 'waiting', 3, { waitReason: 'maintenance' });
      const other = await move('waiting', 'waiting', 4, { waitReason: 'build' });
      const released = await move('waiting', 'pending', 5);

      expect(parked.ok && parked.test.waitingSince).toEqual(at(1));
      expect(again.ok && again.test.waitingSince).toEqual(at(1));
      expect(sameReason.ok && sameReason.test.waitingSince).toEqual(at(1));
      expect(other.ok && other.test.waitingSince).toEqual(at(4));
      expect(released.ok && released.test.waitingSince).toBeNull();
      expect((await store.getTest('t'))?.waitingSince).toBeNull();
    });

    it('a patch cannot set it: the store keeps it', async () => {
      const { store } = current();
      await store.createTests([waiting('w', { waitingSince: at(1) })]);

      const moved = await store.transition('w', {
        from: ['waiting'],
        to: 'waiting',
        at: at(3),
        message: 'moved',
        patch: { waitingSince: at(2) } as unknown as TestPatch,
      });

      expect(moved.ok && moved.test.waitingSince).toEqual(at(1));
    });

    it('an expected wait is checked with the status: another reason, or another wait, refuses', async () => {
      const { store } = current();
      const w = waiting('w', { waitReason: 'build', waitingSince: at(1) });
      await store.createTests([w]);
      const end = (expect: { waitReason?: ['build' | 'approval']; waitingSince?: Date | null }) =>
        store.transition('w', { from: ['waiting'], to: 'error', at: at(9), message: 'x', expect });

      expect(await end({ waitReason: ['approval'] })).toMatchObject({
        ok: false,
        reason: 'unexpected_status',
      });
      expect(await end({ waitReason: ['build'], waitingSince: at(2) })).toMatchObject({
        ok: false,
        reason: 'unexpected_status',
      });
      expect(await end({ waitingSince: null })).toMatchObject({ ok: false });
      expect(await store.getTest('w')).toEqual(w);

      const ended = await end({ waitReason: ['build'], waitingSince: at(1) });
      expect(ended).toMatchObject({ ok: true, test: { status: 'error', waitingSince: null } });
    });
  });

  describe('listWaitingBefore', () => {
    const current = useStore(makeStore);

    it('lists one platform’s tests waiting for one reason since strictly before, longest wait first, then by id', async () => {
      const { store } = current();
      await store.createTests([
        waiting('b-late', { waitingSince: at(5) }),
        waiting('b-early', { waitingSince: at(1) }),
        waiting('b-tie-b', { waitingSince: at(3) }),
        waiting('b-tie-a', { waitingSince: at(3) }),
        waiting('b-at', { waitingSince: at(6) }),
        waiting('b-win', { waitingSince: at(0), platform: 'windows' }),
        waiting('approval', { waitReason: 'approval', waitingSince: at(0) }),
        waiting('maint', { waitReason: 'maintenance', waitingSince: at(0) }),
        // No longer waiting: never listed.
        testRecord({ id: 'pending', status: 'pending', waitingSince: null, updatedAt: at(0) }),
      ]);

      expect(ids(await store.listWaitingBefore('linux', 'build', at(6), 10))).toEqual([
        'b-early',
        'b-tie-a',
        'b-tie-b',
        'b-late',
      ]);
      expect(ids(await store.listWaitingBefore('linux', 'build', at(6), 2))).toEqual([
        'b-early',
        'b-tie-a',
      ]);
      expect(ids(await store.listWaitingBefore('linux', 'build', at(1), 10))).toEqual([]);
      expect(ids(await store.listWaitingBefore('windows', 'build', at(60), 10))).toEqual(['b-win']);
      expect(ids(await store.listWaitingBefore('linux', 'approval', at(60), 10))).toEqual([
        'approval',
      ]);
      expect(ids(await store.listWaitingBefore('linux', 'maintenance', at(60), 10))).toEqual([
        'maint',
      ]);
    });

    it('sees a test released, or waiting anew, at once', async () => {
      const { store } = current();
      await store.createTests([
        waiting('released', { waitingSince: at(1) }),
        waiting('renewed', { waitReason: 'approval', waitingSince: at(1) }),
      ]);

      await store.transition('released', {
        from: ['waiting'],
        to: 'pending',
        at: at(2),
        message: 'Tests queued',
      });
      await store.transition('renewed', {
        from: ['waiting'],
        to: 'waiting',
        at: at(3),
        message: 'Waiting for the build workflow to finish',
        patch: { waitReason: 'build' },
      });

      expect(ids(await store.listWaitingBefore('linux', 'build', at(3), 10))).toEqual([]);
      expect(ids(await store.listWaitingBefore('linux', 'approval', at(60), 10))).toEqual([]);
      expect(ids(await store.listWaitingBefore('linux', 'build', at(4), 10))).toEqual(['renewed']);
    });

    it('refuses an unbounded or malformed limit', async () => {
      const { store } = current();
      await expect(store.listWaitingBefore('linux', 'build', at(0), 0)).rejects.toThrow(RangeError);
      await expect(
        store.listWaitingBefore('linux', 'build', at(0), MAX_LIST_LIMIT + 1),
      ).rejects.toThrow(RangeError);
    });
  });
}
