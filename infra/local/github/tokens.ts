// Installation tokens as GitHub issues them: for some or all of the
// installation's repositories, with some or all of its permissions, for an
// hour. What each token may do is kept, and checked where a repository is read.
import { randomBytes } from 'node:crypto';
import { GitHubError, notFound } from './errors';
import { isoSeconds, repository, stableId } from './shapes';
import { key, type GitHubState } from './state';
import type { InstallationTokenRecord, Permissions } from './types';

export const TOKEN_LIFETIME_MS = 60 * 60 * 1000;

/** What an installation was granted unless seeded otherwise: what vm-ci asks for. */
export const INSTALLATION_PERMISSIONS: Readonly<Permissions> = {
  actions: 'read',
  contents: 'read',
  issues: 'write',
  metadata: 'read',
  pull_requests: 'read',
  statuses: 'write',
};

const LEVELS = { read: 1, write: 2, admin: 3 } as const;

const NOT_GRANTED = 'The permissions requested are not granted to this installation.';
const NOT_ACCESSIBLE =
  'There is at least one repository that does not exist or is not accessible to the parent installation.';

export interface Installation {
  id: number;
  /** lower-case; undefined when no owner was seeded with this id: then it serves every owner */
  owner?: string;
  permissions: Permissions;
  /** lower-case names, or undefined for all the owner's repositories */
  repositories?: string[];
}

export function installationOf(state: GitHubState, id: number): Installation {
  const owner = [...state.installations].find(([, seeded]) => seeded === id)?.[0];
  const grants = state.grants.get(id);
  return {
    id,
    owner,
    permissions: { ...(grants?.permissions ?? INSTALLATION_PERMISSIONS) },
    repositories: grants?.repositories?.map((name) => name.toLowerCase()),
  };
}

/** "owner/name" of every repository the stand-in was told about, as seeded. */
function knownRepos(state: GitHubState): string[] {
  const repos = [
    ...[...state.gitRepos.values()].map((r) => r.repo),
    ...[...state.artifacts.values()].map((a) => a.repo),
    ...[...state.runs.keys(), ...state.pulls.keys(), ...state.collaborators.keys()].map(
      (k) => k.split('#')[0] ?? '',
    ),
  ];
  const byKey = new Map<string, string>();
  for (const repo of repos) if (!byKey.has(key(repo))) byKey.set(key(repo), repo);
  return [...byKey.values()];
}

const repoId = (fullName: string): number => stableId(`repo:${fullName}`);

function invalid(field: string, problem: string): GitHubError {
  return new GitHubError(422, `Invalid request.\n\nFor 'properties/${field}', ${problem}.`);
}

interface TokenRequest {
  repositories?: string[];
  repository_ids?: number[];
  permissions?: Permissions;
}

function parseRequest(body: unknown): TokenRequest {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw invalid('body', 'is not an object');
  const { repositories, repository_ids: ids, permissions } = body as Record<string, unknown>;
  if (
    repositories !== undefined &&
    (!Array.isArray(repositories) || repositories.some((r) => typeof r !== 'string'))
  ) {
    throw invalid('repositories', `${JSON.stringify(repositories)} is not an array of strings`);
  }
  if (ids !== undefined && (!Array.isArray(ids) || ids.some((id) => !Number.isInteger(id)))) {
    throw invalid('repository_ids', `${JSON.stringify(ids)} is not an array of integers`);
  }
  if (
    permissions !== undefined &&
    (typeof permissions !== 'object' || permissions === null || Array.isArray(permissions))
  ) {
    throw invalid('permissions', `${JSON.stringify(permissions)} is not an object`);
  }
  return {
    repositories: repositories as string[] | undefined,
    repository_ids: ids as number[] | undefined,
    permissions: permissions as Permissions | undefined,
  };
}

function grantedPermissions(inst: Installation, requested: Permissions | undefined): Permissions {
  if (requested === undefined) return inst.permissions;
  for (const [name, level] of Object.entries(requested)) {
    const has = inst.permissions[name];
    if (!(level in LEVELS) || has === undefined || LEVELS[level] > LEVELS[has]) {
      throw new GitHubError(422, NOT_GRANTED);
    }
  }
  return { ...requested };
}

/** The installation's repositories the request names, as "owner/name" where that is known. */
function grantedRepositories(
  state: GitHubState,
  inst: Installation,
  request: TokenRequest,
): { names: string[]; fullNames: string[] } | undefined {
  if (!request.repositories?.length && !request.repository_ids?.length) return undefined;
  const mayUse = (owner: string, name: string): boolean =>
    (inst.owner === undefined || inst.owner === owner.toLowerCase()) &&
    (inst.repositories === undefined || inst.repositories.includes(name.toLowerCase()));
  const known = knownRepos(state).filter((repo) => {
    const [owner = '', name = ''] = repo.split('/');
    return mayUse(owner, name);
  });
  const fullNames = new Map<string, string>();
  const names = new Set<string>();
  for (const name of request.repositories ?? []) {
    if (!/^[\w.-]+$/.test(name) || !mayUse(inst.owner ?? '', name)) {
      throw new GitHubError(422, NOT_ACCESSIBLE);
    }
    names.add(name.toLowerCase());
    // An installation seeded for no owner serves every owner: its name is placed only if known.
    const fullName =
      inst.owner === undefined
        ? known.find((repo) => repo.split('/')[1]?.toLowerCase() === name.toLowerCase())
        : `${inst.owner}/${name}`;
    if (fullName) fullNames.set(key(fullName), fullName);
  }
  for (const id of request.repository_ids ?? []) {
    const fullName = known.find((repo) => repoId(repo) === id);
    if (!fullName) throw new GitHubError(422, NOT_ACCESSIBLE);
    names.add((fullName.split('/')[1] ?? '').toLowerCase());
    fullNames.set(key(fullName), fullName);
  }
  return { names: [...names], fullNames: [...fullNames.values()] };
}

/** POST /app/installations/:id/access_tokens: the answer's body. */
export function issueToken(
  state: GitHubState,
  installationId: number,
  body: unknown,
  now: number,
  api: string,
) {
  if (!Number.isInteger(installationId) || installationId <= 0) throw notFound();
  const inst = installationOf(state, installationId);
  const request = parseRequest(body);
  const permissions = grantedPermissions(inst, request.permissions);
  const scoped = grantedRepositories(state, inst, request);
  // ghs_ + 36 base62-ish characters, like a real installation token.
  const token = `ghs_${randomBytes(27).toString('base64url').replace(/[-_]/g, 'x').slice(0, 36)}`;
  const record: InstallationTokenRecord = {
    installationId,
    owner: inst.owner,
    repositories: scoped?.names ?? inst.repositories,
    permissions,
    expiresAt: now + TOKEN_LIFETIME_MS,
  };
  state.issuedTokens.set(token, record);
  return {
    token,
    expires_at: isoSeconds(new Date(record.expiresAt)),
    permissions,
    repository_selection: record.repositories ? 'selected' : 'all',
    ...(scoped ? { repositories: scoped.fullNames.map((repo) => repository(api, repo)) } : {}),
  };
}

/** The token's record while it is valid (issued, not revoked, not expired). */
export function validToken(
  state: GitHubState,
  token: string | undefined,
  now: number,
): InstallationTokenRecord | undefined {
  const record = token === undefined ? undefined : state.issuedTokens.get(token);
  return record && record.expiresAt > now ? record : undefined;
}

export function tokenCovers(record: InstallationTokenRecord, repo: string): boolean {
  const [owner = '', name = ''] = repo.toLowerCase().split('/');
  if (record.owner !== undefined && record.owner !== owner) return false;
  return record.repositories === undefined || record.repositories.includes(name);
}

/** Write includes read; every installation token may read metadata, as on GitHub. */
export function tokenPermits(
  record: InstallationTokenRecord,
  permission: string,
  level: 'read' | 'write',
): boolean {
  if (permission === 'metadata' && level === 'read') return true;
  const has = record.permissions[permission];
  return has !== undefined && LEVELS[has] >= LEVELS[level];
}
