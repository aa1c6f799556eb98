// Build gates that cannot hang (issue 14, item 1): a build that finished
// before its tests existed, or before they were approved, counts; a build
// nobody told vm-ci about is asked of GitHub once. Through handleWebhookEvent
// on in-memory doubles (windows is built by build.yml, linux is not).
import {
  BUILD_WORKFLOW_FAILED,
  TESTS_QUEUED,
  WAITING_FOR_APPROVAL,
  WAITING_FOR_BUILD,
} from '../../shared/domain/messages';
import { handleWebhookEvent } from '../../shared/webhook/handle-event';
import { eventOf, example, REPO } from './fixtures';
import { harness, holdCreates, PR, prEvent, shown, taskIds, type Harness } from './harness';

const A = 'a'.repeat(40);
const LABEL = 'safe to test';
let deliveries = 0;

const pushOf = (sha: string) =>
  eventOf(
    'push',
    example('push', undefined, ['ref', 'refs/heads/main'], ['after', sha], ['head_commit.id', sha]),
    `push-${++deliveries}`,
  );

const runOf = (sha: string, conclusion: string, id = 501) =>
  eventOf(
    'workflow_run',
    example(
      'workflow_run',
      'completed',
      ['repository.full_name', REPO],
      ['workflow_run.id', id],
      ['workflow_run.head_sha', sha],
      ['workflow_run.path', '.github/workflows/build.yml'],
      ['workflow_run.conclusion', conclusion],
    ),
    `run-${++deliveries}`,
  );

const approve = (sha: string) =>
  prEvent('labeled', sha, { label: LABEL, labels: [LABEL], sender: 'maintainer' });

async function handle(h: Harness, event: ReturnType<typeof pushOf>) {
  return handleWebhookEvent(h.deps, event);
}

const queued = { status: 'queued', waitReason: null, message: TESTS_QUEUED };
const waitsForBuild = { status: 'waiting', waitReason: 'build', message: WAITING_FOR_BUILD };
const buildFailed = { status: 'failed', waitReason: null, message: BUILD_WORKFLOW_FAILED };

/** The push tests of `sha`, shown by platform. */
async function pushTests(h: Harness, sha: string) {
  const tests = await h.store.listBySha(REPO, sha);
  return Object.fromEntries(
    tests
      .filter((t) => t.trigger === 'push')
      .map((t) => [t.platform, { status: t.status, waitReason: t.waitReason, message: t.message }]),
  );
}

describe('a build that finished before its tests existed', () => {
  it('succeeded: the push’s built platform runs at once, and GitHub is not asked', async () => {
    const h = harness();
    await handle(h, runOf(A, 'success'));

    const answer = await handle(h, pushOf(A));

    expect(answer.status).toBe(202);
    expect(await pushTests(h, A)).toEqual({ linux: queued, windows: queued });
    expect(taskIds(h)).toHaveLength(2);
    expect(h.github.calls()).toEqual([]);
  });

  it('failed: only the built platform fails; the other runs', async () => {
    const h = harness();
    await handle(h, runOf(A, 'failure'));

    await handle(h, pushOf(A));

    expect(await pushTests(h, A)).toEqual({ linux: queued, windows: buildFailed });
    expect(h.statuses.statuses(REPO, A).map((s) => [s.context, s.state])).toContainEqual([
      'ci/windows',
      'failure',
    ]);
  });

  it('a later failed run of the same commit does not undo a success', async () => {
    const h = harness();
    await handle(h, runOf(A, 'success', 601));
    await handle(h, runOf(A, 'cancelled', 602));

    await handle(h, pushOf(A));

    expect((await pushTests(h, A)).windows).toEqual(queued);
  });
});

describe('a build that finished before its tests were approved', () => {
  it('succeeded: the approval releases the built platform straight to the queue', async () => {
    const h = harness();
    h.github.setRole(REPO, 'maintainer', 'write');
    await handle(h, prEvent('opened', A));
    await handle(h, runOf(A, 'success'));
    // Still waiting for approval: the build alone runs nothing of a stranger's.
    expect((await shown(h, A)).windows).toEqual({
      status: 'waiting',
      waitReason: 'approval',
      message: WAITING_FOR_APPROVAL,
    });

    await handle(h, approve(A));

    expect(await shown(h, A)).toEqual({ linux: queued, windows: queued });
  });

  it('failed: the built platform fails at once instead of waiting for an approval in vain', async () => {
    const h = harness();
    await handle(h, prEvent('opened', A));

    await handle(h, runOf(A, 'failure'));

    expect((await shown(h, A)).windows).toEqual(buildFailed);
    expect((await shown(h, A)).linux?.waitReason).toBe('approval');
  });
});

describe('a build nobody told vm-ci about', () => {
  it('is asked of GitHub once: a completed success releases the test', async () => {
    const h = harness();
    h.github.addWorkflowRun(REPO, 'build.yml', A, {
      id: 9,
      attempt: 1,
      status: 'completed',
      conclusion: 'success',
    });

    await handle(h, pushOf(A));

    expect(await pushTests(h, A)).toEqual({ linux: queued, windows: queued });
    expect(h.github.calls()).toEqual([
      { kind: 'workflowRuns', repo: REPO, subject: `build.yml@${A}` },
    ]);
    expect(await h.store.getBuild(REPO, A, 'build.yml')).toMatchObject({
      outcome: 'success',
      runId: 9,
      source: 'api',
    });
  });

  it('a run still going: the test waits, and the run’s completion releases it', async () => {
    const h = harness();
    h.github.addWorkflowRun(REPO, 'build.yml', A, {
      id: 9,
      attempt: 1,
      status: 'in_progress',
      conclusion: null,
    });
    await handle(h, pushOf(A));
    expect((await pushTests(h, A)).windows).toEqual(waitsForBuild);

    await handle(h, runOf(A, 'success', 9));

    expect((await pushTests(h, A)).windows).toEqual(queued);
  });

  it('GitHub cannot answer: the test keeps waiting and the event is still handled', async () => {
    const h = harness();
    h.github.failNext(10, { retriable: true, httpStatus: 502, detail: 'HTTP 502' });

    const answer = await handle(h, pushOf(A));

    expect(answer.status).toBe(202);
    expect(await pushTests(h, A)).toEqual({ linux: queued, windows: waitsForBuild });
    expect(h.capture.entries.some((e) => /could not list the build/.test(e.message))).toBe(true);
  });
});

it('a push and its build’s completion racing: the test is released and queued exactly once', async () => {
  const h = harness();
  const hold = holdCreates(h);
  const push = handle(h, pushOf(A));
  await hold.reached;
  // The build completes while the push's tests are being written.
  await handle(h, runOf(A, 'success'));
  hold.release();
  await push;

  expect(await pushTests(h, A)).toEqual({ linux: queued, windows: queued });
  expect(taskIds(h).filter((id) => id.includes('windows'))).toHaveLength(1);
});

it('a PR’s tests of the head commit: PR number kept in scope', async () => {
  const h = harness();
  await handle(h, runOf(A, 'success'));
  await handle(h, prEvent('opened', A, { association: 'MEMBER' }));
  const tests = await h.store.listBySha(REPO, A);
  expect(tests.map((t) => [t.platform, t.pr, t.status])).toEqual([
    ['linux', PR, 'queued'],
    ['windows', PR, 'queued'],
  ]);
});

it('what may run is queued while GitHub is still asked about the build', async () => {
  const h = harness();
  let answer!: () => void;
  const asked = new Promise<void>((resolve) => (answer = resolve));
  const github = h.deps.github;
  h.deps.github = {
    ...github,
    workflowRuns: async (...args) => {
      await asked;
      return github.workflowRuns(...args);
    },
  };

  const push = handle(h, pushOf(A));
  // linux has no build: its task is made before GitHub answers about windows' build.
  for (let i = 0; i < 100 && taskIds(h).length === 0; i++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  expect(taskIds(h).map((id) => id.includes('linux'))).toEqual([true]);
  answer();
  await push;

  expect(await pushTests(h, A)).toEqual({ linux: queued, windows: waitsForBuild });
});
