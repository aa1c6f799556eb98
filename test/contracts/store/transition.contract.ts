// Contract: compare-and-set transitions.
import { TERMINAL_STATUSES, TEST_STATUSES, type TestRecord } from '../../../shared/domain/test';
import { TIMELINE_LIMIT, type TestPatch } from '../../../shared/store/port';
import { at, claimMove, testRecord, useStore, type MakeStore } from './fixtures';

export function defineTransitionContractTests(makeStore: MakeStore): void {
  describe('transition', () => {
    const current = useStore(makeStore);

    it('moves the test: status, message, stage, patch, updatedAt and a timeline entry', async () => {
      const { store } = current();
      const before = testRecord({ id: 't1', status: 'starting', attempts: 1 });
      await store.createTests([before]);
      const patch: TestPatch = {
        instance: { name: 'vmci-t1-1', zone: 'europe-west1-b', provisioning: 'STANDARD' },
        deadlineAt: at(62),
        leaseExpiresAt: null,
      };

      const result = await store.transition('t1', {
        from: ['starting'],
        to: 'running',
        at: at(2),
        message: 'Preparing the VM',
        stage: 'preparation',
        patch,
      });

      const expected: TestRecord = {
        ...before,
        ...patch,
        status: 'running',
        stage: 'preparation',
        message: 'Preparing the VM',
        updatedAt: at(2),
        timeline: [
          ...before.timeline,
          { at: at(2), status: 'running', stage: 'preparation', message: 'Preparing the VM' },
        ],
      };
      expect(result).toEqual({ ok: true, test: expected, previous: before });
      const stored = await store.getTest('t1');
      expect(stored).toEqual(expected);
      expect(stored?.deadlineAt).toBeInstanceOf(Date);
      expect(stored?.timeline[1]?.at).toBeInstanceOf(Date);
    });

    it('keeps the wait reason only while the test is waiting', async () => {
      const { store } = current();
      const waiting = { status: 'waiting', waitReason: 'approval' } as const;
      await store.createTests([
        testRecord({ id: 'w1', ...waiting }),
        testRecord({ id: 'w2', ...waiting }),
      ]);
      const move = (id: string, to: 'waiting' | 'pending' | 'canceled', patch?: TestPatch) =>
        store.transition(id, { from: ['waiting'], to, at: at(2), message: 'moved', patch });

      const still = await move('w1', 'waiting', { waitReason: 'build' });
      const pending = await move('w1', 'pending');
      const canceled = await move('w2', 'canceled');

      expect(still.ok && still.test.waitReason).toBe('build');
      expect(pending.ok && pending.test.waitReason).toBeNull();
      expect(canceled.ok && canceled.test.waitReason).toBeNull();
      expect((await store.getTest('w2'))?.waitReason).toBeNull();
    });

    it('keeps the stage unless told, clears it with null, and ignores identity fields in a patch', async () => {
      const { store } = current();
      await store.createTests([testRecord({ id: 't1', status: 'running', stage: 'testing' })]);
      const sneaky = {
        repo: 'evil/repo',
        platform: 'windows',
        attempts: 3,
      } as unknown as TestPatch;

      const kept = await store.transition('t1', {
        from: ['running'],
        to: 'running',
        at: at(3),
        message: 'Still testing',
        patch: sneaky,
      });
      const cleared = await store.transition('t1', {
        from: ['running'],
        to: 'passed',
        at: at(4),
        message: 'All tests passed',
        stage: null,
        patch: {
          result: { exitCode: 0, passed: 12, failed: 0, summary: '12 passed' },
          finishedAt: at(4),
        },
      });

      expect(kept.ok && kept.test.stage).toBe('testing');
      expect(kept.ok && kept.test.timeline.at(-1)).toEqual({
        at: at(3),
        status: 'running',
        message: 'Still testing',
      });
      expect(cleared.ok && cleared.test.stage).toBeNull();
      const stored = await store.getTest('t1');
      expect(stored).toMatchObject({
        repo: 'ccextractor/ccextractor',
        platform: 'linux',
        attempts: 3,
        status: 'passed',
        result: { exitCode: 0, passed: 12, failed: 0, summary: '12 passed' },
        finishedAt: at(4),
      });
    });

    it('keeps the failing tests an end names, as given, and reads them back equal', async () => {
      const { store, peer } = current();
      await store.createTests([testRecord({ id: 't1', status: 'running', stage: 'testing' })]);
      const failures = {
        counts: { tests: 3, failures: 1, errors: 1, skipped: 0 },
        cases: [
          {
            name: 'test_utf8',
            classname: 'parser',
            suite: 'unit',
            file: 'results/junit.xml',
            kind: 'failure' as const,
            message: 'expected 1, got 2',
          },
          {
            name: 'test_eof',
            classname: null,
            suite: null,
            file: 'results/b/junit.xml',
            kind: 'error' as const,
            message: null,
          },
        ],
      };

      const ended = await store.transition('t1', {
        from: ['running'],
        to: 'failed',
        at: at(4),
        message: '2 of 3 failed: parser.test_utf8, test_eof',
        patch: { failures, finishedAt: at(4) },
      });

      expect(ended.ok && ended.test.failures).toEqual(failures);
      expect((await store.getTest('t1'))?.failures).toEqual(failures);
      expect((await peer().getTest('t1'))?.failures).toEqual(failures);
    });

    it('refuses, changing nothing: unknown test, unexpected status, move not in the table', async () => {
      const { store } = current();
      const before = testRecord({ id: 't1', status: 'queued' });
      await store.createTests([before]);

      expect(await store.transition('nope', claimMove())).toEqual({
        ok: false,
        reason: 'not_found',
      });
      expect(await store.transition('t1', claimMove({ from: ['pending'] }))).toEqual({
        ok: false,
        reason: 'unexpected_status',
        current: before,
      });
      expect(await store.transition('t1', claimMove({ to: 'passed' }))).toEqual({
        ok: false,
        reason: 'not_allowed',
        current: before,
      });
      expect(await store.getTest('t1')).toEqual(before);
    });

    it('checks an expected stage with the status: a stage that moved on refuses the write', async () => {
      const { store } = current();
      await store.createTests([testRecord({ id: 'staged', status: 'running', stage: 'testing' })]);
      const move = {
        from: ['running'] as const,
        to: 'running' as const,
        at: at(3),
        message: 'Preparing the VM',
        stage: 'preparation' as const,
      };

      const stale = await store.transition('staged', { ...move, expect: { stage: [null] } });
      const fresh = await store.transition('staged', {
        ...move,
        stage: 'testing',
        message: 'Running tests',
        expect: { stage: ['testing'] },
      });

      expect(stale).toMatchObject({ ok: false, reason: 'unexpected_status' });
      expect(stale.ok === false && 'current' in stale && stale.current.stage).toBe('testing');
      expect(fresh).toMatchObject({
        ok: true,
        test: { stage: 'testing', message: 'Running tests' },
      });
    });

    it('checks an expected enqueueGeneration and attempts: a mismatch refuses and writes nothing', async () => {
      const { store } = current();
      const before = testRecord({ id: 'gen', status: 'queued', enqueueGeneration: 3, attempts: 2 });
      await store.createTests([before]);
      const move = claimMove({ patch: { attempts: 3 } });

      const refusals = [
        { enqueueGeneration: 2 },
        { enqueueGeneration: 4 },
        { attempts: 1 },
        { attempts: 0 },
        { enqueueGeneration: 3, attempts: 3 },
        { enqueueGeneration: 2, attempts: 2 },
        { stage: ['testing' as const], enqueueGeneration: 3, attempts: 2 },
      ];
      for (const expected of refusals) {
        expect(await store.transition('gen', { ...move, expect: expected })).toEqual({
          ok: false,
          reason: 'unexpected_status',
          current: before,
        });
      }
      expect(await store.getTest('gen')).toEqual(before);

      const moved = await store.transition('gen', {
        ...move,
        expect: { stage: [null], enqueueGeneration: 3, attempts: 2 },
      });
      expect(moved).toMatchObject({ ok: true, test: { status: 'starting', attempts: 3 } });
      // The write moved attempts on: the same expectation is stale now.
      const again = await store.transition('gen', {
        ...move,
        from: ['starting'],
        expect: { attempts: 2 },
      });
      expect(again).toMatchObject({ ok: false, reason: 'unexpected_status' });
    });

    it('an expected enqueueGeneration of 0 is checked, not taken as absent', async () => {
      const { store } = current();
      const before = testRecord({ id: 'zero', status: 'queued', enqueueGeneration: 1 });
      await store.createTests([before]);

      const result = await store.transition(
        'zero',
        claimMove({ expect: { enqueueGeneration: 0 } }),
      );

      expect(result).toEqual({ ok: false, reason: 'unexpected_status', current: before });
      expect(await store.getTest('zero')).toEqual(before);
    });

    it('racing moves that expect the same enqueueGeneration: exactly one wins', async () => {
      const { store, peer } = current();
      await store.createTests([
        testRecord({ id: 'w', status: 'waiting', waitReason: 'build', enqueueGeneration: 1 }),
      ]);
      const handles = [store, store, peer(), peer()];

      const results = await Promise.all(
        handles.map((h, i) =>
          h.transition('w', {
            from: ['waiting', 'queued'],
            to: 'queued',
            at: at(1),
            message: `enqueued ${i}`,
            patch: { waitReason: null, enqueueGeneration: 2 },
            expect: { enqueueGeneration: 1 },
          }),
        ),
      );

      expect(results.filter((r) => r.ok)).toHaveLength(1);
      for (const r of results.filter((r) => !r.ok)) {
        expect(r).toMatchObject({ reason: 'unexpected_status', current: { enqueueGeneration: 2 } });
      }
      expect((await store.getTest('w'))!.timeline).toHaveLength(2);
    });

    it('never moves a terminal test again', async () => {
      const { store } = current();
      const terminal = TERMINAL_STATUSES.map((status) => testRecord({ id: `t-${status}`, status }));
      await store.createTests(terminal);

      const attempts = terminal.flatMap((test) =>
        TEST_STATUSES.map(async (to) => ({
          test,
          result: await store.transition(test.id, {
            from: TEST_STATUSES,
            to,
            at: at(5),
            message: 'again',
          }),
        })),
      );

      for (const { test, result } of await Promise.all(attempts)) {
        expect(result).toEqual({ ok: false, reason: 'terminal', current: test });
      }
      for (const test of terminal) expect(await store.getTest(test.id)).toEqual(test);
    });

    it(`keeps the newest ${TIMELINE_LIMIT} timeline entries`, async () => {
      const { store } = current();
      const seeded = Array.from({ length: TIMELINE_LIMIT - 1 }, (_, i) => ({
        at: at(0),
        status: 'waiting' as const,
        message: `seed ${i}`,
      }));
      await store.createTests([testRecord({ id: 't1', status: 'waiting', timeline: seeded })]);

      for (let i = 1; i <= 3; i++) {
        const move = {
          from: ['waiting'] as const,
          to: 'waiting' as const,
          at: at(i),
          message: `m${i}`,
        };
        expect((await store.transition('t1', move)).ok).toBe(true);
      }

      const { timeline } = (await store.getTest('t1'))!;
      expect(timeline).toHaveLength(TIMELINE_LIMIT);
      expect(timeline[0]).toEqual(seeded[2]);
      expect(timeline.slice(-3).map((e) => e.message)).toEqual(['m1', 'm2', 'm3']);
      expect(timeline.at(-1)).toEqual({ at: at(3), status: 'waiting', message: 'm3' });
    });

    it('20 racing claims of one test: exactly one wins, the others see it already moved', async () => {
      const { store } = current();
      await store.createTests([testRecord({ id: 't1' })]);

      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.transition('t1', claimMove({ message: `claim ${i}` })),
        ),
      );

      const winners = results.filter((r) => r.ok);
      expect(winners).toHaveLength(1);
      for (const r of results.filter((r) => !r.ok)) {
        expect(r).toMatchObject({
          ok: false,
          reason: 'unexpected_status',
          current: { status: 'starting' },
        });
      }
      const stored = (await store.getTest('t1'))!;
      expect(stored.status).toBe('starting');
      expect(stored.timeline.filter((e) => e.status === 'starting')).toHaveLength(1);
      expect(winners[0]!.ok && winners[0]!.test).toEqual(stored);
    });

    it('racing claims through separate handles: exactly one wins', async () => {
      const { store, peer } = current();
      await store.createTests([testRecord({ id: 't1' })]);
      const handles = [store, peer(), peer(), peer()];

      const results = await Promise.all(
        handles.map((h, i) => h.transition('t1', claimMove({ message: `claim ${i}` }))),
      );

      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok && r.reason === 'unexpected_status')).toHaveLength(3);
      expect((await store.getTest('t1'))!.timeline).toHaveLength(2);
    });
  });
}
