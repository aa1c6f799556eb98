// Build waits checked again (issue 14, item 1), on the in-memory store and on
// the Firestore emulator: a test whose build has been silent for ten minutes
// asks GitHub once; a completed run (its event lost) moves it, no run at all
// ends it as not tested, a run still going leaves it, and the answer is kept
// so the commit's other tests and the next runs do not ask again too soon.
import {
  BUILD_WORKFLOW_FAILED,
  buildDidNotRun,
  WAITING_FOR_BUILD,
} from '../../shared/domain/messages';
import type { TestRecord } from '../../shared/domain/test';
import { BUILD_CHECK_AFTER_MS } from '../../shared/sweeps/builds';
import { sweepExpired } from '../../shared/sweeps/sweep-expired';
import { useStore } from '../contracts/store/fixtures';
import { storeKinds } from '../tests/stores';
import { NOW, seededHarness, sweepConfig, waitingTest, type Harness } from './support';

const REPO = 'ccextractor/ccextractor';
const SHA = 'a'.repeat(40);
const ago = (ms: number) => new Date(NOW.getTime() - ms);
const config = sweepConfig(
  ['platforms.linux.buildWorkflow', 'build.yml'],
  ['platforms.linux.artifactName', 'ccextractor-linux'],
  ['platforms.linux.waitForBuildMinutes', 120],
);

const silent = (id: string, since = BUILD_CHECK_AFTER_MS + 1, extra: Partial<TestRecord> = {}) =>
  waitingTest(id, 'build', {
    platform: 'linux',
    message: WAITING_FOR_BUILD,
    waitingSince: ago(since),
    updatedAt: ago(since),
    ...extra,
  });

const run = (status: string, conclusion: string | null, id = 77) => ({
  id,
  attempt: 1,
  status,
  conclusion,
});

const askedFor = (h: Harness) => h.github.calls().filter((c) => c.kind === 'workflowRuns');

describe.each(storeKinds('vmci-sweeps-builds'))(
  'sweepExpired: build checks ($name)',
  ({ make }) => {
    const current = useStore(make);
    const setup = (tests: readonly TestRecord[]) =>
      seededHarness(current().store, tests, { config });

    it('no run of the workflow at all: ends as not tested, said plainly on GitHub', async () => {
      const h = await setup([silent('skipped')]);

      const summary = await sweepExpired(h.deps);

      const line = buildDidNotRun('build.yml', SHA);
      expect(line).toBe(
        'Not tested: build.yml did not run for aaaaaaa (its path or branch filters skip it)',
      );
      expect(await h.store.getTest('skipped')).toMatchObject({ status: 'canceled', message: line });
      expect(h.statuses.statuses(REPO, SHA).map((s) => [s.state, s.description])).toEqual([
        ['error', line],
      ]);
      expect(summary.builds).toMatchObject({ found: 1, done: 1 });
      expect(askedFor(h)).toHaveLength(1);
    });

    it('a build that completed while its event was lost: success queues the test, failure fails it', async () => {
      const h = await setup([silent('ok'), silent('bad', undefined, { sha: 'b'.repeat(40) })]);
      h.github.addWorkflowRun(REPO, 'build.yml', SHA, run('completed', 'success'));
      h.github.addWorkflowRun(REPO, 'build.yml', 'b'.repeat(40), run('completed', 'failure', 78));

      await sweepExpired(h.deps);

      expect(await h.store.getTest('ok')).toMatchObject({ status: 'queued' });
      expect(h.queue.tasks().map((t) => t.testId)).toContain('ok');
      expect(await h.store.getTest('bad')).toMatchObject({
        status: 'failed',
        message: BUILD_WORKFLOW_FAILED,
      });
      expect(await h.store.getBuild(REPO, SHA, 'build.yml')).toMatchObject({
        outcome: 'success',
        source: 'api',
      });
    });

    it('a run still going: the test waits; GitHub is asked again only after the check interval', async () => {
      const h = await setup([silent('slow')]);
      h.github.addWorkflowRun(REPO, 'build.yml', SHA, run('in_progress', null));

      await sweepExpired(h.deps);
      await sweepExpired(h.deps);
      expect(await h.store.getTest('slow')).toMatchObject({
        status: 'waiting',
        waitReason: 'build',
      });
      expect(askedFor(h)).toHaveLength(1);

      h.clock.advance(BUILD_CHECK_AFTER_MS + 1);
      h.github.addWorkflowRun(REPO, 'build.yml', SHA, run('completed', 'success'));
      await sweepExpired(h.deps);
      expect(askedFor(h)).toHaveLength(2);
      expect(await h.store.getTest('slow')).toMatchObject({ status: 'queued' });
    });

    it('a test within the interval is not asked about; two tests of one commit ask once', async () => {
      const h = await setup([
        silent('fresh', BUILD_CHECK_AFTER_MS - 1000),
        silent('push'),
        silent('pr', undefined, { trigger: 'pull_request', pr: 4 }),
      ]);
      h.github.addWorkflowRun(REPO, 'build.yml', SHA, run('queued', null));

      await sweepExpired(h.deps);

      expect(askedFor(h)).toHaveLength(1);
      for (const id of ['fresh', 'push', 'pr']) {
        expect(await h.store.getTest(id)).toMatchObject({ status: 'waiting' });
      }
    });

    it('GitHub cannot answer: nothing changes, and the next run asks again', async () => {
      const h = await setup([silent('later')]);
      h.github.failNext(3, { retriable: true, httpStatus: 503, detail: 'HTTP 503' });

      await sweepExpired(h.deps);
      expect(await h.store.getTest('later')).toMatchObject({ status: 'waiting' });
      expect(await h.store.getBuild(REPO, SHA, 'build.yml')).toBeNull();

      await sweepExpired(h.deps);
      expect(await h.store.getTest('later')).toMatchObject({ status: 'canceled' });
    });
  },
);
