// What a webhook event asks for (DESIGN §5), decided without any I/O: the tests
// to create, the older tests to cancel and the waiting tests to move on. What
// it needs to know from outside (is this head commit approved? may the person
// who added the label approve?) is asked first (planQuestions) and handed in
// as facts. The webhook function carries the plan out; a redelivered event
// plans the same tests (ids derive from the event's fields), so carrying it out
// twice is safe.
import type { SupersedeMode, VmciConfig } from '../config/schema';
import { branchMatches } from '../config/match';
import { completedOutcome, type BuildRecord } from '../builds/record';
import { PR_CLOSED, USER_BLOCKED, newCommitWaitsForApproval } from '../domain/messages';
import { newTestRecord, type NewTestInput } from '../domain/new-test';
import { LIVE_STATUSES, type TestRecord, type TestStatus } from '../domain/test';
import { mayApprove, type PullRequestInfo, type RepoPermission } from '../github/lookups';
import type { ApprovalRecord } from '../store/port';
import type { CancelSelector } from '../tests/cancel';
import type { ReleaseScope, ReleaseSelector } from '../tests/release-waiting';
import type {
  IssueCommentEvent,
  PullRequestEvent,
  PushEvent,
  WebhookEvent,
  WorkflowRunEvent,
} from './events';
import { afterWait, startState, type GateTarget, type StartContext } from './gates';
import {
  decideRetest,
  isBlockedUser,
  mayRetest,
  retestAuthorBlocked,
  retestPrClosed,
} from './retest';

export type { ReleaseSelector };

/**
 * A PR's new head, which the store and GitHub place among the PR's other heads
 * (order.ts): an event about an older head changes nothing, and the tests of
 * older heads are superseded.
 */
export interface HeadOrder {
  repo: string;
  pr: number;
  sha: string;
  /** The event's pull_request.updated_at (the new tests' headUpdatedAt). */
  updatedAt: Date;
  /** The statuses in which tests of older heads are canceled, per `supersede`; [] for none. */
  supersede: TestStatus[];
}

/** A head commit's tests that wait for approval, and where they go once it is recorded. */
export interface ReleaseIfApproved {
  repo: string;
  pr: number;
  sha: string;
  release: ReleaseSelector[];
}

/** What a plan needs to know from outside, asked before planning (handle-event.ts). */
export interface PlanQuestions {
  /** Is an approval of this head commit recorded? (an untrusted author's head event) */
  approval?: { repo: string; pr: number; sha: string };
  /** What permission has this person on the repository? (who added the approval label) */
  permission?: { repo: string; login: string };
  /** What is the PR now: its head, author, state? (a /retest) */
  pullRequest?: { repo: string; pr: number };
}

/** The answers to PlanQuestions. */
export interface PlanFacts {
  approved?: boolean;
  permission?: RepoPermission;
  pullRequest?: PullRequestInfo;
}

/** The bot's answer to a refused /retest: one comment on the PR, and a `confused` reaction. */
export interface RetestReply {
  repo: string;
  pr: number;
  commentId: number;
  /** One friendly line. */
  body: string;
}

/** A /retest taken: a new run of the PR head's tests, for the platforms of `create`. */
export interface RetestOrder {
  repo: string;
  pr: number;
  sha: string;
  commentId: number;
  commenter: string;
}

/** An approval label that counts for nothing, for the log: who tried, and what they may do. */
export interface RefusedApproval {
  sender: string;
  senderType: string;
  permission?: RepoPermission;
}

export type WebhookPlan =
  /** 202 with the reason. */
  | { kind: 'ignored'; reason: string; refused?: RefusedApproval }
  /** 403: the repository is not configured. */
  | { kind: 'forbidden'; reason: string }
  /** 202 with the reason; the person who asked is told why (a refused /retest). */
  | { kind: 'refused'; reason: string; reply: RetestReply }
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
      /** A head event: where its head stands among the PR's heads decides what it supersedes. */
      head?: HeadOrder;
      /** The approval to record before anything is released (`labeled` by someone who may approve). */
      approve?: ApprovalRecord;
      /**
       * The event's tests wait for approval: if an approval of the commit is
       * recorded by the time they are stored (a `labeled` racing this event), release them.
       */
      releaseIfApproved?: ReleaseIfApproved;
      /** A completed run of a platform's build workflow: kept, then the commit's tests move by it. */
      build?: BuildRecord;
      /**
       * A /retest: `create` holds run 1 of each platform it asks for; each
       * becomes the next run after the head's latest (which needs the store),
       * and live older runs of the same head and platform are canceled.
       */
      retest?: RetestOrder;
      /** Live older runs that the event's new runs replace, each canceled with its line. */
      replaceRuns?: { read: TestRecord; message: string }[];
    };

/** Which older tests of a PR a new head commit cancels, per `supersede`. */
const SUPERSEDED_STATUSES: Readonly<Record<SupersedeMode, readonly TestStatus[]>> = {
  queued: ['waiting', 'pending', 'queued'], // no VM yet
  all: LIVE_STATUSES,
  none: [],
};

/** PR authors who may run code without approval (DESIGN §5). */
const TRUSTED_ASSOCIATIONS: readonly string[] = ['OWNER', 'MEMBER', 'COLLABORATOR'];

/** Actions of a PR that put a new head commit up for testing. */
const HEAD_ACTIONS: readonly string[] = ['opened', 'synchronize', 'reopened'];

const BRANCH_PREFIX = 'refs/heads/';

export type HandledPlan = Extract<WebhookPlan, { kind: 'handled' }>;

/**
 * A plan that only stores new tests (a push, most often): nothing to read,
 * cancel, release or record first, so its tests and the delivery's answer
 * can be written in one transaction (handle-event.ts).
 */
export function createsOnly(plan: HandledPlan): boolean {
  return (
    plan.create.length > 0 &&
    plan.cancel.length === 0 &&
    plan.release.length === 0 &&
    !plan.rerunClosed &&
    !plan.head &&
    !plan.approve &&
    !plan.releaseIfApproved &&
    !plan.build &&
    !plan.retest &&
    !plan.replaceRuns?.length
  );
}

const ignored = (reason: string): WebhookPlan => ({ kind: 'ignored', reason });
const handled = (
  create: TestRecord[],
  cancel: CancelSelector[] = [],
  release: ReleaseSelector[] = [],
): HandledPlan => ({ kind: 'handled', create, cancel, release });
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
    title: event.title,
    trigger: 'push',
    pr: null,
    run: 1,
    repoPublic: event.repoPublic,
  } as const;
  return handled(createTests(config, input, { approved: true, blocked: false }, now));
}

// --- pull_request ---------------------------------------------------------------------

function isBlocked(config: VmciConfig, login: string): boolean {
  return config.blockedUsers.some((user) => sameText(user, login));
}

function isTrusted(event: PullRequestEvent): boolean {
  return TRUSTED_ASSOCIATIONS.includes(event.authorAssociation.toUpperCase());
}

function isApprovalLabel(config: VmciConfig, label: string | undefined): boolean {
  return label !== undefined && sameText(label, config.approvalLabel);
}

function isBot(event: PullRequestEvent): boolean {
  return sameText(event.senderType, 'Bot');
}

/** Where the commit's tests that wait for approval go once it is approved, each to its next gate. */
function approvalRelease(repo: string, pr: number, sha: string, config: VmciConfig) {
  const targets = Object.entries(config.platforms).map(
    ([platform, settings]) => [platform, afterWait(platform, settings, 'approval')] as const,
  );
  return releaseByTarget({ repo, sha, pr, waitReason: 'approval' }, targets);
}

/**
 * What `planWebhook` will need to know about `event` from the store or
 * GitHub: whether its head commit is approved (an untrusted author's head
 * event), or the permission of the person who added the approval label.
 * Nothing for any other event, nor for a blocked author's.
 */
export function planQuestions(event: WebhookEvent, config: VmciConfig): PlanQuestions {
  if (event.name === 'issue_comment') {
    const repo = configuredRepo(config, event.repo);
    if (repo === undefined || decideRetest(event, config).kind !== 'retest') return {};
    return { pullRequest: { repo, pr: event.number } };
  }
  if (event.name !== 'pull_request') return {};
  const repo = configuredRepo(config, event.repo);
  if (repo === undefined || isBlocked(config, event.author)) return {};
  if (HEAD_ACTIONS.includes(event.action)) {
    return isTrusted(event) ? {} : { approval: { repo, pr: event.number, sha: event.headSha } };
  }
  if (event.action === 'labeled' && isApprovalLabel(config, event.label) && !isBot(event)) {
    return { permission: { repo, login: event.sender } };
  }
  return {};
}

function planHead(
  event: PullRequestEvent,
  repo: string,
  config: VmciConfig,
  now: Date,
  facts: PlanFacts,
): WebhookPlan {
  const blocked = isBlocked(config, event.author);
  // An approval covers the head commit it was given for: the label still on the
  // PR approves nothing new. A new commit waits for a maintainer to approve it.
  const approved = isTrusted(event) || facts.approved === true;
  const labelStillOn = event.labels.some((label) => isApprovalLabel(config, label));
  const context = {
    approved,
    blocked,
    ...(labelStillOn ? { approvalMessage: newCommitWaitsForApproval(config.approvalLabel) } : {}),
  };
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
    title: event.title,
    trigger: 'pull_request',
    pr: event.number,
    run: 1,
    headUpdatedAt: event.updatedAt,
    repoPublic: event.repoPublic,
  } as const;
  const create = createTests(config, input, context, now);
  const order = { repo, pr: event.number, sha: event.headSha, updatedAt: event.updatedAt };
  // A blocked author's code stops running at once, whatever `supersede` says,
  // including this commit's tests from an earlier delivery (a reopen).
  if (blocked) {
    const cancel = { repo, pr: event.number, statuses: [...LIVE_STATUSES] };
    return {
      ...handled(create, [{ ...cancel, message: USER_BLOCKED }]),
      head: { ...order, supersede: [] },
    };
  }
  return {
    ...handled(create),
    ...(event.action === 'reopened' ? { rerunClosed: true } : {}),
    head: { ...order, supersede: [...SUPERSEDED_STATUSES[config.supersede]] },
    ...(approved
      ? {}
      : {
          releaseIfApproved: {
            repo,
            pr: event.number,
            sha: event.headSha,
            release: approvalRelease(repo, event.number, event.headSha, config),
          },
        }),
  };
}

/** Whether the sender of an approval label may approve: a configured bot, or a person with write access. */
function senderMayApprove(
  event: PullRequestEvent,
  config: VmciConfig,
  facts: PlanFacts,
): { ok: true } | { ok: false; reason: string; refused: RefusedApproval } {
  const who = { sender: event.sender, senderType: event.senderType };
  const sender = quote(event.sender);
  if (isBot(event)) {
    if (config.approvalBots.some((bot) => sameText(bot, event.sender))) return { ok: true };
    return {
      ok: false,
      reason: `bot ${sender} is not in approvalBots: its approval label counts for nothing`,
      refused: who,
    };
  }
  const permission = facts.permission;
  if (permission === undefined) {
    return {
      ok: false,
      reason: `${sender}'s permission is not known: the approval label counts for nothing`,
      refused: who,
    };
  }
  if (mayApprove(permission)) return { ok: true };
  const access = permission.roleName ?? permission.permission;
  return {
    ok: false,
    reason: `${sender} has ${quote(access)} access: only people with write access may approve`,
    refused: { ...who, permission },
  };
}

function planLabeled(
  event: PullRequestEvent,
  repo: string,
  config: VmciConfig,
  now: Date,
  facts: PlanFacts,
): WebhookPlan {
  if (!isApprovalLabel(config, event.label)) {
    return ignored(`label ${quote(event.label ?? '')} is not the approval label`);
  }
  if (isBlocked(config, event.author)) {
    return ignored(`${quote(event.author)} is blocked: the approval label starts nothing`);
  }
  const check = senderMayApprove(event, config, facts);
  if (!check.ok) return { kind: 'ignored', reason: check.reason, refused: check.refused };
  // The approval covers the head commit the maintainer saw when adding the label.
  const approve: ApprovalRecord = {
    repo,
    pr: event.number,
    sha: event.headSha,
    approvedBy: event.sender,
    approvedAt: now,
    delivery: event.delivery,
  };
  const release = approvalRelease(repo, event.number, event.headSha, config);
  return { ...handled([], [], release), approve };
}

function planPullRequest(
  event: PullRequestEvent,
  repo: string,
  config: VmciConfig,
  now: Date,
  facts: PlanFacts,
): WebhookPlan {
  if (HEAD_ACTIONS.includes(event.action)) return planHead(event, repo, config, now, facts);
  if (event.action === 'closed') {
    // Closed or merged: nothing of the PR runs any more.
    const statuses = [...LIVE_STATUSES];
    return handled([], [{ repo, pr: event.number, statuses, message: PR_CLOSED }]);
  }
  if (event.action === 'labeled') return planLabeled(event, repo, config, now, facts);
  return ignored(`pull_request action ${quote(event.action)} is not handled`);
}

// --- workflow_run ---------------------------------------------------------------------

/** "build.yml" from ".github/workflows/build.yml" (or "…/build.yml@refs/heads/main"). */
export function workflowFile(path: string): string {
  const withoutRef = path.split('@')[0] ?? path;
  return withoutRef.slice(withoutRef.lastIndexOf('/') + 1);
}

function planWorkflowRun(
  event: WorkflowRunEvent,
  repo: string,
  config: VmciConfig,
  now: Date,
): WebhookPlan {
  if (event.action !== 'completed') {
    return ignored(
      `workflow_run ${quote(event.action)}: only a completed run moves tests; the push or pull request created them`,
    );
  }
  const file = workflowFile(event.workflowPath);
  const built = Object.entries(config.platforms).filter(([, p]) => p.buildWorkflow === file);
  if (built.length === 0) return ignored(`workflow ${quote(file)} builds no platform`);
  const outcome = completedOutcome(event.conclusion);
  if (outcome === null) {
    // action_required: the run waits for a maintainer to let it run; it completes again afterwards.
    return ignored(
      event.conclusion === null
        ? 'workflow run completed without a conclusion'
        : 'workflow run waits for a maintainer to approve it',
    );
  }
  // Kept first, then the commit's tests move by what is kept (settle.ts): a
  // failure (cancelled, timed_out, skipped, …) after a success undoes nothing,
  // and tests that start waiting later find the build over.
  const build: BuildRecord = {
    repo,
    sha: event.headSha,
    workflow: file,
    outcome,
    runId: event.runId,
    runAttempt: event.runAttempt,
    conclusion: event.conclusion,
    source: 'event',
    at: now,
  };
  return { ...handled([]), build };
}

// --- issue_comment (/retest) --------------------------------------------------------------

function planIssueComment(
  event: IssueCommentEvent,
  repo: string,
  config: VmciConfig,
  now: Date,
  facts: PlanFacts,
): WebhookPlan {
  const decision = decideRetest(event, config);
  if (decision.kind === 'ignore') return ignored(decision.reason);
  const refused = (reason: string, body: string): WebhookPlan => ({
    kind: 'refused',
    reason,
    reply: { repo, pr: event.number, commentId: event.commentId, body },
  });
  if (decision.kind === 'refuse') return refused(decision.reason, decision.reply);
  const pr = facts.pullRequest;
  if (pr === undefined) return ignored(`PR #${event.number} is not known: nothing to retest`);
  if (pr.state !== 'open') {
    return refused(
      `/retest on PR #${pr.number}, which is ${pr.state}`,
      retestPrClosed(event.commenter),
    );
  }
  if (isBlockedUser(config, pr.author)) {
    return refused(
      `/retest on PR #${pr.number}, whose author ${quote(pr.author)} is blocked`,
      retestAuthorBlocked(event.commenter),
    );
  }
  // Who may /retest has write access: asking for a run of the head approves it.
  const input = {
    repo,
    sha: pr.sha,
    ref: pr.headRepo === null ? `refs/pull/${pr.number}/head` : `${BRANCH_PREFIX}${pr.ref}`,
    cloneUrl: pr.cloneUrl,
    author: pr.author,
    // The title GitHub shows now, not the one the PR was opened with.
    title: pr.title,
    trigger: 'pull_request',
    pr: pr.number,
    run: 1,
    // GitHub's time of the PR as it was read: no head older than this one is newer.
    headUpdatedAt: pr.updatedAt,
    repoPublic: pr.repoPublic,
  } as const;
  const context = { approved: true, blocked: false };
  const create = decision.platforms.map((platform) =>
    newTestRecord(
      { ...input, platform },
      startState(platform, config.platforms[platform]!, context),
      now,
    ),
  );
  const retest: RetestOrder = {
    repo,
    pr: pr.number,
    sha: pr.sha,
    commentId: event.commentId,
    commenter: event.commenter,
  };
  if (mayRetest(pr.authorAssociation)) return { ...handled(create), retest };
  // A fork's head: the maintainer's /retest is its approval, as the label's would be.
  const approve: ApprovalRecord = {
    repo,
    pr: pr.number,
    sha: pr.sha,
    approvedBy: event.commenter,
    approvedAt: now,
    delivery: event.delivery,
  };
  const release = approvalRelease(repo, pr.number, pr.sha, config);
  return { ...handled(create, [], release), approve, retest };
}

// --- the plan -------------------------------------------------------------------------

/** `facts` answers planQuestions(event, config); a fact not given counts as no. */
export function planWebhook(
  event: WebhookEvent,
  config: VmciConfig,
  now: Date,
  facts: PlanFacts = {},
): WebhookPlan {
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
      return planPullRequest(event, repo, config, now, facts);
    case 'workflow_run':
      return planWorkflowRun(event, repo, config, now);
    case 'issue_comment':
      return planIssueComment(event, repo, config, now, facts);
  }
}
