// Everything the GitHub stand-in remembers. Owner and repository names are
// case-insensitive on GitHub, so keys are lower-cased.
import type {
  ArtifactRecord,
  CallRecord,
  CommentRecord,
  FaultSpec,
  PullRequestSeed,
  RepoRole,
  StatusRecord,
  WorkflowRunSeed,
} from './types';

export interface ActiveFault {
  spec: FaultSpec;
  path?: RegExp;
  remaining: number;
}

export interface GitHubState {
  counters: { status: number; comment: number; artifact: number };
  /** by `${repo}@${sha}`, oldest first */
  statuses: Map<string, StatusRecord[]>;
  comments: Map<number, CommentRecord>;
  pulls: Map<string, PullRequestSeed>;
  /** repo → login → role */
  collaborators: Map<string, Map<string, RepoRole>>;
  runs: Map<string, WorkflowRunSeed>;
  artifacts: Map<number, ArtifactRecord>;
  /** `${org}/${login}` */
  orgBlocks: Set<string>;
  userBlocks: Set<string>;
  /** owner → installation id */
  installations: Map<string, number>;
  issuedTokens: Set<string>;
  faults: ActiveFault[];
  calls: CallRecord[];
}

export function emptyState(): GitHubState {
  return {
    counters: { status: 30_000_000_000, comment: 1_500_000_000, artifact: 2_000_000_000 },
    statuses: new Map(),
    comments: new Map(),
    pulls: new Map(),
    collaborators: new Map(),
    runs: new Map(),
    artifacts: new Map(),
    orgBlocks: new Set(),
    userBlocks: new Set(),
    installations: new Map(),
    issuedTokens: new Set(),
    faults: [],
    calls: [],
  };
}

export const key = (...parts: (string | number)[]): string => parts.join('#').toLowerCase();

export const DEFAULT_INSTALLATION_ID = 1;
