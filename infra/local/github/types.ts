// Seeds, records and options of the local GitHub stand-in. Seeds use GitHub's
// own field names (snake_case) so they read like fragments of real payloads.

export const COMMIT_STATES = ['error', 'failure', 'pending', 'success'] as const;
export type CommitState = (typeof COMMIT_STATES)[number];

export type RepoRole = 'admin' | 'maintain' | 'write' | 'triage' | 'read';

export type AuthorAssociation =
  | 'OWNER'
  | 'MEMBER'
  | 'COLLABORATOR'
  | 'CONTRIBUTOR'
  | 'FIRST_TIME_CONTRIBUTOR'
  | 'FIRST_TIMER'
  | 'NONE';

export interface PullRequestSeed {
  number: number;
  /** the author's login */
  user: string;
  head: {
    sha: string;
    ref: string;
    /** "owner/name" of a fork; the base repo by default */ repo?: string;
  };
  base?: { sha?: string; ref?: string };
  title?: string;
  body?: string | null;
  state?: 'open' | 'closed';
  author_association?: AuthorAssociation;
  labels?: string[];
  draft?: boolean;
  merged?: boolean;
  /** ISO 8601; the creation time (2026-01-01) by default */
  updated_at?: string;
}

export interface WorkflowRunSeed {
  id: number;
  head_sha: string;
  name?: string;
  head_branch?: string;
  event?: string;
  status?: 'queued' | 'in_progress' | 'completed' | 'waiting' | 'requested' | 'pending';
  conclusion?: 'success' | 'failure' | 'cancelled' | 'skipped' | 'timed_out' | 'neutral' | null;
  workflow_id?: number;
  path?: string;
  run_number?: number;
  run_attempt?: number;
  /** numbers of the PRs the run belongs to */
  pull_requests?: number[];
}

export interface ArtifactSeed {
  run_id: number;
  name: string;
  /** the zip's bytes */
  data: Buffer | string;
  id?: number;
  expired?: boolean;
}

export interface StatusRecord {
  id: number;
  state: CommitState;
  description: string | null;
  target_url: string | null;
  context: string;
  created_at: string;
  /** login of the caller that posted it */
  creator: string;
}

export interface CommentRecord {
  id: number;
  repo: string;
  issue_number: number;
  body: string;
  user: string;
  created_at: string;
  updated_at: string;
}

export const REACTION_CONTENTS = [
  '+1',
  '-1',
  'laugh',
  'confused',
  'heart',
  'hooray',
  'rocket',
  'eyes',
] as const;
export type ReactionContent = (typeof REACTION_CONTENTS)[number];

export interface ReactionRecord {
  id: number;
  repo: string;
  comment_id: number;
  content: ReactionContent;
  /** login of who reacted */
  user: string;
  created_at: string;
}

/** A comment someone (not vm-ci) wrote on an issue or pull request. */
export interface CommentSeed {
  issue_number: number;
  body: string;
  /** the author's login */
  user: string;
}

export interface ArtifactRecord {
  id: number;
  repo: string;
  run_id: number;
  name: string;
  data: Buffer;
  expired: boolean;
  created_at: string;
}

export interface FaultSpec {
  /** regular expression tested against the path after /github, e.g. "/statuses/" */
  path?: string | RegExp;
  method?: string;
  status: number;
  /** how many matching calls fail; 1 by default */
  count?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** seconds, sent as retry-after (403 and 429 default to 1) */
  retryAfter?: number;
}

export interface CallRecord {
  method: string;
  /** the path after /github, without the query */
  path: string;
  query: Record<string, string>;
  body: unknown;
  /** request headers, lower-case, without authorization */
  headers: Record<string, string>;
  /** the authorization scheme only, never the credential */
  auth: 'token' | 'bearer' | 'basic' | 'none' | 'other';
  status: number;
  time: string;
}

/** An installation's permission levels, by GitHub's names: { contents: 'read', statuses: 'write' }. */
export type Permissions = Record<string, 'read' | 'write' | 'admin'>;

export interface InstallationSeed {
  /** what the App was granted; INSTALLATION_PERMISSIONS by default */
  permissions?: Permissions;
  /** names of the owner's repositories it may use (selected); all of them by default */
  repositories?: string[];
}

export interface GitRepositorySeed {
  /** a local git repository, bare or not, served as it is (not copied) */
  path: string;
  /** anonymous clones and REST reads of the repository are refused */
  private: boolean;
}

/** An installation token the stand-in issued, as it remembers it. */
export interface InstallationTokenRecord {
  installationId: number;
  /** the installation's owner (lower-case); undefined for an installation seeded for no owner */
  owner?: string;
  /** repository names it may use (lower-case), or undefined for all the installation has */
  repositories?: string[];
  permissions: Permissions;
  /** ms since the epoch, by the stand-in's clock */
  expiresAt: number;
}

export interface GitHubStandInOptions {
  /** when set, only this token (and installation tokens the stand-in issued) is accepted */
  token?: string;
  /** the stand-in's clock in ms (token and download URL expiry); Date.now by default */
  now?: () => number;
  log?: (line: string) => void;
}
