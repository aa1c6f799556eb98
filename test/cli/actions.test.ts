// vmci cancel, rerun and maintenance against the whole local cloud: a signed
// webhook makes the tests, the Tasks stand-in dispatches them to runTest,
// which makes their VMs on the Compute stand-in; the sweeps run only when a
// test asks (sweeps-support pauses their schedule).
import { platformInMaintenance } from '../../shared/domain/messages';
import { testId, taskId } from '../../shared/domain/naming';
import type { TestRecord } from '../../shared/domain/test';
import { runSweep, useSweepCloud } from '../functions/sweeps-support';
import {
  idOf,
  idsOf,
  latestStatuses,
  PR_NUMBER,
  pullRequestPayload,
  pushPayload,
  REPO,
  send,
  shaOf,
} from '../functions/webhook-support';
import { OPERATOR, useCli, waitFor } from './cli-support';

jest.setTimeout(120_000);

const h = useSweepCloud();
const vmci = useCli(h);

const CANCELED = `Canceled by an operator (${OPERATOR})`;

async function push(label: string): Promise<string> {
  const sha = shaOf(label);
  const answer = await send(h.cloud, 'push', pushPayload(sha));
  expect(answer.status).toBe(202);
  return sha;
}

function testIn(id: string, done: (test: TestRecord) => boolean): Promise<TestRecord> {
  return waitFor(`test ${id}`, async () => {
    const test = await h.store.getTest(id);
    return test && done(test) ? test : undefined;
  });
}

const running = (test: TestRecord) => test.status === 'running';

describe('vmci cancel', () => {
  it('a running test: its VM deleted through the queue, an error status with the operator’s line', async () => {
    const sha = await push('cli-cancel-running');
    const id = idOf(sha, 'linux');
    const before = await testIn(id, running);
    const vm = before.instance!.name;
    expect(h.cloud.compute.instances().map((i) => i.name)).toContain(vm);

    const { code, out, err } = await vmci('cancel', id);

    expect({ code, err }).toEqual({ code: 0, err: [] });
    expect(out).toEqual([`canceled ${id} (was running; VM ${vm} is being deleted)`]);
    const after = (await h.store.getTest(id))!;
    expect(after).toMatchObject({ status: 'canceled', message: CANCELED });
    expect(await h.store.slotHolders('linux')).not.toContain(id);
    await waitFor('the VM to be deleted', async () =>
      h.cloud.compute.instances().some((i) => i.name === vm) ? undefined : true,
    );
    const deletions = h.cloud.compute.calls().filter((c) => c.method === 'delete');
    expect(deletions.map((c) => c.name)).toEqual([vm]);
    // Deleted by runTest, through the test's next task (its answer recorded once it is done).
    await waitFor('the teardown task', async () =>
      h.cloud.tasks.history().some((r) => r.taskId.includes(id) && r.taskId.endsWith('-g2'))
        ? true
        : undefined,
    );
    const linux = Object.values(latestStatuses(h.cloud, sha)).find((s) =>
      s.context.includes('linux'),
    );
    expect(linux).toMatchObject({ state: 'error', description: CANCELED });

    // Once over, there is nothing to cancel.
    expect(await vmci('cancel', id)).toEqual({
      code: 1,
      out: [],
      err: [`vmci cancel: Test ${id} has already ended (canceled): nothing to cancel`],
    });
  });

  it('--pr: every live test of the PR, with progress on stderr', async () => {
    const sha = shaOf('cli-cancel-pr');
    const opened = await send(
      h.cloud,
      'pull_request',
      pullRequestPayload('opened', sha, { association: 'MEMBER' }),
    );
    expect(opened.status).toBe(202);
    const ids = idsOf(sha, 'pull_request', PR_NUMBER);
    await Promise.all(ids.map((id) => testIn(id, (t) => t.status !== 'pending')));

    const { code, out, err } = await vmci('cancel', '--pr', String(PR_NUMBER), '--repo', REPO);

    expect(code).toBe(0);
    expect(out.map((line) => line.split(' ')[1]).sort()).toEqual([...ids].sort());
    expect(err[0]).toBe('canceling 2 tests…');
    expect(err.at(-1)).toBe('canceling 2 tests… 2/2');
    for (const id of ids) {
      expect(await h.store.getTest(id)).toMatchObject({ status: 'canceled', message: CANCELED });
    }
    await waitFor('no VM left', async () =>
      h.cloud.compute.instances().length === 0 ? true : undefined,
    );
    expect(await vmci('cancel', '--pr', String(PR_NUMBER), '--repo', REPO)).toEqual({
      code: 0,
      out: [`no live tests of PR #${PR_NUMBER} in ${REPO}: nothing to cancel`],
      err: [],
    });
  });
});

describe('vmci rerun', () => {
  it('a canceled test: run 2, one task, started as the webhook starts tests', async () => {
    const sha = await push('cli-rerun');
    const id = idOf(sha, 'linux');
    await testIn(id, running);
    expect((await vmci('cancel', id)).code).toBe(0);
    const run2 = testId({ repo: REPO, sha, platform: 'linux', trigger: 'push', pr: null, run: 2 });

    const { code, out, err } = await vmci('rerun', id);

    expect({ code, err }).toEqual({ code: 0, err: [] });
    expect(out).toEqual([expect.stringMatching(new RegExp(`^${id} → ${run2} \\(run 2\\): `))]);
    const started = await testIn(run2, running);
    expect(started).toMatchObject({ run: 2, sha, platform: 'linux', trigger: 'push', attempts: 1 });
    // One task for it, and one VM: its own.
    const names = new Set([
      ...h.cloud.tasks.history().map((r) => r.task),
      ...h.cloud.tasks.tasks().map((t) => t.name),
    ]);
    const itsTasks = [...names].filter((name) => name.includes(run2));
    expect(itsTasks).toEqual([expect.stringContaining(taskId(run2, 1))]);
    const vms = h.cloud.compute.instances().filter((i) => i.name === started.instance!.name);
    expect(vms).toHaveLength(1);

    // While run 2 lives, run 1 is not run again.
    const again = await vmci('rerun', id);
    expect(again.code).toBe(1);
    expect(again.err).toEqual([
      `vmci rerun: ${run2} (run 2) is still running: cancel it first (\`vmci cancel ${run2}\`)`,
    ]);
    expect((await vmci('cancel', run2)).code).toBe(0);
    await waitFor('no VM left', async () =>
      h.cloud.compute.instances().length === 0 ? true : undefined,
    );
  });
});

describe('vmci maintenance', () => {
  it('on: a new push’s linux test waits; off: the pending sweep starts it', async () => {
    const on = await vmci('maintenance', 'linux', 'on');

    expect(on).toEqual({
      code: 0,
      out: ['linux is in maintenance: new tests wait; 0 running tests finish'],
      err: [],
    });
    expect(await h.store.listPlatformSwitches()).toEqual([
      { platform: 'linux', maintenance: true, by: OPERATOR, at: expect.any(Date) },
    ]);

    const sha = await push('cli-maintenance');
    const linux = idOf(sha, 'linux');
    expect(await h.store.getTest(linux)).toMatchObject({
      status: 'waiting',
      waitReason: 'maintenance',
      message: platformInMaintenance('linux'),
    });
    await testIn(idOf(sha, 'windows'), running);
    const queue = JSON.parse((await vmci('queue', '--json')).out.join('\n')) as {
      platforms: { platform: string; maintenance: boolean; counts: Record<string, number> }[];
    };
    expect(queue.platforms).toEqual([
      expect.objectContaining({
        platform: 'linux',
        maintenance: true,
        counts: expect.objectContaining({ waiting: 1 }),
      }),
      expect.objectContaining({
        platform: 'windows',
        maintenance: false,
        counts: expect.objectContaining({ running: 1 }),
      }),
    ]);

    const off = await vmci('maintenance', 'linux', 'off');

    expect(off).toEqual({
      code: 0,
      out: ['linux is back: 1 waiting test starts within a minute (sweepPending)'],
      err: [],
    });
    expect(await h.store.getTest(linux)).toMatchObject({ status: 'waiting' });
    await runSweep(h, 'sweepPending');
    await testIn(linux, running);

    for (const id of idsOf(sha)) expect((await vmci('cancel', id)).code).toBe(0);
    await waitFor('no VM left', async () =>
      h.cloud.compute.instances().length === 0 ? true : undefined,
    );
  });
});
