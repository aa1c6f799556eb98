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

export interface GitHubClients {
  /** A client that may act on `repo` ("owner/name"). Rejects when no client can be made. */
  forRepo(repo: string): Promise<Octokit>;
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

/** The same client for every repository (a token, or one known installation). */
function single(octokit: Octokit): GitHubClients {
  return {
    async forRepo(repo) {
      splitRepo(repo);
      return octokit;
    },
  };
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

  if (auth.installationId !== undefined) {
    return single(appClient(auth.installationId));
  }

  // One client per installation, so its installation token is reused across repositories.
  const app = appClient();
  const byInstallation = new Map<number, Octokit>();
  const byRepo = new Map<string, Promise<Octokit>>();

  const lookUp = async (owner: string, name: string): Promise<Octokit> => {
    const { data } = await app.rest.apps.getRepoInstallation({ owner, repo: name });
    log.debug('GitHub App installation found', {
      repo: `${owner}/${name}`,
      installationId: data.id,
    });
    let octokit = byInstallation.get(data.id);
    if (!octokit) {
      octokit = appClient(data.id);
      byInstallation.set(data.id, octokit);
    }
    return octokit;
  };

  return {
    forRepo(repo) {
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
    },
  };
}
