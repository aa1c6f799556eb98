// Octokit clients for the repositories vm-ci reports to: one client for a
// token, or per App installation for a GitHub App. The installation of a
// repository is looked up once (as the App) and cached.
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import type { GitHubAuth } from '../config/secrets';
import { silentLogger, type Logger } from '../log';
import { splitRepo } from './repo';

export interface GitHubClientsOptions {
  /** The REST API root, e.g. https://api.github.com or the local stand-in's /github. */
  baseUrl: string;
  auth: GitHubAuth;
  /** Default: global fetch. */
  fetch?: typeof globalThis.fetch;
  log?: Logger;
  userAgent?: string;
}

/** A token a test VM may hold: read-only on one repository, expiring on its own. */
export interface RepoReadToken {
  token: string;
  expiresAt: string;
}

/** What a VM's token may do: fetch the code, download the build's artifacts. */
export const VM_TOKEN_PERMISSIONS = { contents: 'read', actions: 'read' } as const;

export interface GitHubClients {
  /** A client that may act on `repo` ("owner/name"). Rejects when no client can be made. */
  forRepo(repo: string): Promise<Octokit>;
  /**
   * A new installation token limited to `repo` and VM_TOKEN_PERMISSIONS, or
   * null when the credentials cannot be narrowed (a plain token, which must
   * never reach a VM). Rejects when GitHub refuses.
   */
  repoReadToken(repo: string): Promise<RepoReadToken | null>;
}

type OctokitLogger = Record<'debug' | 'info' | 'warn' | 'error', (message: unknown) => void>;

/**
 * Octokit logs whole request options (headers included) at debug: only the
 * message string is forwarded, and only at debug, so no credential reaches a log.
 */
export function octokitLogger(log: Logger): OctokitLogger {
  const forward = (level: string) => (message: unknown) =>
    log.debug(typeof message === 'string' ? message : 'octokit log entry', {
      source: 'octokit',
      octokitLevel: level,
    });
  return {
    debug: forward('debug'),
    info: forward('info'),
    warn: forward('warn'),
    error: forward('error'),
  };
}

/** The same client for every repository (a token): it cannot be narrowed for a VM. */
function single(octokit: Octokit): GitHubClients {
  return {
    async forRepo(repo) {
      splitRepo(repo);
      return octokit;
    },
    async repoReadToken(repo) {
      splitRepo(repo);
      return null;
    },
  };
}

/** As the App (JWT): an installation token for one repository, read-only. */
async function mintRepoReadToken(
  app: Octokit,
  installationId: number,
  repoName: string,
): Promise<RepoReadToken> {
  const { data } = await app.rest.apps.createInstallationAccessToken({
    installation_id: installationId,
    repositories: [repoName],
    permissions: { ...VM_TOKEN_PERMISSIONS },
  });
  return { token: data.token, expiresAt: data.expires_at };
}

export function createGitHubClients(options: GitHubClientsOptions): GitHubClients {
  const log = options.log ?? silentLogger;
  const base = {
    baseUrl: options.baseUrl,
    userAgent: options.userAgent ?? 'vm-ci',
    log: octokitLogger(log),
    ...(options.fetch ? { request: { fetch: options.fetch } } : {}),
  };
  const { auth } = options;

  if (auth.kind === 'token') {
    return single(new Octokit({ ...base, auth: auth.token }));
  }

  const appClient = (installationId?: number): Octokit =>
    new Octokit({
      ...base,
      authStrategy: createAppAuth,
      auth: {
        appId: auth.appId,
        privateKey: auth.privateKey,
        ...(installationId === undefined ? {} : { installationId }),
      },
    });

  const app = appClient();
  if (auth.installationId !== undefined) {
    const installationId = auth.installationId;
    const octokit = appClient(installationId);
    return {
      async forRepo(repo) {
        splitRepo(repo);
        return octokit;
      },
      async repoReadToken(repo) {
        return mintRepoReadToken(app, installationId, splitRepo(repo).name);
      },
    };
  }

  // One client per installation, so its installation token is reused across repositories.
  const byInstallation = new Map<number, Octokit>();
  const byRepo = new Map<string, Promise<Octokit>>();
  const installationOf = new Map<string, number>();

  const lookUp = async (owner: string, name: string): Promise<Octokit> => {
    const { data } = await app.rest.apps.getRepoInstallation({ owner, repo: name });
    log.debug('GitHub App installation found', {
      repo: `${owner}/${name}`,
      installationId: data.id,
    });
    installationOf.set(`${owner}/${name}`.toLowerCase(), data.id);
    let octokit = byInstallation.get(data.id);
    if (!octokit) {
      octokit = appClient(data.id);
      byInstallation.set(data.id, octokit);
    }
    return octokit;
  };

  const forRepo = (repo: string): Promise<Octokit> => {
    {
      let owner: string, name: string;
      try {
        ({ owner, name } = splitRepo(repo));
      } catch (err) {
        return Promise.reject(err);
      }
      // GitHub names are case-insensitive.
      const key = `${owner}/${name}`.toLowerCase();
      const cached = byRepo.get(key);
      if (cached) return cached;
      // The promise is cached so concurrent callers share one lookup; a failed
      // lookup is forgotten so the next call tries again.
      const pending = lookUp(owner, name);
      byRepo.set(key, pending);
      pending.catch(() => {
        if (byRepo.get(key) === pending) byRepo.delete(key);
      });
      return pending;
    }
  };

  return {
    forRepo,
    async repoReadToken(repo) {
      const { owner, name } = splitRepo(repo);
      await forRepo(repo);
      const installationId = installationOf.get(`${owner}/${name}`.toLowerCase())!;
      return mintRepoReadToken(app, installationId, name);
    },
  };
}
