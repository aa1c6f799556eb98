// A final status always reaches GitHub (DESIGN §3.7; issue 12, item 4), on the
// in-memory store and on the Firestore emulator: a final status whose post
// failed is posted again by sweepExpired once its check is due, with back-off
// while it keeps failing, given up with one ERROR after statusGiveUpHours, and
// posted once however many runs race; an older status that lands after the
// final one is put right too.
import type { VmciConfig } from '../../shared/config';
import { allTestsPassed, RUNNING_TESTS, VM_STARTED } from '../../shared/domain/messages';
import type { TestRecord } from '../../shared/domain/test';
import { publishTestStatus } from '../../shared/github/publish';
import { noCounts } from '../../shared/sweeps/deps';
import { sweepExpired } from '../../shared/sweeps/sweep-expired';
import { endTest } from '../../shared/tests/end-test';
import { useStore } from '../contracts/store/fixtures';
import { storeKinds } from '../tests/stores';
import {
  at,
  endedTest,
  NOW,
  runningTest,
  seededHarness,
  sweepConfig,
  type Harness,
} from './support';

const counts = (c: Partial<ReturnType<typeof noCounts>>) => ({ ...noCounts(), ...c });
const MINUTE = 60_000;
const PASSED = allTestsPassed(3);
const GITHUB_DOWN = { retriable: true, httpStatus: 502, detail: 'injected: 502 Bad Gateway' };
const REPO_GONE = { retriable: false, httpStatus: 404, detail: 'injected: HTTP 404: Not Found' };

function postsOf(h: Harness, id: string) {
  return h.statuses
    .posts()
    .filter((p) => p.targetUrl?.endsWith(`/status/tests/${id}`))
    .map(({ state, description }) => ({ state, description }));
}

/** GitHub's latest status of the test's commit and context. */
function shownOf(h: Harness, test: TestRecord) {
  const latest = h.statuses.statuses(test.repo, test.sha).find((p) => p.context === 'ci/linux');
  return latest && { state: latest.state, description: latest.description };
}

describe.each(storeKinds('vmci-sweeps-statuses'))(
  'sweepExpired: final statuses ($name)',
  ({ make }) => {
    const current = useStore(make);

    const setup = (tests: readonly TestRecord[], options: { config?: VmciConfig } = {}) =>
      seededHarness(current().store, tests, options);

    /**
     * The reproduced case: "Running tests" is on GitHub, then GitHub refuses the
     * next 3 posts (the 3 tries of the final status) and the test passes.
     */
    async function passedWhileGitHubRefused(failure = GITHUB_DOWN): Promise<Harness> {
      const running = runningTest('r1', { deadlineAt: at(90) });
      const h = await setup([running]);
      await h.seedVm(running, { createdAt: at(1) });
      h.statuses.failNext(3, failure);
      const ended = await endTest(h.deps, running, { status: 'passed', message: PASSED });
      expect(ended.ended).toBe(true);
      expect(postsOf(h, 'r1')).toEqual([]);
      return h;
    }

    it('the reproduced case: the final status refused 3 times is posted by the next run after its check is due', async () => {
      const h = await passedWhileGitHubRefused();
      const ended = await h.store.getTest('r1');
      expect(ended).toMatchObject({
        status: 'passed',
        githubStatus: { state: 'pending', description: RUNNING_TESTS },
        statusCheckAt: new Date(NOW.getTime() + MINUTE),
      });

      // Within the minute the end's own post had: not yet.
      h.clock.advance(MINUTE);
      expect((await sweepExpired(h.deps)).statuses).toEqual(counts({}));
      expect(postsOf(h, 'r1')).toEqual([]);

      h.clock.advance(1);
      const summary = await sweepExpired(h.deps);

      expect(summary.statuses).toEqual(counts({ found: 1, done: 1 }));
      expect(postsOf(h, 'r1')).toEqual([{ state: 'success', description: PASSED }]);
      expect(await h.store.getTest('r1')).toMatchObject({
        githubStatus: { state: 'success', description: PASSED, at: h.clock.now() },
        statusCheckAt: null,
      });
      expect(h.logs.find('Final commit status posted again')).toHaveLength(1);

      // Shown: never posted again.
      h.clock.advance(60 * MINUTE);
      expect((await sweepExpired(h.deps)).statuses).toEqual(counts({}));
      expect(postsOf(h, 'r1')).toHaveLength(1);
    });

    it('an end whose own post worked leaves nothing to check', async () => {
      const running = runningTest('r1', { deadlineAt: at(90) });
      const h = await setup([running]);
      await endTest(h.deps, running, { status: 'passed', message: PASSED });

      expect((await h.store.getTest('r1'))?.statusCheckAt).toBeNull();
      h.clock.advance(10 * MINUTE);
      expect((await sweepExpired(h.deps)).statuses).toEqual(counts({}));
      expect(postsOf(h, 'r1')).toEqual([{ state: 'success', description: PASSED }]);
    });

    it('an older status that lands after the final one is not left as the last thing on GitHub', async () => {
      const running = runningTest('r1', {
        deadlineAt: at(90),
        stage: 'preparation',
        message: VM_STARTED,
        githubStatus: null,
      });
      const h = await setup([running]);
      // A slow publisher read the test while it started…
      const slow = (await h.store.getTest('r1'))!;
      await endTest(h.deps, running, { status: 'passed', message: PASSED });
      expect((await h.store.getTest('r1'))?.statusCheckAt).toBeNull();
      // …and its "VM started" lands after the final status; this time GitHub
      // refuses the publisher's re-post of the final one.
      h.clock.advance(1000);
      const racing = {
        ...h.deps,
        statuses: {
          post: async (...args: Parameters<Harness['statuses']['post']>) => {
            const result = await h.statuses.post(...args);
            if (args[2].description === VM_STARTED) h.statuses.failNext(3, GITHUB_DOWN);
            return result;
          },
        },
      };
      await publishTestStatus(racing, slow);
      expect(shownOf(h, running)).toEqual({ state: 'pending', description: VM_STARTED });
      const armed = await h.store.getTest('r1');
      expect(armed).toMatchObject({ githubStatus: { description: VM_STARTED } });
      expect(armed?.statusCheckAt).toEqual(new Date(h.clock.now().getTime() + MINUTE));

      h.clock.advance(MINUTE + 1);
      const summary = await sweepExpired(h.deps);

      expect(summary.statuses).toEqual(counts({ found: 1, done: 1 }));
      expect(shownOf(h, running)).toEqual({ state: 'success', description: PASSED });
      expect((await h.store.getTest('r1'))?.statusCheckAt).toBeNull();
    });

    it('while GitHub stays down: tried again after waits that double, from 1 minute up to 30', async () => {
      const h = await passedWhileGitHubRefused();
      h.statuses.failNext(1000, GITHUB_DOWN);
      const waits: number[] = [];

      for (let run = 0; run < 8; run++) {
        // A run a second after the check came due.
        const due = (await h.store.getTest('r1'))!.statusCheckAt!;
        h.clock.set(new Date(due.getTime() + 1000));
        const summary = await sweepExpired(h.deps);
        expect(summary.statuses).toEqual(counts({ found: 1, errors: 1 }));
        const next = (await h.store.getTest('r1'))!.statusCheckAt!;
        waits.push(Math.floor((next.getTime() - h.clock.now().getTime()) / MINUTE));
        // Not due again before then.
        h.clock.set(next);
        expect((await sweepExpired(h.deps)).statuses).toEqual(counts({}));
      }

      expect(waits).toEqual([1, 2, 4, 8, 16, 30, 30, 30]);
      // Each try was 3 posts (the port's own retries), none got through.
      expect(h.statuses.tries()).toBe(3 + 8 * 3);
      expect(postsOf(h, 'r1')).toEqual([]);
      // Tried again later: warnings, not errors.
      expect(h.logs.entries.filter((e) => e.level === 'error')).toEqual([]);
      expect(
        h.logs.entries.filter((e) => e.message.startsWith('commit status not posted')),
      ).toHaveLength(9);
    });

    it('refused for good (404: the repository is gone): retried until statusGiveUpHours after the end, then given up with one ERROR', async () => {
      const config = sweepConfig(['sweeps.statusGiveUpHours', 2]);
      const running = runningTest('r1', { deadlineAt: at(90) });
      const h = await setup([running], { config });
      h.statuses.failNext(1000, REPO_GONE);
      await endTest(h.deps, running, { status: 'passed', message: PASSED });
      let tries = 0;

      for (let run = 0; run < 40; run++) {
        h.clock.advance(5 * MINUTE);
        const summary = await sweepExpired(h.deps);
        tries += summary.statuses.found;
        if (summary.statuses.found > 0) expect(summary.statuses.errors).toBe(1);
      }

      // Runs every 5 minutes; tries at 5, 15, 35, 70 and 105 min after the end, each due
      // as long after the last as it had failed; the one at 140 min, past 2 h, is the last.
      expect(tries).toBe(6);
      const errors = h.logs.entries.filter((e) => e.level === 'error');
      expect(errors).toEqual([
        expect.objectContaining({
          message: 'Final commit status given up: GitHub does not show it',
          labels: { testId: 'r1', platform: 'linux' },
          fields: expect.objectContaining({
            error: expect.any(Error),
            state: 'success',
            description: PASSED,
            httpStatus: 404,
          }),
        }),
      ]);
      const line = h.logs.lines.find((l) => l.severity === 'ERROR');
      expect(line).toMatchObject({
        '@type':
          'type.googleapis.com/google.devtools.clouderrorreporting.v1beta1.ReportedErrorEvent',
        stack_trace: expect.stringContaining('Not Found'),
      });
      // Every refusal before it, the end's own post's included, was a warning: it was tried again.
      const refusals = h.logs.entries.filter((e) =>
        e.message.startsWith('commit status not posted'),
      );
      expect(refusals.map((e) => e.level)).toEqual(Array(7).fill('warn'));
      // Not tried again, not reported again.
      h.clock.advance(24 * 60 * MINUTE);
      expect((await sweepExpired(h.deps)).statuses).toEqual(counts({}));
      expect(h.logs.entries.filter((e) => e.level === 'error')).toHaveLength(1);
      expect(await h.store.getTest('r1')).toMatchObject({ status: 'passed', statusCheckAt: null });
      expect(postsOf(h, 'r1')).toEqual([]);
    });

    it('a status that GitHub takes again is posted, even past the give-up time, and not given up', async () => {
      const config = sweepConfig(['sweeps.statusGiveUpHours', 1]);
      const h = await setup([], { config });
      const running = runningTest('r1', { deadlineAt: at(90) });
      await h.store.createTests([running]);
      // The end's post and the tries at 5, 15 and 35 min fail (3 tries each); the one at 70 min works.
      h.statuses.failNext(3 * 4, GITHUB_DOWN);
      await endTest(h.deps, running, { status: 'passed', message: PASSED });

      for (let run = 0; run < 30; run++) {
        h.clock.advance(5 * MINUTE);
        await sweepExpired(h.deps);
      }

      expect(postsOf(h, 'r1')).toEqual([{ state: 'success', description: PASSED }]);
      expect(h.logs.find('Final commit status given up: GitHub does not show it')).toEqual([]);
    });

    it('two runs at once post each final status once', async () => {
      const ended = [1, 2, 3].map((n) =>
        endedTest(`e${n}`, {
          status: 'failed',
          message: '1 test failed',
          finishedAt: at(2),
          statusCheckAt: at(3),
          githubStatus: { state: 'pending', description: RUNNING_TESTS, at: at(1) },
        }),
      );
      const h = await setup(ended);

      const runs = await Promise.all([
        sweepExpired(h.deps),
        sweepExpired(h.depsWith(current().peer())),
      ]);

      expect(runs.map((r) => r.statuses.done).reduce((a, b) => a + b)).toBe(3);
      for (const test of ended) {
        expect(postsOf(h, test.id)).toEqual([{ state: 'failure', description: '1 test failed' }]);
        expect((await h.store.getTest(test.id))?.statusCheckAt).toBeNull();
      }
      expect(h.logs.entries.filter((e) => e.level === 'error')).toEqual([]);
    });

    it('reads at most expiredBatch due checks a run, earliest first; the rest waits', async () => {
      const config = sweepConfig(['sweeps.expiredBatch', 2]);
      const ended = [3, 1, 2].map((minute) =>
        endedTest(`e${minute}`, {
          message: 'All tests passed',
          statusCheckAt: at(minute),
          githubStatus: null,
        }),
      );
      const h = await setup(ended, { config });

      const first = await sweepExpired(h.deps);

      expect(first.statuses).toEqual(counts({ found: 2, done: 2, more: true }));
      expect(postsOf(h, 'e1')).toHaveLength(1);
      expect(postsOf(h, 'e2')).toHaveLength(1);
      expect(postsOf(h, 'e3')).toEqual([]);
      expect((await sweepExpired(h.deps)).statuses).toEqual(counts({ found: 1, done: 1 }));
    });
  },
);
