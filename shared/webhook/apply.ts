// Carries out a handled webhook's plan: store the new tests in one atomic
// write (those that may run already queued), record an approval, cancel what
// the event supersedes (tests of older heads only: order.ts), move waiting
// tests on, create the tasks, and show the other changes on GitHub. Nothing
// is enqueued before the supersede, so a head that turns out to be older
// never starts. A test this queues gets its first status from runTest's claim
// ("Starting a VM"), or from the pending sweep if it is still queued a minute
// later: a post here would race that claim for the test's document. Each step
// is idempotent, so a redelivered event (or a retry after a crash) changes
// nothing more.
// Only a failure to write (tests, an approval) throws: they are then not safe anywhere.
import { settleBuildWaits, type SettleDeps } from '../builds/settle';
import { PR_CLOSED } from '../domain/messages';
import type { TestRecord } from '../domain/test';
import { publishTestStatus, type PublishDeps } from '../github/publish';
import type { Logger } from '../log';
import { enqueueTest, ensureTask, queuedOnCreation } from '../queue/enqueue-test';
import type { TaskQueue } from '../queue/port';
import type { GitHubLookupPort } from '../github/lookups';
import type { TestStore } from '../store/port';
import { releaseWaiting } from '../tests/release-waiting';
import { afterTestEnded } from '../tests/after-end';
import { cancelTest, cancelTests, type CancelEntry } from '../tests/cancel';
import { nextRunTests } from '../tests/rerun';
import { currentHeadOf, supersedeOlderHeads, type CurrentHead } from './order';
import type { HandledPlan } from './plan';

export type ApplyDeps = PublishDeps & {
  config: SettleDeps['config'];
  queue: TaskQueue;
  store: TestStore;
  log: Logger;
  /** What the webhook asks GitHub: who may approve, which commit is a PR's head. */
  github: GitHubLookupPort;
};

export interface ApplyOptions {
  /** The PR's head as GitHub tells it, shared with the order check made before (asked once). */
  currentHead?: CurrentHead;
  /** The plan's tests (testsToStore) were stored already, with the delivery's answer: those created then. */
  stored?: { created: readonly string[] };
}

/** The plan's new tests as they are stored: those that may run already queued (queuedOnCreation). */
export function testsToStore(plan: HandledPlan): TestRecord[] {
  return plan.create.map(queuedOnCreation);
}

export interface ApplyOutcome {
  /** The event's tests (created now or by an earlier delivery of the same event). */
  tests: string[];
  canceled: string[];
  released: string[];
  /** Tests that could not be enqueued now: they stay pending for the pending sweep. */
  notQueued: string[];
}

export async function applyWebhookPlan(
  deps: ApplyDeps,
  plan: HandledPlan,
  options: ApplyOptions = {},
): Promise<ApplyOutcome> {
  // Before anything it releases, so that a head event racing this one finds it.
  if (plan.approve) await deps.store.recordApproval(plan.approve);
  // Before the commit's tests are read, so that a test stored meanwhile finds it (settle.ts).
  const build = plan.build && (await deps.store.recordBuild(plan.build));
  const toCreate = testsToStore(plan);
  const { created } = options.stored ?? (await deps.store.createTests(toCreate));
  const createdSet = new Set(created);
  // A redelivery finds its tests already there: carry on from where they are.
  let current = await Promise.all(
    toCreate.map((test) => (createdSet.has(test.id) ? test : deps.store.getTest(test.id))),
  );
  if (plan.rerunClosed) current = await rerunClosedTests(deps, plan.create);
  const touched = new Map<string, TestRecord>();
  for (const test of current) if (test) touched.set(test.id, test);

  const canceled: string[] = [];
  const ends: Promise<unknown>[] = [];
  const ended = (entries: readonly CancelEntry[]) => {
    for (const entry of entries) {
      if ('result' in entry && entry.result.canceled) {
        const { test, slotReleased } = entry.result;
        canceled.push(entry.testId);
        touched.set(entry.testId, test);
        // Its VM deleted, its slot given on; the status is posted below with the others.
        ends.push(afterTestEnded(deps, test, { slotReleased, publish: false }));
      }
    }
  };
  // A /retest's older runs of the same head and platform, each ended by its new run.
  const replaced = new Set<string>();
  if (plan.replaceRuns?.length) {
    const entries = await Promise.all(
      plan.replaceRuns.map(({ read, message }) => cancelOne(deps, read, message)),
    );
    for (const entry of entries)
      if ('result' in entry && entry.result.canceled) replaced.add(entry.testId);
    ended(entries);
  }
  for (const selector of plan.cancel) ended(await cancelTests(deps, selector));
  if (plan.head) {
    const { repo, pr } = plan.head;
    const currentHead = options.currentHead ?? currentHeadOf(deps, repo, pr);
    ended(await supersedeOlderHeads(deps, plan.head, currentHead));
  }
  await Promise.all(ends);

  const releases = [...plan.release];
  const waiting = plan.releaseIfApproved;
  if (waiting && (await deps.store.getApproval(waiting.repo, waiting.pr, waiting.sha))) {
    deps.log.info('Head commit approved meanwhile: its tests are released', {
      repo: waiting.repo,
      pr: waiting.pr,
      sha: waiting.sha,
    });
    releases.push(...waiting.release);
  }
  const released: string[] = [];
  for (const selector of releases) {
    for (const test of await releaseWaiting(deps, selector)) {
      released.push(test.id);
      touched.set(test.id, test);
    }
  }

  const publish = (tests: TestRecord[]) =>
    Promise.all(tests.map((test) => publishTestStatus(deps, test)));
  // A replaced run shares its commit status with its new run: shown before the
  // new run has a task, so the new run's status is the one that stays.
  await publish([...touched.values()].filter((test) => replaced.has(test.id)));
  for (const id of replaced) touched.delete(id);

  const notQueued: string[] = [];
  /** Queued by this delivery: runTest's claim posts their status. */
  const queued = new Set<string>();
  const startReady = (tests: readonly TestRecord[]) =>
    Promise.all(
      tests
        .filter((test) => test.status === 'pending' || test.status === 'queued')
        .map(async (test) => {
          const result =
            test.status === 'queued' ? await ensureTask(deps, test) : await enqueueTest(deps, test);
          if (result.queued) {
            touched.set(test.id, result.test);
            queued.add(test.id);
          } else if (result.reason === 'queue_failed') {
            notQueued.push(test.id);
            touched.set(test.id, result.current);
          }
          // Queued (or ended) by another writer meanwhile, who posts its status.
          else touched.delete(test.id);
        }),
    );

  // A build that is over moves the tests that wait for it: the event's own
  // tests (their build may have finished first), or the commit's on a build
  // event. That may ask GitHub, so what may run already is queued meanwhile.
  const ready = [...touched.values()];
  const [settled] = await Promise.all([
    build
      ? deps.store
          .listBySha(build.repo, build.sha)
          .then((tests) => settleBuildWaits(deps, tests, { ask: 'never', known: build }))
      : settleBuildWaits(deps, ready, { ask: 'if-unknown' }),
    startReady(ready),
  ]);
  for (const test of settled) {
    released.push(test.id);
    touched.set(test.id, test);
  }
  await startReady(settled);

  // Statuses last, from each test's newest record; a failed post never fails the event.
  await publish([...touched.values()].filter((test) => !queued.has(test.id)));

  return { tests: current.flatMap((t) => (t ? [t.id] : [])), canceled, released, notQueued };
}

/** Cancels one live test; a failure is logged and reported in its entry. */
async function cancelOne(deps: ApplyDeps, read: TestRecord, message: string): Promise<CancelEntry> {
  try {
    return { testId: read.id, result: await cancelTest(deps, read.id, message, { read }) };
  } catch (thrown) {
    const error = thrown instanceof Error ? thrown : new Error(String(thrown));
    deps.log
      .child({ testId: read.id })
      .error('Cancel failed', { error, repo: read.repo, pr: read.pr });
    return { testId: read.id, error };
  }
}

/**
 * A reopened PR whose commit was tested before: each platform's latest run that
 * the close canceled gets a new run. Deterministic (run = latest + 1), so a
 * redelivery finds the new run and creates nothing.
 */
function rerunClosedTests(
  deps: ApplyDeps,
  planned: readonly TestRecord[],
): Promise<(TestRecord | null)[]> {
  return nextRunTests(deps, planned, {
    when: (latest) => latest.status === 'canceled' && latest.message === PR_CLOSED,
  });
}
