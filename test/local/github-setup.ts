// One stand-in behind a real HTTP server, and real Octokit clients pointed at it.
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { serve } from '../../infra/local/http';
import {
  createGitHubStandIn,
  type GitHubStandIn,
  type GitHubStandInOptions,
} from '../../infra/local/github';

export const TOKEN = 'ghp_localTestToken0123456789abcdefghijkl';
export const REPO = { owner: 'octo-org', repo: 'hello' };
export const SHA = 'a'.repeat(39) + '1';

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

export interface GitHubHarness {
  github: GitHubStandIn;
  baseUrl: string;
  /** an Octokit client with `auth` (the configured token by default) */
  client(auth?: string): Octokit;
  /**
   * An Octokit client authenticated as a GitHub App with a real RSA key, as
   * shared/github/client.ts makes it: App routes get a signed JWT; with an
   * installation id, other routes get that installation's token.
   */
  app(installationId?: number): Octokit;
  close(): Promise<void>;
}

export const APP_ID = '123456';
let appKey: string | undefined;

/** A test App's private key (PKCS#8 PEM), made once per test file. */
export function appPrivateKey(): string {
  appKey ??= generateKeyPairSync('rsa', { modulusLength: 2048 })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
  return appKey;
}

/** `now` and `log` go to the stand-in; its token is always TOKEN. */
export async function startGitHub(
  options: Omit<GitHubStandInOptions, 'token'> = {},
): Promise<GitHubHarness> {
  const github = createGitHubStandIn({ ...options, token: TOKEN });
  const server = await serve([github]);
  const baseUrl = `${server.url}/github`;
  return {
    github,
    baseUrl,
    client: (auth = TOKEN) => new Octokit({ baseUrl, auth, log: quiet }),
    app: (installationId) =>
      new Octokit({
        baseUrl,
        log: quiet,
        authStrategy: createAppAuth,
        auth: {
          appId: APP_ID,
          privateKey: appPrivateKey(),
          ...(installationId === undefined ? {} : { installationId }),
        },
      }),
    close: () => server.close(),
  };
}

export interface GitRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs git against the stand-in without blocking this process (the server is
 * in it): nothing of the developer's config or credential helpers, never a
 * prompt, and killed after 20 s so a hang fails the test instead of stalling it.
 */
export function gitAsync(dir: string, ...args: string[]): Promise<GitRun> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      'git',
      ['-C', dir, ...args],
      {
        timeout: 20_000,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: dir,
          GIT_CONFIG_NOSYSTEM: '1',
          GIT_TERMINAL_PROMPT: '0',
          GIT_ASKPASS: '',
          SSH_ASKPASS: '',
          GIT_AUTHOR_NAME: 'Test',
          GIT_AUTHOR_EMAIL: 'test@example.com',
          GIT_COMMITTER_NAME: 'Test',
          GIT_COMMITTER_EMAIL: 'test@example.com',
        },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout: stdout.trim(), stderr: stderr.trim(), ms: Date.now() - started });
      },
    );
  });
}

/** The HTTP status an Octokit call failed with. */
export async function failureOf(
  call: Promise<unknown>,
): Promise<{ status: number; data: unknown; headers: Record<string, unknown> }> {
  try {
    await call;
  } catch (err) {
    const e = err as {
      status: number;
      response?: { data: unknown; headers: Record<string, unknown> };
    };
    return { status: e.status, data: e.response?.data, headers: e.response?.headers ?? {} };
  }
  throw new Error('expected the call to fail');
}
