// Build gates that cannot hang (issue 14, item 1). A test that waits for its
// platform's build workflow is moved by what is known of that build on its
// commit, whenever that became known: a build that finished before the test
// existed, or before it was approved, counts. What is known comes from the
// store (every completed workflow_run is kept there) and, when the store knows
// nothing, from GitHub's Actions API, asked once.
//
// A success releases the test to its next gate; a failure fails it (and the
// tests of that platform still waiting for approval: their build is over);
// no run at all, confirmed after a while by the expired sweep, ends it as not
// tested, since a workflow whose path filters skip the commit never runs.
//
// Races: the webhook stores a test before it reads the build, and records a
// build before it reads the tests, so of a test and a build event racing one
// always sees the other; each move is a compare-and-set, so both seeing is safe.
import type { VmciConfig } from '../config/schema';
import { BUILD_WORKFLOW_FAILED, buildDidNotRun } from '../domain/messages';
import type { TestRecord } from '../domain/test';
import type { GitHubLookupPort } from '../github/lookups';
import { releaseWaiting, type ReleaseDeps, type ReleaseSelector } from '../tests/release-waiting';
import { afterWait } from '../webhook/gates';
import { buildFromRuns, type BuildRecord } from './record';

export type SettleDeps = ReleaseDeps & {
  config: Pick<VmciConfig, 'platforms'>;
  github: GitHubLookupPort;
};

export interface SettleOptions {
  /**
   * When to ask GitHub: never; when the store knows nothing of the build; or
   * also when what it knows is only a check (none, running) made before this.
   */
  ask: 'never' | 'if-unknown' | { checkedBefore: Date };
  /** What is known of one build already (just recorded): not read again. */
  known?: BuildRecord;
  /** Tests still waiting while GitHub has no run of the workflow end as not tested. */
  endIfNotRun?: boolean;
}

type Group = { repo: string; sha: string; workflow: string; tests: TestRecord[] };

/** The tests that a build can move: waiting for it, or for approval before it. */
function groupsOf(config: SettleDeps['config'], tests: readonly TestRecord[]): Group[] {
  const groups = new Map<string, Group>();
  for (const test of tests) {
    const workflow = config.platforms[test.platform]?.buildWorkflow;
    if (workflow === undefined || test.status !== 'waiting') continue;
    if (test.waitReason !== 'build' && test.waitReason !== 'approval') continue;
    const id = JSON.stringify([test.repo, test.sha, workflow]);
    const group = groups.get(id) ?? { repo: test.repo, sha: test.sha, workflow, tests: [] };
    group.tests.push(test);
    groups.set(id, group);
  }
  return [...groups.values()];
}

const sameBuild = (record: BuildRecord, group: Group) =>
  record.repo === group.repo && record.sha === group.sha && record.workflow === group.workflow;

/** Moves those of `tests` that wait for a build which is over; returns the moved tests. */
export async function settleBuildWaits(
  deps: SettleDeps,
  tests: readonly TestRecord[],
  options: SettleOptions,
): Promise<TestRecord[]> {
  const moved: TestRecord[] = [];
  for (const group of groupsOf(deps.config, tests)) {
    const record = await buildOf(deps, group, options);
    if (record === null) continue;
    for (const selector of selectorsFor(deps.config, group, record, options)) {
      moved.push(...(await releaseWaiting(deps, selector, group.tests)));
    }
  }
  return moved;
}

async function buildOf(
  deps: SettleDeps,
  group: Group,
  options: SettleOptions,
): Promise<BuildRecord | null> {
  const { repo, sha, workflow } = group;
  const stored =
    options.known && sameBuild(options.known, group)
      ? options.known
      : await deps.store.getBuild(repo, sha, workflow);
  if (!shouldAsk(stored, group, options)) return stored;
  const answer = await deps.github.workflowRuns(repo, workflow, sha);
  if (!answer.ok) {
    // The expired sweep asks again later; the test keeps waiting meanwhile.
    deps.log.warn('GitHub could not list the build workflow’s runs', {
      repo,
      sha,
      workflow,
      httpStatus: answer.httpStatus,
      detail: answer.detail,
    });
    return stored;
  }
  const kept = await deps.store.recordBuild(buildFromRuns(group, answer.value, deps.now()));
  deps.log.info('Build workflow looked up on GitHub', {
    repo,
    sha,
    workflow,
    outcome: kept.outcome,
    runId: kept.runId,
    runs: answer.value.length,
  });
  return kept;
}

function shouldAsk(stored: BuildRecord | null, group: Group, options: SettleOptions): boolean {
  if (options.ask === 'never') return false;
  // Only a test waiting for the build itself is worth a call; approval comes first.
  if (!group.tests.some((t) => t.waitReason === 'build')) return false;
  if (stored === null) return true;
  if (options.ask === 'if-unknown') return false;
  const checkOnly = stored.outcome === 'none' || stored.outcome === 'running';
  return checkOnly && stored.at < options.ask.checkedBefore;
}

function selectorsFor(
  config: SettleDeps['config'],
  group: Group,
  record: BuildRecord,
  options: SettleOptions,
): ReleaseSelector[] {
  const { repo, sha } = group;
  const platforms = [...new Set(group.tests.map((t) => t.platform))];
  switch (record.outcome) {
    case 'success':
      return platforms.map((platform): ReleaseSelector => {
        const target = afterWait(platform, config.platforms[platform]!, 'build');
        const scope = { repo, sha, platforms: [platform], waitReason: 'build' as const };
        return target.to === 'pending'
          ? { ...scope, to: 'pending', message: target.message }
          : { ...scope, to: 'waiting', toWait: target.waitReason, message: target.message };
      });
    case 'failure':
      return (['build', 'approval'] as const).map((waitReason) => ({
        repo,
        sha,
        platforms,
        waitReason,
        to: 'failed',
        message: BUILD_WORKFLOW_FAILED,
      }));
    case 'none':
      if (!options.endIfNotRun) return [];
      return [
        {
          repo,
          sha,
          platforms,
          waitReason: 'build',
          to: 'canceled',
          message: buildDidNotRun(group.workflow, sha),
        },
      ];
    case 'running':
      return [];
  }
}
