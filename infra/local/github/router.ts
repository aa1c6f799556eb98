// A small route table: "GET /repos/:owner/:repo/pulls/:number" → handler.
import type { Caller } from './auth';
import type { Reply } from './errors';
import type { GitHubState } from './state';

export interface RouteContext {
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  /** the API base URL as the caller reached it, e.g. http://127.0.0.1:8080/github */
  api: string;
  /** login of the caller, shown as creator/author of what it posts */
  login: string;
  caller: Caller;
  /** the stand-in's clock, ms since the epoch */
  now: number;
  state: GitHubState;
}

export interface Route {
  method: string;
  pattern: string;
  /** a GitHub App endpoint: wants the App's JWT rather than a token */
  app?: boolean;
  /**
   * The installation permission a route on /repos/:owner/:repo needs: read for
   * GET, write otherwise (GitHub's names: actions, statuses, issues, ...).
   */
  permission?: string;
  handler(ctx: RouteContext): Reply | Promise<Reply>;
}

interface Compiled {
  route: Route;
  regex: RegExp;
  names: string[];
}

export interface Router {
  match(method: string, path: string): { route: Route; params: Record<string, string> } | undefined;
}

export function createRouter(routes: Route[]): Router {
  const compiled: Compiled[] = routes.map((route) => {
    const names: string[] = [];
    const source = route.pattern.replace(/:(\w+)/g, (_m, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    return { route, names, regex: new RegExp(`^${source}/?$`) };
  });
  return {
    match(method, path) {
      for (const { route, regex, names } of compiled) {
        if (route.method !== method) continue;
        const m = regex.exec(path);
        if (!m) continue;
        const params: Record<string, string> = {};
        names.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1] ?? '')));
        return { route, params };
      }
      return undefined;
    },
  };
}
