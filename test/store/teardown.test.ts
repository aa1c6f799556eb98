// teardownTestVm on the real stores: the back-off it records, and the claim
// (recordDeletion's compare-and-set on attempts) that lets racing sweeps make
// one Compute call per attempt.
import type { DeleteVmResult, VmProvisioner } from '../../shared/compute/port';
import type { TestRecord, VmDeletion } from '../../shared/domain/test';
import { classifyGcpError } from '../../shared/gcp/errors';
import { silentLogger } from '../../shared/log';
import type { TestStore } from '../../shared/store/port';
import { endMove, TEARDOWN_FIRST_MS } from '../../shared/tests/end-move';
import {
  deletionBackoffMs,
  teardownTestVm,
  type TeardownDeps,
  type TeardownOutcome,
} from '../../shared/tests/teardown';
import { at, testRecord } from '../contracts/store/fixtures';
import { storeKinds } from '../tests/stores';

const MINUTE = 60_000;

describe('deletionBackoffMs', () => {
  it('doubles from the base per attempt, up to 30 minutes', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => deletionBackoffMs(n, MINUTE))).toEqual(
      [1, 2, 4, 8, 16, 30].map((m) => m * MINUTE),
    );
    expect(deletionBackoffMs(1_000_000, MINUTE)).toBe(30 * MINUTE);
    expect(deletionBackoffMs(3, 1000)).toBe(4000);
    expect(deletionBackoffMs(2000, 0)).toBe(0);
  });

  it('refuses attempts below 1 or not whole', () => {
    expect(() => deletionBackoffMs(0, MINUTE)).toThrow(RangeError);
    expect(() => deletionBackoffMs(1.5, MINUTE)).toThrow(RangeError);
  });
});

/** A provisioner that only deletes: each call answers the next scripted result (default: gone). */
function deletingVms(results: DeleteVmResult[] = []) {
  const calls: string[] = [];
  const vms: VmProvisioner = {
    createVm: () => Promise.reject(new Error('not used')),
    getVm: () => Promise.reject(new Error('not used')),
    listVms: () => Promise.reject(new Error('not used')),
    async deleteVm(name) {
      calls.push(name);
      // A round trip, so that racing teardowns overlap.
      await new Promise((resolve) => setTimeout(resolve, 20));
      return results.shift() ?? { ok: true, gone: true };
    },
  };
  return { vms, calls };
}

const NOW = at(10);
const requested: VmDeletion = {
  name: 'vmci-linux-x-1',
  zone: 'local-a',
  requestedAt: at(0),
  attempts: 2,
  doneAt: null,
  nextCheckAt: at(0),
};

describe.each(storeKinds('vmci-teardown'))('teardownTestVm ($name)', ({ make }) => {
  let store: TestStore;
  let peer: () => TestStore;
  beforeEach(async () => {
    ({ store, peer } = await make());
  });

  const deps = (vms: VmProvisioner, on: TestStore = store): TeardownDeps => ({
    store: on,
    vms,
    log: silentLogger,
    now: () => NOW,
  });
  const ended = async (deletion: VmDeletion | null = requested): Promise<TestRecord> => {
    const test = testRecord({ id: 't1', status: 'canceled', deletion });
    await store.createTests([test]);
    return test;
  };

  it('an ended test’s new deletion is due for the sweep once the teardown task had its turn', async () => {
    const instance = { name: 'vmci-linux-x-1', zone: 'local-a', provisioning: 'SPOT' as const };
    const running = testRecord({ id: 't1', status: 'running', instance });
    await store.createTests([running]);

    const ended = await store.transition('t1', endMove(running, 'canceled', 'PR closed', at(3)));

    expect(ended.ok && ended.test.deletion).toEqual({
      name: instance.name,
      zone: instance.zone,
      requestedAt: at(3),
      attempts: 0,
      doneAt: null,
      nextCheckAt: new Date(at(3).getTime() + TEARDOWN_FIRST_MS),
    });
    expect(await store.listDueDeletions(new Date(at(3).getTime() + TEARDOWN_FIRST_MS), 10)).toEqual(
      [],
    );
    expect(
      (await store.listDueDeletions(new Date(at(3).getTime() + TEARDOWN_FIRST_MS + 1), 10)).map(
        (t) => t.id,
      ),
    ).toEqual(['t1']);
  });

  it('without a claim: a VM gone is done with no next check', async () => {
    const test = await ended();
    const { vms, calls } = deletingVms();

    const outcome = await teardownTestVm(deps(vms), test, { budgetMs: 1000 });

    const done = { ...requested, attempts: 3, doneAt: NOW, nextCheckAt: null };
    expect(outcome).toEqual({ outcome: 'gone', deletion: done });
    expect(calls).toEqual([requested.name]);
    expect((await store.getTest('t1'))?.deletion).toEqual(done);
  });

  it('without a claim: an unfinished or failed deletion is checked again after the back-off', async () => {
    const test = await ended();
    const error = classifyGcpError({ errors: [{ code: 'RATE_LIMIT_EXCEEDED' }] });
    const { vms } = deletingVms([
      { ok: true, gone: false },
      { ok: false, error },
    ]);

    const deleting = await teardownTestVm(deps(vms), test, { budgetMs: 1000 });
    const next = (await store.getTest('t1'))!;
    const failed = await teardownTestVm(deps(vms), next, { budgetMs: 1000, backoffBaseMs: 1000 });

    expect(deleting).toMatchObject({ outcome: 'deleting' });
    expect(next.deletion).toEqual({
      ...requested,
      attempts: 3,
      doneAt: null,
      nextCheckAt: new Date(NOW.getTime() + 4 * MINUTE),
    });
    expect(failed).toMatchObject({ outcome: 'failed', error });
    expect((await store.getTest('t1'))?.deletion).toEqual({
      ...requested,
      attempts: 4,
      doneAt: null,
      nextCheckAt: new Date(NOW.getTime() + 8 * 1000),
    });
  });

  it('a claim at the attempts read deletes the VM and records the outcome', async () => {
    const test = await ended();
    const { vms, calls } = deletingVms([{ ok: true, gone: false }]);

    const deleting = await teardownTestVm(deps(vms), test, { budgetMs: 1000, expectAttempts: 2 });
    const after = (await store.getTest('t1'))!;
    const gone = await teardownTestVm(deps(vms), after, { budgetMs: 1000, expectAttempts: 3 });

    expect(deleting).toMatchObject({ outcome: 'deleting', deletion: { attempts: 3 } });
    expect(after.deletion).toEqual({
      ...requested,
      attempts: 3,
      nextCheckAt: new Date(NOW.getTime() + 4 * MINUTE),
    });
    expect(gone).toMatchObject({ outcome: 'gone' });
    expect(calls).toHaveLength(2);
    expect((await store.getTest('t1'))?.deletion).toEqual({
      ...requested,
      attempts: 4,
      doneAt: NOW,
      nextCheckAt: null,
    });
  });

  it('a stale claim calls no Compute and changes nothing', async () => {
    const test = await ended();
    const { vms, calls } = deletingVms();

    const outcome = await teardownTestVm(deps(vms), test, { budgetMs: 1000, expectAttempts: 1 });

    expect(outcome).toEqual<TeardownOutcome>({ outcome: 'claimed_elsewhere' });
    expect(calls).toEqual([]);
    expect(await store.getTest('t1')).toEqual(test);
  });

  it('racing claims of one attempt, through separate handles: one Compute call', async () => {
    const test = await ended();
    const { vms, calls } = deletingVms();
    const handles = [store, store, peer(), peer()];

    const outcomes = await Promise.all(
      handles.map((h) => teardownTestVm(deps(vms, h), test, { budgetMs: 1000, expectAttempts: 2 })),
    );

    expect(calls).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'gone')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'claimed_elsewhere')).toHaveLength(3);
    expect((await store.getTest('t1'))?.deletion).toMatchObject({ attempts: 3, doneAt: NOW });
  });

  it('nothing to do without a deletion, or with one done', async () => {
    const { vms, calls } = deletingVms();
    const none = testRecord({ id: 'none', status: 'canceled' });
    const done = testRecord({
      id: 'done',
      status: 'canceled',
      deletion: { ...requested, doneAt: at(1), nextCheckAt: null },
    });
    await store.createTests([none, done]);

    for (const test of [none, done]) {
      expect(await teardownTestVm(deps(vms), test, { budgetMs: 1000, expectAttempts: 2 })).toEqual({
        outcome: 'nothing',
      });
    }
    expect(calls).toEqual([]);
  });
});
