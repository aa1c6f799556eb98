// One stand-in behind a real HTTP server, and real Octokit clients pointed at it.
import { Octokit } from '@octokit/rest';
import { serve } from '../../infra/local/http';
import { createGitHubStandIn, type GitHubStandIn } from '../../infra/local/github';

export const TOKEN = 'ghp_localTestToken0123456789abcdefghijkl';
export const REPO = { owner: 'octo-org', repo: 'hello' };
export const SHA = 'a'.repeat(39) + '1';

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

export interface GitHubHarness {
  github: GitHubStandIn;
  baseUrl: string;
  /** an Octokit client with `auth` (the configured token by default) */
  client(auth?: string): Octokit;
  close(): Promise<void>;
}

export async function startGitHub(): Promise<GitHubHarness> {
  const github = createGitHubStandIn({ token: TOKEN });
  const server = await serve([github]);
  const baseUrl = `${server.url}/github`;
  return {
    github,
    baseUrl,
    client: (auth = TOKEN) => new Octokit({ baseUrl, auth, log: quiet }),
    close: () => server.close(),
  };
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
