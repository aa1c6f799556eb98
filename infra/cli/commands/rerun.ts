// `vmci rerun`: a new run of a test (run = the newest run + 1, shared/tests/rerun.ts),
// started as the webhook starts its tests: gated (build, maintenance; an
// operator's re-run needs no approval), stored, enqueued, shown on GitHub
// (shared/webhook/apply.ts), so one VM per test holds as for any other test.
import { currentConfig } from '../../../shared/config/switches';
import { newTestRecord } from '../../../shared/domain/new-test';
import { isTerminal, type TestRecord } from '../../../shared/domain/test';
import { latestRun, nextRunTests } from '../../../shared/tests/rerun';
import { applyWebhookPlan } from '../../../shared/webhook/apply';
import { startState } from '../../../shared/webhook/gates';
import { countArg, onePositional, repoArg } from '../args';
import type { Command, ParsedArgs } from '../command';
import { CliFailure, UsageError } from '../errors';
import { openDomain, type FullServices } from '../services';
import { stateOf } from './tests';

export const rerunCommand: Command = {
  name: 'rerun',
  summary: 'start a new run of a test, or of a PR’s newest commit',
  usage: `vmci rerun <test-id> | --pr N --repo owner/name

Creates a new run of the test (run = the newest run of its commit, platform,
trigger and PR, plus one) and starts it as the webhook starts tests: it waits
for its build or for its platform's maintenance where those apply, else it is
queued. --pr re-runs every platform of the PR's newest tested commit. A test
that is still live is not re-run: cancel it first.`,
  options: { repo: { type: 'string' }, pr: { type: 'string' } },
  check: (args) => void rerunForm(args),
  async run(args, ctx, output, cli) {
    const { id, pr } = rerunForm(args);
    const repo = repoArg(args.values.repo as string | undefined, ctx.config);

    const { deps: base, close } = await openDomain(ctx, output, 'required', cli);
    try {
      const deps: FullServices = { ...base, config: await currentConfig(base) };
      const sources =
        id !== undefined ? [await oneTest(deps, id)] : await prHeadTests(deps, repo!, pr!);
      const ready = sources.filter((test) => {
        if (isTerminal(test.status)) return true;
        output.err(
          `${test.id} is still ${test.status}: not re-run (cancel it first: \`vmci cancel ${test.id}\`)`,
        );
        return false;
      });
      if (ready.length === 0) return 1;
      // One live run at a time: a newer run of the same test that is still live stops it.
      const newest = await Promise.all(
        ready.map(async (test) =>
          latestRun(await deps.store.listBySha(test.repo, test.sha, { limit: 1000 }), test),
        ),
      );
      const live = newest.find((t) => t !== null && !isTerminal(t.status));
      if (live) {
        throw new CliFailure(
          `${live.id} (run ${live.run}) is still ${live.status}: cancel it first (\`vmci cancel ${live.id}\`)`,
        );
      }
      const planned = ready.map((test) => plannedRun(deps, test));
      const runs = (await nextRunTests(deps, planned)).filter((t): t is TestRecord => t !== null);
      await applyWebhookPlan(deps, { kind: 'handled', create: runs, cancel: [], release: [] });
      for (const [i, run] of runs.entries()) {
        const now = (await deps.store.getTest(run.id)) ?? run;
        output.out(`${ready[i]!.id} → ${now.id} (run ${now.run}): ${stateOf(now)}: ${now.message}`);
      }
      return ready.length === sources.length ? 0 : 1;
    } finally {
      await close();
    }
  },
};

async function oneTest(deps: FullServices, id: string): Promise<TestRecord> {
  const test = await deps.store.getTest(id);
  if (!test) throw new CliFailure(`No test ${id}: list the tests with \`vmci tests\``);
  return test;
}

/** The newest run of each platform of the PR's newest tested commit. */
async function prHeadTests(deps: FullServices, repo: string, pr: number): Promise<TestRecord[]> {
  const tests = await deps.store.listByPr(repo, pr, { limit: 1000 });
  const newest = tests[0];
  if (!newest)
    throw new CliFailure(
      `No tests of PR #${pr} in ${repo}: list them with \`vmci tests --repo ${repo}\``,
    );
  const head = tests.filter((test) => test.sha === newest.sha);
  const platforms = [...new Set(head.map((test) => test.platform))].sort();
  return platforms.map((platform) => latestRun(head, { ...newest, platform })!);
}

/** The new run's identity (the test's) and its start, by the gates the webhook uses. */
function plannedRun(deps: FullServices, test: TestRecord): TestRecord {
  const settings = deps.config.platforms[test.platform];
  if (!settings) {
    throw new CliFailure(
      `Platform ${test.platform} is no longer configured: ${test.id} cannot run again`,
    );
  }
  const author = test.author;
  if (author && deps.config.blockedUsers.some((u) => u.toLowerCase() === author.toLowerCase())) {
    throw new CliFailure(`${author} is blocked (blockedUsers): ${test.id} is not re-run`);
  }
  // An operator starts it: no maintainer's approval is waited for.
  const start = startState(test.platform, settings, { approved: true, blocked: false });
  return newTestRecord(
    {
      repo: test.repo,
      sha: test.sha,
      ref: test.ref,
      cloneUrl: test.cloneUrl,
      author: test.author,
      trigger: test.trigger,
      pr: test.pr,
      run: test.run,
      platform: test.platform,
      headUpdatedAt: test.headUpdatedAt,
      title: test.title,
      repoPublic: test.repoPublic,
    },
    start,
    deps.now(),
  );
}

/** Exactly one of: a test id, --pr with --repo. */
function rerunForm({ values, positionals }: ParsedArgs) {
  const id = onePositional(positionals, 'test id');
  const repo = values.repo as string | undefined;
  const pr = countArg('pr', values.pr as string | undefined);
  if ((id === undefined) === (pr === undefined)) {
    throw new UsageError('rerun what? give a test id, or --pr N --repo R');
  }
  if (pr !== undefined && repo === undefined) throw new UsageError('--pr needs --repo');
  if (id !== undefined && repo !== undefined) throw new UsageError('a test id needs no --repo');
  return { id, pr };
}
