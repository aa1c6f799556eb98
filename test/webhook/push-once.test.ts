// A push only creates tests: its tests and its delivery's answer go to the
// store in one transaction, which also finds a repeat (same delivery id) or a
// replay (same bytes, new id) by their records, so nothing is read before it.
import { handleWebhookEvent } from '../../shared/webhook/handle-event';
import type { TestStore } from '../../shared/store/port';
import { harness, taskIds, type Harness } from './harness';
import { eventOf, example, REPO } from './fixtures';

const SHA = 'a'.repeat(40);
const push = (delivery: string) =>
  eventOf(
    'push',
    example('push', undefined, ['ref', 'refs/heads/main'], ['after', SHA], ['head_commit.id', SHA]),
    delivery,
  );

/** Counts the store's calls by method. */
function countCalls(h: Harness): Map<string, number> {
  const calls = new Map<string, number>();
  const store = h.deps.store;
  h.deps.store = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.set(String(name), (calls.get(String(name)) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as TestStore;
  return calls;
}

describe('a push: its tests and its answer in one write', () => {
  it('one store call writes the tests, stored queued, and both delivery records; then the tasks', async () => {
    const h = harness();
    const calls = countCalls(h);

    const answer = await handleWebhookEvent(h.deps, push('d-1'), { bodyDigest: 'f'.repeat(64) });

    expect(answer.status).toBe(202);
    // No delivery read or write of its own, no second write of a test.
    expect(calls.get('createTestsForDelivery')).toBe(1);
    for (const method of ['getDelivery', 'recordDelivery', 'createTests', 'transition']) {
      expect([method, calls.get(method)]).toEqual([method, undefined]);
    }
    const [linux, windows] = await h.store.listBySha(REPO, SHA);
    expect(linux).toMatchObject({ platform: 'linux', status: 'queued', githubStatus: null });
    // windows waits for its build: shown on GitHub now, as no task will post for it.
    expect(windows).toMatchObject({ platform: 'windows', status: 'waiting', waitReason: 'build' });
    expect(taskIds(h)).toEqual([linux!.id]);
    expect((await h.store.getDelivery('d-1'))?.response).toEqual(answer);
    expect((await h.store.getDelivery(`sha256_${'f'.repeat(64)}`))?.response).toEqual(answer);
    expect(h.statuses.posts().map((p) => [p.context, p.description])).toEqual([
      ['ci/windows', windows!.message],
    ]);
  });

  it('a repeat and a replay answer as the first did and change nothing', async () => {
    const h = harness();
    const first = await handleWebhookEvent(h.deps, push('d-1'), { bodyDigest: 'f'.repeat(64) });
    const tasks = taskIds(h);

    const repeat = await handleWebhookEvent(h.deps, push('d-1'), { bodyDigest: 'e'.repeat(64) });
    const replay = await handleWebhookEvent(h.deps, push('d-2'), { bodyDigest: 'f'.repeat(64) });

    expect(repeat).toEqual(first);
    expect(replay).toEqual(first);
    expect(taskIds(h)).toEqual(tasks);
    expect(await h.store.getDelivery('d-2')).toBeNull();
  });

  it('the same push in other bytes under a new id: the same tests, no second task', async () => {
    const h = harness();
    await handleWebhookEvent(h.deps, push('d-1'), { bodyDigest: 'f'.repeat(64) });
    const tasks = taskIds(h);

    const again = await handleWebhookEvent(h.deps, push('d-3'), { bodyDigest: 'd'.repeat(64) });

    expect(again.status).toBe(202);
    expect(again.body.tests).toHaveLength(2);
    expect(taskIds(h)).toEqual(tasks);
  });

  it('a queue that fails: the test goes back to pending for the sweep, and the answer says so', async () => {
    const h = harness();
    h.queue.failNext(1, { retriable: true, code: 'UNAVAILABLE' });

    const answer = await handleWebhookEvent(h.deps, push('d-1'));

    const [linux] = await h.store.listBySha(REPO, SHA);
    expect(linux).toMatchObject({ status: 'pending', enqueueGeneration: 1 });
    expect(answer.body.notQueued).toEqual([linux!.id]);
    // Its status shows it waits (no task will post one).
    expect(
      h.statuses
        .posts()
        .filter((p) => p.context === 'ci/linux')
        .map((p) => p.description),
    ).toEqual([linux!.message]);
  });
});
