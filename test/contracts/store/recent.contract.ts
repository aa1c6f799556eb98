// Contract: what the status page and `vmci` read across tests (the recent
// listing, counts per status) and the operators' platform switches.
import { at, ids, testRecord, useStore, type MakeStore } from './fixtures';

export function defineRecentContractTests(makeStore: MakeStore): void {
  describe('recent tests, counts and platform switches', () => {
    const current = useStore(makeStore);

    const seed = () => [
      testRecord({ id: 't1', createdAt: at(1), platform: 'linux', status: 'passed' }),
      testRecord({ id: 't2', createdAt: at(2), platform: 'windows', status: 'queued' }),
      testRecord({ id: 't3', createdAt: at(3), platform: 'linux', status: 'queued' }),
      testRecord({
        id: 't4',
        createdAt: at(4),
        platform: 'linux',
        status: 'queued',
        repo: 'o/other',
      }),
      // Same instant as t4: the id breaks the tie, descending.
      testRecord({ id: 't5', createdAt: at(4), platform: 'windows', status: 'running' }),
    ];

    it('lists the newest first, with every combination of filters', async () => {
      const { store } = current();
      await store.createTests(seed());

      expect(ids(await store.listRecent({}, { limit: 10 }))).toEqual([
        't5',
        't4',
        't3',
        't2',
        't1',
      ]);
      expect(ids(await store.listRecent({}, { limit: 2 }))).toEqual(['t5', 't4']);
      const repo = 'ccextractor/ccextractor';
      expect(ids(await store.listRecent({ repo }, { limit: 10 }))).toEqual([
        't5',
        't3',
        't2',
        't1',
      ]);
      expect(ids(await store.listRecent({ platform: 'linux' }, { limit: 10 }))).toEqual([
        't4',
        't3',
        't1',
      ]);
      expect(ids(await store.listRecent({ status: 'queued' }, { limit: 10 }))).toEqual([
        't4',
        't3',
        't2',
      ]);
      expect(
        ids(await store.listRecent({ repo, platform: 'linux', status: 'queued' }, { limit: 10 })),
      ).toEqual(['t3']);
      expect(ids(await store.listRecent({ repo, status: 'running' }, { limit: 10 }))).toEqual([
        't5',
      ]);
      expect(
        ids(await store.listRecent({ platform: 'windows', status: 'passed' }, { limit: 10 })),
      ).toEqual([]);
    });

    it('pages with createdBefore (strictly before)', async () => {
      const { store } = current();
      await store.createTests(seed());

      expect(ids(await store.listRecent({}, { limit: 10, createdBefore: at(4) }))).toEqual([
        't3',
        't2',
        't1',
      ]);
      expect(
        ids(await store.listRecent({ platform: 'linux' }, { limit: 1, createdBefore: at(3) })),
      ).toEqual(['t1']);
    });

    it('refuses a limit out of range', async () => {
      const { store } = current();
      await expect(store.listRecent({}, { limit: 0 })).rejects.toThrow(RangeError);
    });

    it("counts a platform's tests in one status", async () => {
      const { store } = current();
      await store.createTests(seed());

      expect(await store.countByStatus('linux', 'queued')).toBe(2);
      expect(await store.countByStatus('windows', 'queued')).toBe(1);
      expect(await store.countByStatus('windows', 'running')).toBe(1);
      expect(await store.countByStatus('linux', 'running')).toBe(0);
      expect(await store.countByStatus('mac', 'queued')).toBe(0);
    });

    it('keeps the last switch of each platform', async () => {
      const { store, peer } = current();
      expect(await store.listPlatformSwitches()).toEqual([]);

      await store.setPlatformSwitch({
        platform: 'windows',
        maintenance: true,
        by: 'a@x',
        at: at(1),
      });
      await store.setPlatformSwitch({ platform: 'linux', maintenance: true, by: 'a@x', at: at(2) });
      await peer().setPlatformSwitch({
        platform: 'linux',
        maintenance: false,
        by: 'b@x',
        at: at(3),
      });

      expect(await store.listPlatformSwitches()).toEqual([
        { platform: 'linux', maintenance: false, by: 'b@x', at: at(3) },
        { platform: 'windows', maintenance: true, by: 'a@x', at: at(1) },
      ]);
    });
  });
}
