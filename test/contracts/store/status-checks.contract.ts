// Contract: the check of an ended test's final status (DESIGN §3.7) — every end
// sets `statusCheckAt`, noting the final status as posted clears it, an older
// status noted after it arms it again, the due checks are listed by an indexed
// query, and a check is claimed by compare-and-set.
import { TERMINAL_STATUSES, type PostedCommitStatus } from '../../../shared/domain/test';
import { MAX_LIST_LIMIT } from '../../../shared/store/port';
import { at, ids, testRecord, useStore, type MakeStore } from './fixtures';

const posted = (
  state: PostedCommitStatus['state'],
  description: string,
  when: Date,
): PostedCommitStatus => ({ state, description, at: when });

export function defineStatusCheckContractTests(makeStore: MakeStore): void {
  describe('statusCheckAt, set by every end', () => {
    const current = useStore(makeStore);

    it.each(TERMINAL_STATUSES)('a move to %s sets it a minute after the end', async (to) => {
      const { store } = current();
      await store.createTests([testRecord({ id: 't', status: 'running', stage: 'testing' })]);

      const moved = await store.transition('t', {
        from: ['running'],
        to,
        at: at(5),
        message: 'Ended',
      });

      expect(moved.ok && moved.test.statusCheckAt).toEqual(at(6));
      expect((await store.getTest('t'))?.statusCheckAt).toEqual(at(6));
    });

    it('a move between live statuses leaves it null', async () => {
      const { store } = current();
      await store.createTests([testRecord({ id: 't', status: 'queued' })]);

      const moved = await store.transition('t', {
        from: ['queued'],
        to: 'starting',
        at: at(1),
        message: 'Starting a VM',
      });

      expect(moved.ok && moved.test.statusCheckAt).toBeNull();
    });
  });

  describe('recordStatusPosted settles the check of an ended test', () => {
    const current = useStore(makeStore);

    it('the final status noted as posted clears it; nothing else about the test changes', async () => {
      const { store } = current();
      const ended = testRecord({
        id: 'e',
        status: 'passed',
        message: 'All tests passed',
        statusCheckAt: at(6),
      });
      await store.createTests([ended]);
      const final = posted('success', 'All tests passed', at(5));

      const noted = await store.recordStatusPosted('e', final);

      const expected = { ...ended, githubStatus: final, statusCheckAt: null };
      expect(await store.getTest('e')).toEqual(expected);
      expect(noted).toEqual({ recorded: true, test: expected });
    });

    it('an older status noted after the final one keeps the check, or sets one due a minute after it', async () => {
      const { store } = current();
      await store.createTests([
        testRecord({
          id: 'armed',
          status: 'failed',
          message: '1 test failed',
          statusCheckAt: at(6),
        }),
        testRecord({ id: 'settled', status: 'failed', message: '1 test failed' }),
      ]);
      // A slow publisher's "Running tests" lands after the final status was noted.
      const late = posted('pending', 'Running tests', at(8));

      await store.recordStatusPosted('armed', late);
      await store.recordStatusPosted('settled', posted('failure', '1 test failed', at(7)));
      await store.recordStatusPosted('settled', late);

      expect(await store.getTest('armed')).toMatchObject({
        githubStatus: late,
        statusCheckAt: at(6),
      });
      expect(await store.getTest('settled')).toMatchObject({
        githubStatus: late,
        statusCheckAt: at(9),
      });
    });

    it('compares as GitHub shows it: the same state and line count as the final status', async () => {
      const { store } = current();
      const message = `Test run failed: ${'x'.repeat(200)}`;
      await store.createTests([
        testRecord({ id: 'long', status: 'error', message, statusCheckAt: at(6) }),
      ]);
      // What a post sends: the line fitted to 140 characters.
      const fitted = `${message.slice(0, 139)}…`;

      await store.recordStatusPosted('long', posted('error', fitted, at(5)));

      expect((await store.getTest('long'))?.statusCheckAt).toBeNull();
    });

    it('a live test has no check, whatever is posted', async () => {
      const { store } = current();
      await store.createTests([
        testRecord({ id: 'live', status: 'queued', message: 'Tests queued' }),
      ]);

      await store.recordStatusPosted('live', posted('pending', 'Starting a VM', at(1)));

      expect((await store.getTest('live'))?.statusCheckAt).toBeNull();
    });
  });

  describe('listDueStatusChecks', () => {
    const current = useStore(makeStore);

    it('lists ended tests whose check is strictly before now, earliest first, then by id', async () => {
      const { store } = current();
      await store.createTests([
        testRecord({ id: 'late', status: 'passed', statusCheckAt: at(5) }),
        testRecord({ id: 'early', status: 'failed', statusCheckAt: at(1) }),
        testRecord({ id: 'tie-b', status: 'canceled', statusCheckAt: at(3) }),
        testRecord({ id: 'tie-a', status: 'timed_out', statusCheckAt: at(3) }),
        testRecord({ id: 'at-now', status: 'error', statusCheckAt: at(6) }),
        testRecord({ id: 'settled', status: 'passed', statusCheckAt: null }),
        testRecord({ id: 'live', status: 'running', statusCheckAt: null }),
      ]);

      expect(ids(await store.listDueStatusChecks(at(6), 10))).toEqual([
        'early',
        'tie-a',
        'tie-b',
        'late',
      ]);
      expect(ids(await store.listDueStatusChecks(at(6), 2))).toEqual(['early', 'tie-a']);
      expect(ids(await store.listDueStatusChecks(at(1), 10))).toEqual([]);
      expect(ids(await store.listDueStatusChecks(at(60), 10))).toEqual([
        'early',
        'tie-a',
        'tie-b',
        'late',
        'at-now',
      ]);
    });

    it('sees a check settled, claimed or armed at once', async () => {
      const { store } = current();
      await store.createTests([
        testRecord({ id: 'a', status: 'passed', message: 'ok', statusCheckAt: at(1) }),
        testRecord({ id: 'b', status: 'passed', message: 'ok', statusCheckAt: at(2) }),
        testRecord({ id: 'c', status: 'passed', message: 'ok', statusCheckAt: null }),
      ]);

      await store.recordStatusPosted('a', posted('success', 'ok', at(3)));
      await store.claimStatusCheck('b', at(2), at(20));
      await store.recordStatusPosted('c', posted('pending', 'Running tests', at(3)));

      expect(ids(await store.listDueStatusChecks(at(10), 10))).toEqual(['c']);
      expect(ids(await store.listDueStatusChecks(at(21), 10))).toEqual(['c', 'b']);
    });

    it('refuses an unbounded or malformed limit', async () => {
      const { store } = current();
      await expect(store.listDueStatusChecks(at(0), 0)).rejects.toThrow(RangeError);
      await expect(store.listDueStatusChecks(at(0), 1.5)).rejects.toThrow(RangeError);
      await expect(store.listDueStatusChecks(at(0), MAX_LIST_LIMIT + 1)).rejects.toThrow(
        RangeError,
      );
      expect(await store.listDueStatusChecks(at(0), MAX_LIST_LIMIT)).toEqual([]);
    });
  });

  describe('claimStatusCheck', () => {
    const current = useStore(makeStore);

    it('moves the check when it is the one expected, and returns the test; else changes nothing', async () => {
      const { store } = current();
      const ended = testRecord({ id: 'e', status: 'passed', statusCheckAt: at(6) });
      await store.createTests([ended]);

      expect(await store.claimStatusCheck('e', at(5), at(9))).toEqual({ claimed: false });
      expect(await store.claimStatusCheck('missing', at(6), at(9))).toEqual({ claimed: false });
      expect(await store.getTest('e')).toEqual(ended);

      const claimed = await store.claimStatusCheck('e', at(6), at(9));
      expect(claimed).toEqual({ claimed: true, test: { ...ended, statusCheckAt: at(9) } });
      expect(await store.getTest('e')).toEqual({ ...ended, statusCheckAt: at(9) });

      // The same claim again is stale now; null ends the checks.
      expect(await store.claimStatusCheck('e', at(6), at(12))).toEqual({ claimed: false });
      expect(await store.claimStatusCheck('e', at(9), null)).toMatchObject({ claimed: true });
      expect((await store.getTest('e'))?.statusCheckAt).toBeNull();
      expect(await store.claimStatusCheck('e', at(9), at(12))).toEqual({ claimed: false });
    });

    it('racing claims of the same check, through one handle and others: exactly one moves it', async () => {
      const { store, peer } = current();
      await store.createTests([testRecord({ id: 'e', status: 'failed', statusCheckAt: at(6) })]);
      const handles = [store, store, store, peer(), peer(), peer()];

      const results = await Promise.all(
        handles.map((h, i) => h.claimStatusCheck('e', at(6), at(10 + i))),
      );

      const winners = results.flatMap((r, i) => (r.claimed ? [i] : []));
      expect(winners).toHaveLength(1);
      expect((await store.getTest('e'))?.statusCheckAt).toEqual(at(10 + winners[0]!));
    });
  });
}
