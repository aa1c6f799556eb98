// Contract: creating, reading and listing tests.
import type { TestRecord } from '../../../shared/domain/test';
import { MAX_CREATE_BATCH } from '../../../shared/store/port';
import { at, ids, testRecord, useStore, type MakeStore } from './fixtures';

export function defineRecordContractTests(makeStore: MakeStore): void {
  describe('recordStatusPosted', () => {
    const current = useStore(makeStore);

    it('notes the posted status and leaves status, message and timeline alone', async () => {
      const { store } = current();
      const test = testRecord({ id: 'posted' });
      await store.createTests([test]);
      const posted = { state: 'pending' as const, description: 'Tests queued', at: at(1) };

      const noted = await store.recordStatusPosted('posted', posted);

      const stored = await store.getTest('posted');
      expect(stored).toEqual({ ...test, githubStatus: posted });
      // The test as stored after the note comes back with it.
      expect(noted).toEqual({ recorded: true, test: stored });
      expect(stored?.githubStatus?.at).toBeInstanceOf(Date);
    });

    it('records nothing for an unknown test', async () => {
      const { store } = current();
      const posted = { state: 'error' as const, description: 'x', at: at(1) };
      expect(await store.recordStatusPosted('missing', posted)).toEqual({ recorded: false });
      expect(await store.getTest('missing')).toBeNull();
    });
  });

  describe('recordDeletion', () => {
    const current = useStore(makeStore);
    const requested = {
      name: 'vmci-linux-x-1',
      zone: 'local-a',
      requestedAt: at(1),
      attempts: 0,
      doneAt: null,
      nextCheckAt: at(1),
    };

    it('notes progress on the same VM deletion, leaving status, message and timeline alone', async () => {
      const { store } = current();
      const test = testRecord({ id: 'ended', status: 'passed', deletion: requested });
      await store.createTests([test]);
      const done = { ...requested, attempts: 1, doneAt: at(2) };

      expect(await store.recordDeletion('ended', done)).toEqual({ recorded: true });

      const stored = await store.getTest('ended');
      expect(stored).toEqual({ ...test, deletion: done });
      expect(stored?.deletion?.doneAt).toBeInstanceOf(Date);
    });

    it("never overwrites another VM's deletion, nor records one for an unknown test", async () => {
      const { store } = current();
      const test = testRecord({ id: 'other', status: 'canceled', deletion: requested });
      await store.createTests([test, testRecord({ id: 'none', status: 'error' })]);
      const elsewhere = { ...requested, zone: 'local-b', doneAt: at(2) };
      const renamed = { ...requested, name: 'vmci-linux-x-2', doneAt: at(2) };

      expect(await store.recordDeletion('other', elsewhere)).toEqual({ recorded: false });
      expect(await store.recordDeletion('other', renamed)).toEqual({ recorded: false });
      expect(await store.recordDeletion('none', renamed)).toEqual({ recorded: false });
      expect(await store.recordDeletion('missing', renamed)).toEqual({ recorded: false });
      expect(await store.getTest('other')).toEqual(test);
      expect((await store.getTest('none'))?.deletion).toBeNull();
      expect(await store.getTest('missing')).toBeNull();
    });
  });

  describe('createTests and getTest', () => {
    const current = useStore(makeStore);

    it('stores tests that read back equal, with every date a Date', async () => {
      const { store } = current();
      const test = testRecord({
        id: 't1',
        deadlineAt: at(30),
        trigger: 'pull_request',
        pr: 3,
        headUpdatedAt: at(-5),
        title: 'Fix the parser 😀 <b>',
        instance: { name: 'vmci-t1-1', zone: 'europe-west1-b', provisioning: 'SPOT' },
        deletion: {
          name: 'vmci-t1-1',
          zone: 'europe-west1-b',
          requestedAt: at(2),
          attempts: 1,
          doneAt: null,
          nextCheckAt: at(4),
        },
      });

      const result = await store.createTests([test, testRecord({ id: 't2' })]);

      expect(result).toEqual({ created: ['t1', 't2'], existing: [] });
      const stored = await store.getTest('t1');
      expect(stored).toEqual(test);
      expect(stored?.deletion?.requestedAt).toBeInstanceOf(Date);
      expect(stored?.timeline[0]?.at).toBeInstanceOf(Date);
      expect(stored?.createdAt).toBeInstanceOf(Date);
      expect(stored?.headUpdatedAt).toBeInstanceOf(Date);
      expect((await store.getTest('t2'))?.headUpdatedAt).toBeNull();
      expect((await store.getTest('t2'))?.title).toBeNull();
      expect(await store.getTest('missing')).toBeNull();
    });

    it('creates nothing twice: a second call reports existing ids and changes nothing', async () => {
      const { store } = current();
      await store.createTests([testRecord({ id: 't1' }), testRecord({ id: 't2' })]);

      const again = await store.createTests([
        testRecord({ id: 't2', message: 'changed' }),
        testRecord({ id: 't3' }),
        testRecord({ id: 't1', status: 'running' }),
      ]);

      expect(again).toEqual({ created: ['t3'], existing: ['t2', 't1'] });
      expect(await store.getTest('t1')).toEqual(testRecord({ id: 't1' }));
      expect(await store.getTest('t2')).toEqual(testRecord({ id: 't2' }));
      expect(ids(await store.listBySha('ccextractor/ccextractor', 'a'.repeat(40)))).toEqual([
        't1',
        't2',
        't3',
      ]);
    });

    it('creates each test once when the same batches race', async () => {
      const { store } = current();
      const batches = [['a', 'b'], ['b', 'c'], ['c', 'd'], ['a', 'b', 'c', 'd'], ['d']];

      const calls = [...batches, ...batches];
      const results = await Promise.all(
        calls.map((batch) =>
          store.createTests(batch.map((id) => testRecord({ id, message: `from ${batch.join()}` }))),
        ),
      );

      expect(results.flatMap((r) => r.created).sort()).toEqual(['a', 'b', 'c', 'd']);
      for (const [i, r] of results.entries()) {
        expect([...r.created, ...r.existing].sort()).toEqual([...calls[i]!].sort());
      }
      expect(await store.listBySha('ccextractor/ccextractor', 'a'.repeat(40))).toHaveLength(4);
    });

    it('creates each test once when separate handles race (a redelivered webhook)', async () => {
      const { store, peer } = current();
      const batch = [testRecord({ id: 'a' }), testRecord({ id: 'b' })];

      const results = await Promise.all([store, peer(), peer()].map((h) => h.createTests(batch)));

      expect(results.flatMap((r) => r.created).sort()).toEqual(['a', 'b']);
      for (const r of results) expect([...r.created, ...r.existing].sort()).toEqual(['a', 'b']);
      expect(await store.getTest('a')).toEqual(batch[0]);
    });

    it('refuses duplicate ids and oversized batches, writing nothing', async () => {
      const { store } = current();
      const tooMany = Array.from({ length: MAX_CREATE_BATCH + 1 }, (_, i) =>
        testRecord({ id: `n${i}` }),
      );

      await expect(store.createTests(tooMany)).rejects.toThrow(RangeError);
      await expect(
        store.createTests([
          testRecord({ id: 'x' }),
          testRecord({ id: 'y' }),
          testRecord({ id: 'x' }),
        ]),
      ).rejects.toThrow(RangeError);

      expect(await store.getTest('n0')).toBeNull();
      expect(await store.getTest('y')).toBeNull();
      expect(await store.createTests([])).toEqual({ created: [], existing: [] });
    });

    it('keeps its own copies: changing an input or a result changes nothing stored', async () => {
      const { store } = current();
      const input = testRecord({ id: 't1' });
      await store.createTests([input]);
      input.message = 'mutated input';
      input.timeline.push({ at: at(9), status: 'error', message: 'mutated' });

      const read = await store.getTest('t1');
      read!.timeline[0]!.message = 'mutated read';
      read!.createdAt.setTime(0);

      expect(await store.getTest('t1')).toEqual(testRecord({ id: 't1' }));
    });
  });

  describe('listing', () => {
    const current = useStore(makeStore);

    it('listByStatus: least recently updated first, then by id; platform, updatedBefore and limit filter', async () => {
      const { store } = current();
      await store.createTests([
        testRecord({ id: 't1', updatedAt: at(3) }),
        testRecord({ id: 't2', updatedAt: at(1), platform: 'windows' }),
        testRecord({ id: 't5', updatedAt: at(2) }),
        testRecord({ id: 't3', updatedAt: at(2) }),
        testRecord({ id: 't4', updatedAt: at(0), status: 'running' }),
      ]);

      expect(ids(await store.listByStatus('queued', { limit: 10 }))).toEqual([
        't2',
        't3',
        't5',
        't1',
      ]);
      expect(ids(await store.listByStatus('queued', { limit: 2 }))).toEqual(['t2', 't3']);
      expect(ids(await store.listByStatus('queued', { limit: 10, platform: 'linux' }))).toEqual([
        't3',
        't5',
        't1',
      ]);
      expect(ids(await store.listByStatus('queued', { limit: 10, updatedBefore: at(2) }))).toEqual([
        't2',
      ]);
      expect(
        ids(
          await store.listByStatus('queued', {
            limit: 10,
            platform: 'linux',
            updatedBefore: at(3),
          }),
        ),
      ).toEqual(['t3', 't5']);
      expect(await store.listByStatus('pending', { limit: 10 })).toEqual([]);
      expect(await store.listByStatus('running', { limit: 1 })).toEqual([
        testRecord({ id: 't4', updatedAt: at(0), status: 'running' }),
      ]);
    });

    it('listByStatus with waitReason: only that reason on that platform; needs the platform', async () => {
      const { store } = current();
      const waiting = (id: string, extra: Partial<TestRecord>) =>
        testRecord({ ...extra, id, status: 'waiting' });
      await store.createTests([
        waiting('b2', { waitReason: 'build', updatedAt: at(2) }),
        waiting('b1', { waitReason: 'build', updatedAt: at(1) }),
        waiting('b3', { waitReason: 'build', updatedAt: at(1) }),
        waiting('a1', { waitReason: 'approval', updatedAt: at(0) }),
        waiting('m1', { waitReason: 'maintenance', updatedAt: at(0) }),
        waiting('w1', { waitReason: 'build', updatedAt: at(0), platform: 'windows' }),
        waiting('n1', { waitReason: null, updatedAt: at(0) }),
        testRecord({ id: 'q1', status: 'queued', waitReason: 'build', updatedAt: at(0) }),
      ]);

      const build = { platform: 'linux', waitReason: 'build' as const };
      expect(ids(await store.listByStatus('waiting', { ...build, limit: 10 }))).toEqual([
        'b1',
        'b3',
        'b2',
      ]);
      expect(ids(await store.listByStatus('waiting', { ...build, limit: 1 }))).toEqual(['b1']);
      expect(
        ids(await store.listByStatus('waiting', { ...build, limit: 10, updatedBefore: at(2) })),
      ).toEqual(['b1', 'b3']);
      expect(
        ids(
          await store.listByStatus('waiting', {
            platform: 'linux',
            waitReason: 'approval',
            limit: 10,
          }),
        ),
      ).toEqual(['a1']);
      expect(
        ids(
          await store.listByStatus('waiting', {
            platform: 'windows',
            waitReason: 'build',
            limit: 10,
          }),
        ),
      ).toEqual(['w1']);
      expect(ids(await store.listByStatus('queued', { ...build, limit: 10 }))).toEqual(['q1']);
      expect(await store.listByStatus('pending', { ...build, limit: 10 })).toEqual([]);
      // Without waitReason, the platform filter alone still lists every reason.
      expect(ids(await store.listByStatus('waiting', { platform: 'linux', limit: 10 }))).toEqual([
        'a1',
        'm1',
        'n1',
        'b1',
        'b3',
        'b2',
      ]);
      await expect(
        store.listByStatus('waiting', { waitReason: 'build', limit: 10 }),
      ).rejects.toThrow(RangeError);
    });

    it('listPastDeadline: only starting/running tests strictly past their deadline, earliest first', async () => {
      const { store } = current();
      await store.createTests([
        testRecord({ id: 'd1', status: 'running', deadlineAt: at(5) }),
        testRecord({ id: 'd2', status: 'starting', deadlineAt: at(1) }),
        testRecord({ id: 'd3', status: 'running', deadlineAt: at(10) }),
        testRecord({ id: 'd4', status: 'running', deadlineAt: null }),
        testRecord({ id: 'd5', status: 'queued', deadlineAt: at(0) }),
        testRecord({ id: 'd6', status: 'timed_out', deadlineAt: at(0) }),
        testRecord({ id: 'd7', status: 'running', deadlineAt: at(5) }),
      ]);

      expect(ids(await store.listPastDeadline(at(10), 10))).toEqual(['d2', 'd1', 'd7']);
      expect(ids(await store.listPastDeadline(at(10), 2))).toEqual(['d2', 'd1']);
      expect(ids(await store.listPastDeadline(at(1), 10))).toEqual([]);
    });

    it('listBySha: the commit’s tests of that repository, oldest first', async () => {
      const { store } = current();
      const x = 'b'.repeat(40);
      await store.createTests([
        testRecord({ id: 's1', sha: x, createdAt: at(1) }),
        testRecord({ id: 's2', sha: x, createdAt: at(0), platform: 'windows' }),
        testRecord({ id: 's3', sha: 'c'.repeat(40) }),
        testRecord({ id: 's4', sha: x, repo: 'other/repo' }),
      ]);

      expect(ids(await store.listBySha('ccextractor/ccextractor', x))).toEqual(['s2', 's1']);
      expect(ids(await store.listBySha('ccextractor/ccextractor', x, { limit: 1 }))).toEqual([
        's2',
      ]);
      expect(ids(await store.listBySha('other/repo', x))).toEqual(['s4']);
      expect(await store.listBySha('ccextractor/ccextractor', 'f'.repeat(40))).toEqual([]);
    });

    it('listByPr: the PR’s tests, newest first, optionally only some statuses', async () => {
      const { store } = current();
      const pr = { trigger: 'pull_request' as const, pr: 7 };
      await store.createTests([
        testRecord({ id: 'p1', ...pr, createdAt: at(0), status: 'passed' }),
        testRecord({ id: 'p2', ...pr, createdAt: at(2), status: 'queued' }),
        testRecord({ id: 'p3', ...pr, createdAt: at(1), status: 'canceled' }),
        testRecord({ id: 'p4', ...pr, pr: 8 }),
        testRecord({ id: 'p5', ...pr, repo: 'other/repo' }),
        testRecord({ id: 'p6' }),
      ]);

      const repo = 'ccextractor/ccextractor';
      expect(ids(await store.listByPr(repo, 7))).toEqual(['p2', 'p3', 'p1']);
      expect(ids(await store.listByPr(repo, 7, { limit: 1 }))).toEqual(['p2']);
      expect(ids(await store.listByPr(repo, 7, { statuses: ['queued', 'running'] }))).toEqual([
        'p2',
      ]);
      expect(ids(await store.listByPr(repo, 7, { statuses: ['passed', 'canceled'] }))).toEqual([
        'p3',
        'p1',
      ]);
      expect(await store.listByPr(repo, 9)).toEqual([]);
    });

    it('listByPrHead: the PR’s tests of every status, newest head first, then by id; a null head last', async () => {
      const { store } = current();
      const pr = { trigger: 'pull_request' as const, pr: 7 };
      await store.createTests([
        testRecord({ id: 'h1', ...pr, headUpdatedAt: at(0), createdAt: at(9), status: 'passed' }),
        testRecord({ id: 'h2', ...pr, headUpdatedAt: at(2), createdAt: at(0), status: 'queued' }),
        testRecord({ id: 'h3', ...pr, headUpdatedAt: at(2), createdAt: at(1), status: 'canceled' }),
        testRecord({ id: 'h4', ...pr, headUpdatedAt: at(1) }),
        testRecord({ id: 'h5', ...pr, headUpdatedAt: null }),
        testRecord({ id: 'h6', ...pr, pr: 8, headUpdatedAt: at(5) }),
        testRecord({ id: 'h7', ...pr, repo: 'other/repo', headUpdatedAt: at(5) }),
        testRecord({ id: 'h8' }),
      ]);

      const repo = 'ccextractor/ccextractor';
      const listed = await store.listByPrHead(repo, 7);
      expect(ids(listed)).toEqual(['h3', 'h2', 'h4', 'h1', 'h5']);
      expect(listed[0]?.headUpdatedAt).toEqual(at(2));
      expect(ids(await store.listByPrHead(repo, 7, { limit: 2 }))).toEqual(['h3', 'h2']);
      expect(ids(await store.listByPrHead(repo, 8))).toEqual(['h6']);
      expect(await store.listByPrHead(repo, 9)).toEqual([]);
    });

    it('refuses unbounded or malformed queries', async () => {
      const { store } = current();
      await expect(store.listByStatus('queued', { limit: 0 })).rejects.toThrow(RangeError);
      await expect(store.listByStatus('queued', { limit: 1.5 })).rejects.toThrow(RangeError);
      await expect(store.listPastDeadline(at(0), 100_000)).rejects.toThrow(RangeError);
      await expect(store.listBySha('r', 's', { limit: -1 })).rejects.toThrow(RangeError);
      await expect(store.listByPr('r', 1, { statuses: [] })).rejects.toThrow(RangeError);
      await expect(store.listByPrHead('r', 1, { limit: 1001 })).rejects.toThrow(RangeError);
    });
  });
}
