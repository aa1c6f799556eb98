// cancelTest / cancelTests on the in-memory store and on the Firestore emulator:
// one compare-and-set that ends the test, gives back its slot and records its
// VM's deletion, and stays consistent when the test moves under it.
import { LIVE_STATUSES } from '../../shared/domain/test';
import { cancelTest, cancelTests, CANCEL_ATTEMPTS } from '../../shared/tests/cancel';
import type { TestRecord } from '../../shared/domain/test';
import { createLogger } from '../../shared/log';
import type { TestStore } from '../../shared/store/port';
import { at, claimMove, ids, testRecord, useStore } from '../contracts/store/fixtures';
import { captureLog, storeKinds } from './stores';

const NOW = at(10);
const VM = { name: 'vmci-t1-1', zone: 'europe-west1-b', provisioning: 'STANDARD' } as const;

function depsFor(store: TestStore) {
  const log = captureLog();
  return { deps: { store, log: createLogger({ write: log.write }), now: () => NOW }, log };
}

function statusesOf(test: TestRecord | null): string[] {
  return test?.timeline.map((entry) => entry.status) ?? [];
}

describe.each(storeKinds('vmci-cancel'))('cancelTest ($name)', ({ make }) => {
  const current = useStore(make);

  it('cancels a queued test: status, message, finishedAt and a timeline entry, no slot, no VM', async () => {
    const { store } = current();
    const before = testRecord({ id: 't1', status: 'queued' });
    await store.createTests([before]);

    const result = await cancelTest(depsFor(store).deps, 't1', 'PR closed');

    const expected: TestRecord = {
      ...before,
      status: 'canceled',
      message: 'PR closed',
      finishedAt: NOW,
      updatedAt: NOW,
      // Its final status is checked a minute after the end, until GitHub shows it.
      statusCheckAt: new Date(NOW.getTime() + 60_000),
      timeline: [...before.timeline, { at: NOW, status: 'canceled', message: 'PR closed' }],
    };
    expect(result).toEqual({
      canceled: true,
      test: expected,
      vmDeletionRecorded: false,
      slotReleased: false,
    });
    expect(await store.getTest('t1')).toEqual(expected);
  });

  it('cancels a running test: releases its slot and records its VM deletion in the same move', async () => {
    const { store } = current();
    await store.createTests([
      testRecord({ id: 't1', status: 'running', stage: 'testing', instance: VM }),
    ]);
    await store.acquireSlot('linux', 't1', 2, at(1));
    await store.acquireSlot('linux', 'other', 2, at(1));
    const { deps, log } = depsFor(store);

    const result = await cancelTest(deps, 't1', 'Superseded by abcdef0');

    const stored = await store.getTest('t1');
    expect(result).toEqual({
      canceled: true,
      test: stored,
      vmDeletionRecorded: true,
      slotReleased: true,
    });
    expect(stored).toMatchObject({
      status: 'canceled',
      finishedAt: NOW,
      instance: VM,
      deletion: { name: VM.name, zone: VM.zone, requestedAt: NOW, attempts: 0, doneAt: null },
    });
    expect(await store.slotHolders('linux')).toEqual(['other']);
    expect(log.lines).toContainEqual(
      expect.objectContaining({
        message: 'Test canceled',
        statusMessage: 'Superseded by abcdef0',
        from: 'running',
        slotReleased: true,
        'logging.googleapis.com/labels': { testId: 't1' },
      }),
    );
  });

  it('releases a starting test’s slot; without a VM there is no deletion', async () => {
    const { store } = current();
    await store.createTests([testRecord({ id: 't1', status: 'starting' })]);
    await store.acquireSlot('linux', 't1', 1, at(1));

    const result = await cancelTest(depsFor(store).deps, 't1', 'PR closed');

    expect(result).toMatchObject({ canceled: true, vmDeletionRecorded: false });
    expect((await store.getTest('t1'))?.deletion).toBeNull();
    expect(await store.slotHolders('linux')).toEqual([]);
  });

  it('keeps a deletion already recorded for the same VM, with its attempts', async () => {
    const { store } = current();
    const deletion = {
      name: VM.name,
      zone: VM.zone,
      requestedAt: at(5),
      attempts: 2,
      doneAt: null,
      nextCheckAt: at(15),
    };
    await store.createTests([testRecord({ id: 't1', status: 'running', instance: VM, deletion })]);

    const result = await cancelTest(depsFor(store).deps, 't1', 'PR closed');

    expect(result).toMatchObject({ canceled: true, vmDeletionRecorded: true, test: { deletion } });
  });

  it('leaves a terminal test untouched', async () => {
    const { store } = current();
    const passed = testRecord({ id: 't1', status: 'passed', finishedAt: at(3), instance: VM });
    await store.createTests([passed]);

    const result = await cancelTest(depsFor(store).deps, 't1', 'PR closed');

    expect(result).toEqual({ canceled: false, reason: 'terminal', current: passed });
    expect(await store.getTest('t1')).toEqual(passed);
  });

  it('answers not_found for an unknown test', async () => {
    const { store } = current();

    expect(await cancelTest(depsFor(store).deps, 'nope', 'PR closed')).toEqual({
      canceled: false,
      reason: 'not_found',
    });
  });

  it('cancels only from the statuses asked for', async () => {
    const { store } = current();
    await store.createTests([testRecord({ id: 't1', status: 'running', instance: VM })]);
    const slot = await store.acquireSlot('linux', 't1', 1, at(1));
    // The test as stored with its slot: the slot's shard noted.
    const running = testRecord({ id: 't1', status: 'running', instance: VM, slotShard: 0 });
    expect(slot).toEqual({ acquired: true, alreadyHeld: false, shard: 0 });

    const result = await cancelTest(depsFor(store).deps, 't1', 'Superseded', { from: ['queued'] });

    expect(result).toEqual({ canceled: false, reason: 'unexpected_status', current: running });
    expect(await store.getTest('t1')).toEqual(running);
    expect(await store.slotHolders('linux')).toEqual(['t1']);
  });

  it('retries from the new status when a claim lands between its read and its write', async () => {
    const { store } = current();
    await store.createTests([testRecord({ id: 't1', status: 'queued' })]);
    // runTest claims the test (queued → starting, taking a slot) right after the cancel read it.
    const racing: TestStore = {
      ...store,
      getTest: async (id) => {
        const read = await store.getTest(id);
        await store.transition(id, claimMove({ slot: { op: 'acquire', maxConcurrent: 1 } }));
        return read;
      },
    };

    const result = await cancelTest(depsFor(racing).deps, 't1', 'PR closed');

    const stored = await store.getTest('t1');
    expect(result).toMatchObject({ canceled: true });
    expect(statusesOf(stored)).toEqual(['queued', 'starting', 'canceled']);
    expect(await store.slotHolders('linux')).toEqual([]);
  });

  it('racing a claim from another instance ends canceled, never holding a slot', async () => {
    const { store, peer } = current();
    await store.createTests([testRecord({ id: 't1', status: 'queued' })]);

    const [claim, cancel] = await Promise.all([
      peer().transition('t1', claimMove({ slot: { op: 'acquire', maxConcurrent: 1 } })),
      cancelTest(depsFor(store).deps, 't1', 'PR closed'),
    ]);

    const stored = await store.getTest('t1');
    expect(cancel).toMatchObject({ canceled: true });
    expect(stored?.status).toBe('canceled');
    expect(await store.slotHolders('linux')).toEqual([]);
    // Exactly one story: started then canceled, or canceled before the claim.
    if (claim.ok) expect(statusesOf(stored)).toEqual(['queued', 'starting', 'canceled']);
    else expect(statusesOf(stored)).toEqual(['queued', 'canceled']);
  });

  it('gives up after a bounded number of lost races, leaving the test live', async () => {
    const { store } = current();
    await store.createTests([testRecord({ id: 't1', status: 'pending' })]);
    let cancelWrites = 0;
    // Before each cancel write, the test moves on (pending ↔ waiting), so every write loses.
    const restless: TestStore = {
      ...store,
      transition: async (id, move) => {
        cancelWrites += 1;
        const test = await store.getTest(id);
        const next = test?.status === 'pending' ? 'waiting' : 'pending';
        await store.transition(id, { from: LIVE_STATUSES, to: next, at: at(2), message: next });
        return store.transition(id, move);
      },
    };

    const result = await cancelTest(depsFor(restless).deps, 't1', 'PR closed');

    expect(result).toMatchObject({ canceled: false, reason: 'unexpected_status' });
    expect(cancelWrites).toBe(CANCEL_ATTEMPTS);
    expect((await store.getTest('t1'))?.status).not.toBe('canceled');
  });
});

describe.each(storeKinds('vmci-cancel-pr'))('cancelTests ($name)', ({ make }) => {
  const current = useStore(make);
  const SHA_OLD = 'a'.repeat(40);
  const SHA_NEW = 'b'.repeat(40);
  const pr = (id: string, overrides: Partial<TestRecord>) =>
    testRecord({ id, trigger: 'pull_request', pr: 7, ...overrides });

  async function seed(store: TestStore): Promise<void> {
    await store.createTests([
      pr('old-linux', { sha: SHA_OLD, status: 'queued' }),
      pr('old-windows', { sha: SHA_OLD, platform: 'windows', status: 'pending' }),
      pr('old-running', { sha: SHA_OLD, status: 'running', instance: VM }),
      pr('old-passed', { sha: SHA_OLD, status: 'passed' }),
      pr('new-linux', { sha: SHA_NEW, status: 'queued' }),
      pr('other-pr', { sha: SHA_OLD, status: 'queued', pr: 8 }),
      testRecord({ id: 'other-repo', repo: 'o/r', trigger: 'pull_request', pr: 7 }),
    ]);
    await store.acquireSlot('linux', 'old-running', 2, at(1));
  }

  async function statusById(store: TestStore): Promise<Record<string, string>> {
    const all = await Promise.all(
      [
        'old-linux',
        'old-windows',
        'old-running',
        'old-passed',
        'new-linux',
        'other-pr',
        'other-repo',
      ].map((id) => store.getTest(id)),
    );
    return Object.fromEntries(all.map((t) => [t?.id, t?.status]));
  }

  it('supersedes: only the listed statuses, never the new head commit', async () => {
    const { store } = current();
    await seed(store);
    const { repo } = testRecord({ id: 'x' });

    const entries = await cancelTests(depsFor(store).deps, {
      repo,
      pr: 7,
      statuses: ['queued', 'pending'],
      exceptSha: SHA_NEW,
      message: 'Superseded by bbbbbbb',
    });

    expect(ids(entries.map((e) => ({ id: e.testId }))).sort()).toEqual([
      'old-linux',
      'old-windows',
    ]);
    expect(entries.every((e) => 'result' in e && e.result.canceled)).toBe(true);
    expect(await statusById(store)).toEqual({
      'old-linux': 'canceled',
      'old-windows': 'canceled',
      'old-running': 'running',
      'old-passed': 'passed',
      'new-linux': 'queued',
      'other-pr': 'queued',
      'other-repo': 'queued',
    });
    expect(await store.slotHolders('linux')).toEqual(['old-running']);
  });

  it('cancels from the records it listed: no second read per test (the webhook stays light)', async () => {
    const { store } = current();
    await seed(store);
    let reads = 0;
    const counting: TestStore = {
      ...store,
      getTest: (id) => {
        reads += 1;
        return store.getTest(id);
      },
    };

    const entries = await cancelTests(depsFor(counting).deps, {
      repo: testRecord({ id: 'x' }).repo,
      pr: 7,
      statuses: LIVE_STATUSES,
      message: 'PR closed',
    });

    expect(entries.every((e) => 'result' in e && e.result.canceled)).toBe(true);
    expect(reads).toBe(0);
  });

  it('a listed record that went stale meanwhile costs a retry, not the cancel', async () => {
    const { store } = current();
    await seed(store);
    const listed = (await store.getTest('old-linux'))!;
    const claimed = await store.transition(
      'old-linux',
      claimMove({ at: at(2), slot: { op: 'acquire', maxConcurrent: 5 } }),
    );
    expect(claimed.ok).toBe(true);

    const result = await cancelTest(depsFor(store).deps, 'old-linux', 'PR closed', {
      read: listed,
    });

    expect(result).toMatchObject({ canceled: true, slotReleased: true });
    expect(await store.slotHolders('linux')).toEqual(['old-running']);
  });

  it('closes a PR: every live test canceled, running VMs marked for deletion, slots freed', async () => {
    const { store } = current();
    await seed(store);

    const entries = await cancelTests(depsFor(store).deps, {
      repo: testRecord({ id: 'x' }).repo,
      pr: 7,
      statuses: LIVE_STATUSES,
      message: 'PR closed',
    });

    expect(entries).toHaveLength(4);
    expect(await statusById(store)).toMatchObject({
      'old-linux': 'canceled',
      'old-windows': 'canceled',
      'old-running': 'canceled',
      'old-passed': 'passed',
      'new-linux': 'canceled',
      'other-pr': 'queued',
    });
    expect((await store.getTest('old-running'))?.deletion).toMatchObject({ name: VM.name });
    expect(await store.slotHolders('linux')).toEqual([]);
  });

  it('goes on when one cancel fails, and logs the failure', async () => {
    const { store } = current();
    await seed(store);
    const flaky: TestStore = {
      ...store,
      transition: async (id, move) => {
        if (id === 'old-linux') throw new Error('DEADLINE_EXCEEDED talking to Firestore');
        return store.transition(id, move);
      },
    };
    const { deps, log } = depsFor(flaky);

    const entries = await cancelTests(deps, {
      repo: testRecord({ id: 'x' }).repo,
      pr: 7,
      statuses: ['queued', 'pending'],
      exceptSha: SHA_NEW,
      message: 'Superseded by bbbbbbb',
    });

    const failed = entries.find((e) => e.testId === 'old-linux');
    expect(failed && 'error' in failed && failed.error.message).toMatch(/DEADLINE_EXCEEDED/);
    expect((await store.getTest('old-windows'))?.status).toBe('canceled');
    expect((await store.getTest('old-linux'))?.status).toBe('queued');
    expect(log.lines).toContainEqual(
      expect.objectContaining({
        severity: 'ERROR',
        message: 'Cancel failed',
        'logging.googleapis.com/labels': { testId: 'old-linux' },
      }),
    );
  });
});
