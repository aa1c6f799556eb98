// What a webhook event asks for (DESIGN §5), decided without any I/O: the tests
// to create, the older tests to cancel and the waiting tests to move on. The
// webhook function carries the plan out; a redelivered event plans the same
// tests (ids derive from the event's fields), so carrying it out twice is safe.
import type { SupersedeMode, VmciConfig } from '../config/schema';
import { branchMatches } from '../config/match';
import { BUILD_WORKFLOW_FAILED, PR_CLOSED, USER_BLOCKED, supersededBy } from '../domain/messages';
import { newTestRecord, type NewTestInput } from '../domain/new-test';
import { LIVE_STATUSES, type TestRecord, type TestStatus, type WaitReason } from '../domain/test';
import type { CancelSelector } from '../tests/cancel';
import type { PullRequestEvent, PushEvent, WebhookEvent, WorkflowRunEvent } from './events';
import { afterWait, startState, type GateTarget, type StartContext } from './gates';

interface ReleaseScope {
  repo: string;
  sha: string;
  /** Only this PR's tests of the commit; absent: every test of the commit (push and PRs). */
  pr?: number;
  platforms: string[];
  /** The wait the tests are in now: only `waiting` tests with this reason move. */
  waitReason: WaitReason;
  /** The line the moved tests show. */
  message: string;
}

/** Waiting tests to move on: to `pending`, to `failed`, or into the next wait (`toWait`). */
export type ReleaseSelector = ReleaseScope &
  ({ to: 'pending' | 'failed' } | { to: 'waiting'; toWait: WaitReason });

export type WebhookPlan =
  /** 202 with the reason. */
  | { kind: 'ignored'; reason: string }
  /** 403: the repository is not configured. */
  | { kind: 'forbidden'; reason: string }
  | { kind: 'ping' }
  | {
      kind: 'handled';
      /** The event's new tests, one per platform, in their starting state. */
      create: TestRecord[];
      cancel: CancelSelector[];
      release: ReleaseSelector[];
      /**
       * A reopened PR: where the commit's latest run was canceled because the PR
       * closed, run it again (run + 1). Which run that is needs the store.
       */
      rerunClosed?: boolean;
    };

/** Which older tests of a PR a new head commit cancels, per `supersede`. */
const SUPERSEDED_STATUSES: Readonly<Record<SupersedeMode, readonly TestStatus[]>> = {
  queued: ['waiting', 'pending', 'queued'], // no VM yet
  all: LIVE_STATUSES,
  none: [],
};

/** PR authors who may run code without the approval label (DESIGN §5). */
const TRUSTED_ASSOCIATIONS: readonly string[] = ['OWNER', 'MEMBER', 'COLLABORATOR'];

/** Actions of a PR that put a new head commit up for testing. */
const HEAD_ACTIONS: readonly string[] = ['opened', 'synchronize', 'reopened'];

const BRANCH_PREFIX = 'refs/heads/';

const ignored = (reason: string): WebhookPlan => ({ kind: 'ignored', reason });
const handled = (
  create: TestRecord[],
  cancel: CancelSelector[] = [],
  release: ReleaseSelector[] = [],
): WebhookPlan => ({ kind: 'handled', create, cancel, release });
const quote = (text: string) => JSON.stringify(text);
const sameText = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * The configured spelling of `repo` (GitHub names are case-insensitive), or
 * undefined. Tests are keyed by the configured spelling, so every event about a
 * repository finds the same tests whatever case GitHub sends.
 */
function configuredRepo(config: VmciConfig, repo: string): string | undefined {
  return config.repositories.find((r) => sameText(r, repo));
}

function createTests(
  config: VmciConfig,
  input: Omit<NewTestInput, 'platform'>,
  context: StartContext,
  now: Date,
): TestRecord[] {
  return Object.entries(config.platforms).map(([platform, settings]) =>
    newTestRecord({ ...input, platform }, startState(platform, settings, context), now),
  );
}

/** One selector per distinct target, platforms in configuration order. */
function releaseByTarget(
  scope: Omit<ReleaseScope, 'platforms' | 'message'>,
  targets: readonly (readonly [platform: string, target: GateTarget])[],
): ReleaseSelector[] {
  const groups = new Map<string, ReleaseSelector>();
  for (const [platform, target] of targets) {
    const key = JSON.stringify(target);
    const group = groups.get(key);
    if (group) {
      group.platforms.push(platform);
      continue;
    }
    const base = { ...scope, platforms: [platform], message: target.message };
    groups.set(
      key,
      target.to === 'pending'
        ? { ...base, to: 'pending' }
        : { ...base, to: 'waiting', toWait: target.waitReason },
    );
  }
  return [...groups.values()];
}

// --- push ------------------------------------------------------------------------

function planPush(event: PushEvent, repo: string, config: VmciConfig, now: Date): WebhookPlan {
  if (event.deleted) return ignored(`${quote(event.ref)} was deleted: nothing to test`);
  if (!event.ref.startsWith(BRANCH_PREFIX)) {
    return ignored(`${quote(event.ref)} is not a branch: tags are not tested`);
  }
  const branch = event.ref.slice(BRANCH_PREFIX.length);
  if (!branchMatches(config.branches, branch)) {
    return ignored(`branch ${quote(branch)} is not configured`);
  }
  // Only people with write access can push, so a push is always approved.
  const input = {
    repo,
    sha: event.sha,
    ref: event.ref,
    cloneUrl: event.cloneUrl,
    author: event.pusher,
    trigger: 'push',
    pr: null,
    run: 1,
  } as const;
  return handled(createTests(config, input, { approved: true, blocked: false }, now));
}

// --- pull_request ---------------------------------------------------------------------

function isBlocked(config: VmciConfig, login: string): boolean {
  return config.blockedUsers.some((user) => sameText(user, login));
}

function planHead(
  event: PullRequestEvent,
  repo: string,
  config: VmciConfig,
  now: Date,
): WebhookPlan {
  const blocked = isBlocked(config, event.author);
  // The label persists across new commits, as Prow's ok-to-test does: it
  // approves the PR, not one commit. Only people with triage access can add it.
  const approved =
    TRUSTED_ASSOCIATIONS.includes(event.authorAssociation.toUpperCase()) ||
    event.labels.some((label) => sameText(label, config.approvalLabel));
  const input = {
    repo,
    sha: event.headSha,
    // A ref that exists in the repository cloneUrl names: the fork's branch, or
    // GitHub's pull ref in the base repository when the fork is gone.
    ref:
      event.headRepo === null
        ? `refs/pull/${event.number}/head`
        : `${BRANCH_PREFIX}${event.headRef}`,
    cloneUrl: event.headCloneUrl,
    author: event.author,
    trigger: 'pull_request',
    pr: event.number,
    run: 1,
  } as const;
  const create = createTests(config, input, { approved, blocked }, now);
  // A blocked author's code stops running at once, whatever `supersede` says,
  // including this commit's tests from an earlier delivery (a reopen).
  if (blocked) {
    const cancel = { repo, pr: event.number, statuses: [...LIVE_STATUSES] };
    return handled(create, [{ ...cancel, message: USER_BLOCKED }]);
  }
  const statuses = SUPERSEDED_STATUSES[config.supersede];
  const cancel: CancelSelector[] =
    statuses.length === 0
      ? []
      : [
          {
            repo,
            pr: event.number,
            statuses: [...statuses],
            exceptSha: event.headSha,
            message: supersededBy(event.headSha),
          },
        ];
  if (event.action !== 'reopened') return handled(create, cancel);
  return { kind: 'handled', create, cancel, release: [], rerunClosed: true };
}

function planLabeled(event: PullRequestEvent, repo: string, config: VmciConfig): WebhookPlan {
  if (event.label === undefined || !sameText(event.label, config.approvalLabel)) {
    return ignored(`label ${quote(event.label ?? '')} is not the approval label`);
  }
  if (isBlocked(config, event.author)) {
    return ignored(`${quote(event.author)} is blocked: the approval label starts nothing`);
  }
  const targets = Object.entries(config.platforms).map(
    ([platform, settings]) => [platform, afterWait(platform, settings, 'approval')] as const,
  );
  const scope = { repo, sha: event.headSha, pr: event.number, waitReason: 'approval' } as const;
  return handled([], [], releaseByTarget(scope, targets));
}

function planPullRequest(
  event: PullRequestEvent,
  repo: string,
  config: VmciConfig,
  now: Date,
): WebhookPlan {
  if (HEAD_ACTIONS.includes(event.action)) return planHead(event, repo, config, now);
  if (event.action === 'closed') {
    // Closed or merged: nothing of the PR runs any more.
    const statuses = [...LIVE_STATUSES];
    return handled([], [{ repo, pr: event.number, statuses, message: PR_CLOSED }]);
  }
  if (event.action === 'labeled') return planLabeled(event, repo, config);
  return ignored(`pull_request action ${quote(event.action)} is not handled`);
}

// --- workflow_run ---------------------------------------------------------------------

/** "build.yml" from ".github/workflows/build.yml" (or "…/build.yml@refs/heads/main"). */
export function workflowFile(path: string): string {
  const withoutRef = path.split('@')[0] ?? path;
  return withoutRef.slice(withoutRef.lastIndexOf('/') + 1);
}

function planWorkflowRun(event: WorkflowRunEvent, repo: string, config: VmciConfig): WebhookPlan {
  if (event.action !== 'completed') {
    return ignored(
      `workflow_run ${quote(event.action)}: only a completed run moves tests; the push or pull request created them`,
    );
  }
  const file = workflowFile(event.workflowPath);
  const built = Object.entries(config.platforms).filter(([, p]) => p.buildWorkflow === file);
  if (built.length === 0) return ignored(`workflow ${quote(file)} builds no platform`);
  const scope = { repo, sha: event.headSha };
  if (event.conclusion === 'success') {
    const targets = built.map(([name, p]) => [name, afterWait(name, p, 'build')] as const);
    return handled([], [], releaseByTarget({ ...scope, waitReason: 'build' }, targets));
  }
  if (event.conclusion === null) return ignored('workflow run completed without a conclusion');
  // The run waits for a maintainer to let it run; it completes again afterwards.
  if (event.conclusion === 'action_required') {
    return ignored('workflow run waits for a maintainer to approve it');
  }
  // failure, cancelled, timed_out, skipped, stale, …: there is no artifact to test.
  // Only the platforms this workflow builds fail; tests still waiting for
  // approval fail too, since after approval they would wait for a build that is over.
  const platforms = built.map(([name]) => name);
  const fail = (waitReason: WaitReason): ReleaseSelector => ({
    ...scope,
    platforms: [...platforms],
    waitReason,
    to: 'failed',
    message: BUILD_WORKFLOW_FAILED,
  });
  return handled([], [], [fail('build'), fail('approval')]);
}

// --- the plan -------------------------------------------------------------------------

export function planWebhook(event: WebhookEvent, config: VmciConfig, now: Date): WebhookPlan {
  if (event.name === 'ping') return { kind: 'ping' };
  if (event.name === 'other') return ignored(`event ${quote(event.event)} is not handled`);
  const repo = configuredRepo(config, event.repo);
  if (repo === undefined) {
    return { kind: 'forbidden', reason: `repository ${quote(event.repo)} is not configured` };
  }
  switch (event.name) {
    case 'push':
      return planPush(event, repo, config, now);
    case 'pull_request':
      return planPullRequest(event, repo, config, now);
    case 'workflow_run':
      return planWorkflowRun(event, repo, config);
  }
}
