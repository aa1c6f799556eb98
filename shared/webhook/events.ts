// GitHub webhook deliveries (DESIGN §5) as typed events. Only the fields vm-ci
// reads are checked, so GitHub may add fields freely; a known event that lacks
// one of them, or carries a malformed one, is a 400 with every problem listed.
// Run this only after the signature check: the body is trusted from here on.
import { z } from 'zod';
import { describeIssue, formatIssues } from '../config/problems';
import { commitTitle, fitTitle } from '../domain/title';

export interface PingEvent {
  name: 'ping';
  delivery: string;
  hookId?: number;
  zen?: string;
}

export interface PushEvent {
  name: 'push';
  delivery: string;
  /** repository.full_name, "owner/name" */
  repo: string;
  /** The full ref: refs/heads/<branch> or refs/tags/<tag>. */
  ref: string;
  /** `after`: the commit the ref points to now (all zeros when it was deleted). */
  sha: string;
  deleted: boolean;
  cloneUrl: string;
  /** sender.login */
  pusher: string;
  /** !repository.private; null when the payload does not say. */
  repoPublic: boolean | null;
  /** head_commit.message's first line, fitted; null without a head commit (a deleted branch) or message. */
  title: string | null;
}

export interface PullRequestEvent {
  name: 'pull_request';
  delivery: string;
  action: string;
  /** The base repository, where the PR is open. */
  repo: string;
  number: number;
  headSha: string;
  headRef: string;
  /** The head repository's clone URL; the base repository's when the fork was deleted. */
  headCloneUrl: string;
  /** The head repository ("owner/name"); null when the fork was deleted. */
  headRepo: string | null;
  baseRef: string;
  /** pull_request.user.login */
  author: string;
  /** pull_request.title as one line (domain/title.ts fitTitle); null when the payload does not say. */
  title: string | null;
  /** OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, FIRST_TIME_CONTRIBUTOR, NONE, … */
  authorAssociation: string;
  /** The label just added or removed (labeled / unlabeled). */
  label?: string;
  /** The PR's labels at the time of the event. */
  labels: string[];
  /**
   * pull_request.updated_at: how new the PR (and so its head) is as this event
   * tells it. Events arrive out of order; this orders head events.
   */
  updatedAt: Date;
  /** sender.login: who did it (for `labeled`, who added the label). */
  sender: string;
  /** sender.type: User, Bot, Organization, … */
  senderType: string;
  /** The base repository's !private; null when the payload does not say. */
  repoPublic: boolean | null;
}

export interface WorkflowRunEvent {
  name: 'workflow_run';
  delivery: string;
  action: string;
  repo: string;
  headSha: string;
  headBranch: string | null;
  /** The workflow file, e.g. ".github/workflows/build.yml". */
  workflowPath: string;
  /** success, failure, cancelled, …; null until the run completes. */
  conclusion: string | null;
  runId: number;
  /** The run's attempt (a re-run of the same run is attempt 2, …); 1 when the payload does not say. */
  runAttempt: number;
}

export interface IssueCommentEvent {
  name: 'issue_comment';
  delivery: string;
  /** created, edited, deleted */
  action: string;
  repo: string;
  /** issue.number: the PR's number when `onPullRequest`. */
  number: number;
  /** issue.pull_request is present: the comment is on a pull request, not an issue. */
  onPullRequest: boolean;
  commentId: number;
  /** comment.body ('' when GitHub sends none). */
  body: string;
  /** comment.user.login */
  commenter: string;
  /** comment.user.type: User, Bot, … */
  commenterType: string;
  /** comment.author_association: the commenter's OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, … */
  association: string;
}

/** Any other event: accepted and ignored, its payload unread. */
export interface OtherEvent {
  name: 'other';
  delivery: string;
  event: string;
}

export type WebhookEvent =
  PingEvent | PushEvent | PullRequestEvent | WorkflowRunEvent | IssueCommentEvent | OtherEvent;

export type ParseWebhookResult =
  { ok: true; event: WebhookEvent } | { ok: false; problems: string[] };

export type WebhookHeaders = Readonly<Record<string, string | string[] | undefined>>;

// --- field schemas ---------------------------------------------------------------

const SHA = /^[0-9a-f]{40}$/;
// GitHub's own rules for owners and repository names (as in the config's `repositories`).
const REPOSITORY = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/;
const DELIVERY = /^[A-Za-z0-9-]{1,100}$/;
// Event names are lowercase words joined by underscores; anything else is not GitHub.
const EVENT_NAME = /^[a-z][a-z0-9_]{0,63}$/;

const sha = z.string().regex(SHA, { message: 'expected a 40-character commit sha' });
const fullName = z.string().regex(REPOSITORY, { message: 'expected "owner/name"' });
const nonEmpty = z.string().min(1);
const login = nonEmpty;
// The VM runs `git clone` on it: only http(s), never file:// or git's ext:: transport.
const cloneUrl = z.string().refine(isHttpUrl, { message: 'expected an http(s) URL' });

function isHttpUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const { protocol } = new URL(text);
  return protocol === 'https:' || protocol === 'http:';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// `private` is in every repository object GitHub sends; absent, nothing is known.
const repository = z.object({
  full_name: fullName,
  clone_url: cloneUrl,
  private: z.boolean().optional(),
});

/** true: GitHub says the repository is public; null: it did not say. */
function publicOf(repo: { private?: boolean | undefined }): boolean | null {
  return repo.private === undefined ? null : !repo.private;
}

// --- payload schemas, each turned into its event (without the delivery id) -----------

const pingPayload = z
  .object({ hook_id: z.int().optional(), zen: z.string().optional() })
  .transform((p): Omit<PingEvent, 'delivery'> => ({
    name: 'ping',
    ...(p.hook_id === undefined ? {} : { hookId: p.hook_id }),
    ...(p.zen === undefined ? {} : { zen: p.zen }),
  }));

const pushPayload = z
  .object({
    ref: nonEmpty,
    after: sha,
    deleted: z.boolean(),
    // null when the branch was deleted; absent from older or trimmed payloads.
    head_commit: z.object({ message: z.string().nullish() }).nullish(),
    repository,
    sender: z.object({ login }),
  })
  .transform((p): Omit<PushEvent, 'delivery'> => ({
    name: 'push',
    repo: p.repository.full_name,
    ref: p.ref,
    sha: p.after,
    deleted: p.deleted,
    cloneUrl: p.repository.clone_url,
    pusher: p.sender.login,
    repoPublic: publicOf(p.repository),
    title: commitTitle(p.head_commit?.message),
  }));

const labelSchema = z.object({ name: z.string() });

// GitHub's timestamps: ISO 8601, e.g. 2019-05-15T15:20:33Z.
const timestamp = z
  .string()
  .refine((text) => /^\d{4}-\d{2}-\d{2}T/.test(text) && !Number.isNaN(Date.parse(text)), {
    message: 'expected an ISO 8601 time such as 2019-05-15T15:20:33Z',
  })
  .transform((text) => new Date(text));

const pullRequestPayload = z
  .object({
    action: nonEmpty,
    number: z.int().positive(),
    pull_request: z.object({
      head: z.object({
        sha,
        ref: nonEmpty,
        // null when the fork was deleted
        repo: z.object({ full_name: fullName, clone_url: cloneUrl }).nullable(),
      }),
      base: z.object({ ref: nonEmpty }),
      user: z.object({ login }),
      // In every pull request GitHub sends; an example payload may leave it out.
      title: z.string().nullish(),
      author_association: nonEmpty,
      labels: z.array(labelSchema),
      updated_at: timestamp,
    }),
    label: labelSchema.optional(),
    repository,
    sender: z.object({ login, type: nonEmpty }),
  })
  .transform((p): Omit<PullRequestEvent, 'delivery'> => {
    const pr = p.pull_request;
    return {
      name: 'pull_request',
      action: p.action,
      repo: p.repository.full_name,
      number: p.number,
      headSha: pr.head.sha,
      headRef: pr.head.ref,
      // The base repository also serves the commit (as refs/pull/<n>/head).
      headCloneUrl: pr.head.repo?.clone_url ?? p.repository.clone_url,
      headRepo: pr.head.repo?.full_name ?? null,
      baseRef: pr.base.ref,
      author: pr.user.login,
      title: fitTitle(pr.title),
      authorAssociation: pr.author_association,
      ...(p.label === undefined ? {} : { label: p.label.name }),
      labels: pr.labels.map((label) => label.name),
      updatedAt: pr.updated_at,
      sender: p.sender.login,
      senderType: p.sender.type,
      repoPublic: publicOf(p.repository),
    };
  });

const workflowRunPayload = z
  .object({
    action: nonEmpty,
    repository: z.object({ full_name: fullName }),
    workflow_run: z.object({
      id: z.int().positive(),
      head_sha: sha,
      head_branch: z.string().nullable(),
      // Older payloads lack the run's path; the `workflow` object beside it has it.
      path: nonEmpty.optional(),
      conclusion: z.string().nullable(),
      run_attempt: z.int().positive().optional(),
    }),
    workflow: z.object({ path: nonEmpty }).nullish(),
  })
  // Also runs when other fields failed, so that every problem is listed at once;
  // the values may then be of any type.
  .superRefine(
    (p, ctx) => {
      const run: unknown = p.workflow_run;
      const runPath = isObject(run) ? run.path : undefined;
      if (isObject(run) && runPath === undefined && (p.workflow ?? null) === null) {
        ctx.addIssue({ code: 'custom', path: ['workflow_run', 'path'], message: 'required' });
      }
    },
    { when: ({ value }) => isObject(value) },
  )
  .transform((p): Omit<WorkflowRunEvent, 'delivery'> => ({
    name: 'workflow_run',
    action: p.action,
    repo: p.repository.full_name,
    headSha: p.workflow_run.head_sha,
    headBranch: p.workflow_run.head_branch,
    workflowPath: p.workflow_run.path ?? p.workflow?.path ?? '',
    conclusion: p.workflow_run.conclusion,
    runId: p.workflow_run.id,
    runAttempt: p.workflow_run.run_attempt ?? 1,
  }));

// GitHub sends issue_comment for comments on issues and on pull requests alike;
// only a PR's issue carries `pull_request` (links to the PR, never null there).
const issueCommentPayload = z
  .object({
    action: nonEmpty,
    issue: z.object({
      number: z.int().positive(),
      pull_request: z.object({}).nullish(),
    }),
    comment: z.object({
      id: z.int().positive(),
      body: z.string().nullable(),
      user: z.object({ login, type: nonEmpty }),
      author_association: nonEmpty,
    }),
    repository: z.object({ full_name: fullName }),
  })
  .transform((p): Omit<IssueCommentEvent, 'delivery'> => ({
    name: 'issue_comment',
    action: p.action,
    repo: p.repository.full_name,
    number: p.issue.number,
    onPullRequest: p.issue.pull_request !== undefined && p.issue.pull_request !== null,
    commentId: p.comment.id,
    body: p.comment.body ?? '',
    commenter: p.comment.user.login,
    commenterType: p.comment.user.type,
    association: p.comment.author_association,
  }));

const PAYLOADS = {
  ping: pingPayload,
  push: pushPayload,
  pull_request: pullRequestPayload,
  workflow_run: workflowRunPayload,
  issue_comment: issueCommentPayload,
} as const;

function isKnownEvent(name: string): name is keyof typeof PAYLOADS {
  return Object.hasOwn(PAYLOADS, name);
}

// --- headers --------------------------------------------------------------------------

const headersSchema = z.object({
  'x-github-event': z.string().regex(EVENT_NAME, {
    message: 'expected a GitHub event name such as push',
  }),
  'x-github-delivery': z.string().regex(DELIVERY, {
    message: 'expected a delivery id: 1 to 100 letters, digits and -',
  }),
});

/** Header names are case-insensitive; a header sent once is a string, not a list. */
function normalizeHeaders(headers: WebhookHeaders): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) && value.length === 1 ? value[0] : value;
  }
  return out;
}

/**
 * Reads a delivery: its headers, then the payload of the events vm-ci acts on.
 * Problems come back as data, one "path: message" line each (paths into the
 * body, or the header's name).
 */
export function parseWebhook(headers: WebhookHeaders, body: unknown): ParseWebhookResult {
  const head = headersSchema.safeParse(normalizeHeaders(headers), { error: describeIssue });
  if (!head.success) return { ok: false, problems: formatIssues(head.error.issues) };
  const event = head.data['x-github-event'];
  const delivery = head.data['x-github-delivery'];
  if (!isKnownEvent(event)) return { ok: true, event: { name: 'other', delivery, event } };
  const payload = PAYLOADS[event].safeParse(body, { error: describeIssue });
  if (!payload.success) return { ok: false, problems: formatIssues(payload.error.issues) };
  return { ok: true, event: { ...payload.data, delivery } };
}
