// Everything the GitHub stand-in remembers. Owner and repository names are
// case-insensitive on GitHub, so keys are lower-cased.
import { randomBytes } from 'node:crypto';
import type {
  ArtifactRecord,
  CallRecord,
  CommentRecord,
  FaultSpec,
  GitRepositorySeed,
  ReactionRecord,
  InstallationSeed,
  InstallationTokenRecord,
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
  counters: { status: number; comment: number; artifact: number; reaction: number };
  /** by `${repo}@${sha}`, oldest first */
  statuses: Map<string, StatusRecord[]>;
  comments: Map<number, CommentRecord>;
  /** reactions to issue comments, oldest first */
  reactions: ReactionRecord[];
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
  /** installation id → what it was granted, when seeded with grants */
  grants: Map<number, InstallationSeed>;
  /** token → what it may do */
  issuedTokens: Map<string, InstallationTokenRecord>;
  /** by key(repo) */
  gitRepos: Map<string, GitRepositorySeed & { repo: string }>;
  /** signs the short-lived artifact download URLs */
  downloadKey: Buffer;
  faults: ActiveFault[];
  calls: CallRecord[];
}

export function emptyState(): GitHubState {
  return {
    counters: {
      status: 30_000_000_000,
      comment: 1_500_000_000,
      artifact: 2_000_000_000,
      reaction: 150_000_000,
    },
    statuses: new Map(),
    comments: new Map(),
    reactions: [],
    pulls: new Map(),
    collaborators: new Map(),
    runs: new Map(),
    artifacts: new Map(),
    orgBlocks: new Set(),
    userBlocks: new Set(),
    installations: new Map(),
    grants: new Map(),
    issuedTokens: new Map(),
    gitRepos: new Map(),
    downloadKey: randomBytes(32),
    faults: [],
    calls: [],
  };
}

export const key = (...parts: (string | number)[]): string => parts.join('#').toLowerCase();

export const DEFAULT_INSTALLATION_ID = 1;
