// The recent list's route (`GET /` as a page, `GET /.json`): each platform's
// queue and slots, and the tests shared/status-page/recent-tests.ts chooses.
import { isPublicRepository, type VmciConfig } from '../../shared/config';
import type { TestRecord } from '../../shared/domain/test';
import type { Response } from '../../shared/http/function-app';
import { recentHref } from '../../shared/status-page/links';
import { renderRecentPage, type PlatformQueue } from '../../shared/status-page/recent';
import {
  parseRecentQuery,
  queryFields,
  type RecentQuery,
} from '../../shared/status-page/recent-query';
import { recentTests, type RecentDeps } from '../../shared/status-page/recent-tests';
import type { PageContext } from '../../shared/status-page/table';
import type { TestView } from '../../shared/tests/view';
import { sendHtml, sendJson as send } from './negotiate';

/** A platform's summary as JSON (dates as ISO strings). */
export function platformJson(p: PlatformQueue & { counts: Record<string, number> }) {
  return {
    platform: p.platform,
    maintenance: p.maintenance,
    maxConcurrent: p.maxConcurrent,
    slotsInUse: p.slotsInUse,
    counts: { ...p.counts },
    oldestWaitingAt: p.oldestWaitingAt ? p.oldestWaitingAt.toISOString() : null,
  };
}

export interface RecentRouteDeps {
  store: RecentDeps['store'];
  config: Pick<VmciConfig, 'public'> & Partial<Pick<VmciConfig, 'repositories' | 'platforms'>>;
  /** Each platform's queue and slots; none shown without it. */
  platformSummaries?: () => Promise<
    readonly (PlatformQueue & { counts: Record<string, number> })[]
  >;
  context: () => PageContext;
}

/** The recent tests and the platforms' queues, as a page or as JSON (`/.json`). */
export async function serveRecent(
  deps: RecentRouteDeps,
  rawQuery: unknown,
  {
    html,
    viewer,
    shows,
    view,
    res,
  }: {
    html: boolean;
    viewer: boolean;
    shows: (test: TestRecord) => boolean;
    view: (test: TestRecord) => TestView;
    res: Response;
  },
): Promise<void> {
  const { config } = deps;
  const parsed = parseRecentQuery(rawQuery);
  const query: RecentQuery = parsed.ok ? parsed.query : {};
  const [platforms, listed] = await Promise.all([
    deps.platformSummaries?.() ?? Promise.resolve([]),
    parsed.ok
      ? recentTests({ store: deps.store, repositories: config.repositories ?? [] }, query, {
          visible: shows,
          viewer,
        })
      : Promise.resolve({ tests: [], older: null }),
  ]);
  const tests = listed.tests.map(view);
  const context = deps.context();
  if (!html) {
    if (!parsed.ok) send(res, 400, { error: parsed.reason });
    else {
      const next = listed.older
        ? recentHref(context.base, queryFields(listed.older), '.json')
        : null;
      send(res, 200, { platforms: platforms.map(platformJson), tests, next });
    }
    return;
  }
  const page = renderRecentPage({
    ...context,
    platforms,
    tests,
    query,
    older: listed.older,
    viewer,
    choices: {
      repos: offeredRepos(config, viewer, listed.tests),
      platforms: Object.keys(config.platforms ?? {}),
    },
    ...(parsed.ok ? {} : { problem: parsed.reason }),
  });
  sendHtml(res, parsed.ok ? 200 : 400, page);
}

/**
 * The repositories the form offers: all configured ones to a status viewer;
 * to a stranger, those configured public and those of the tests shown, so
 * that the form names no private repository.
 */
function offeredRepos(
  config: RecentRouteDeps['config'],
  viewer: boolean,
  shown: readonly TestRecord[],
): string[] {
  const configured = config.repositories ?? [];
  if (viewer) return [...configured];
  const open = configured.filter((repo) => isPublicRepository(config, { repo, repoPublic: null }));
  return [...new Set([...open, ...shown.map((test) => test.repo)])];
}
