// The recent list's data (`GET /` as a page, `GET /.json`): each platform's
// queue and slots, and the newest tests this viewer may see, filtered as the
// query says. A commit or PR filter reads that commit's or PR's tests in each
// configured repository (or the one chosen); the rest pages through listRecent.
import { isPublicRepository, type VmciConfig } from '../../shared/config';
import type { TestRecord } from '../../shared/domain/test';
import type { Response } from '../../shared/http/function-app';
import { recentHref } from '../../shared/status-page/links';
import { pageOf } from '../../shared/status-page/paging';
import { renderRecentPage, type PlatformQueue } from '../../shared/status-page/recent';
import {
  parseRecentQuery,
  queryFields,
  type RecentQuery,
} from '../../shared/status-page/recent-query';
import type { PageContext } from '../../shared/status-page/table';
import type { TestStore } from '../../shared/store/port';
import type { TestView } from '../../shared/tests/view';
import { sendHtml, sendJson as send } from './negotiate';

/** Most tests one recent page shows. */
export const RECENT_LIMIT = 50;
/** A stranger's page reads this many times more, since private repositories' tests are left out. */
const STRANGER_FACTOR = 4;
/** Most tests of one commit or PR read per repository. */
const FILTER_LIMIT = 100;

export interface RecentDeps {
  store: Pick<TestStore, 'listRecent' | 'listBySha' | 'listByPr'>;
  /** The configured repositories (a commit or PR filter without a repository reads each). */
  repositories: readonly string[];
}

export interface RecentTests {
  tests: TestRecord[];
  /** The next page's query; null: none. */
  older: RecentQuery | null;
}

const newestFirst = (a: TestRecord, b: TestRecord) =>
  b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

export async function recentTests(
  deps: RecentDeps,
  query: RecentQuery,
  { visible, viewer }: { visible: (test: TestRecord) => boolean; viewer: boolean },
): Promise<RecentTests> {
  const { sha, pr } = query;
  if (sha !== undefined || pr !== undefined) {
    const repos = query.repo !== undefined ? [query.repo] : deps.repositories;
    const lists = await Promise.all(
      repos.map((repo) =>
        sha !== undefined
          ? deps.store.listBySha(repo, sha, { limit: FILTER_LIMIT })
          : deps.store.listByPr(repo, pr!, { limit: FILTER_LIMIT }),
      ),
    );
    const tests = lists
      .flat()
      .filter(
        (t) =>
          (query.platform === undefined || t.platform === query.platform) &&
          (query.status === undefined || t.status === query.status) &&
          (query.before === undefined || t.createdAt < query.before) &&
          visible(t),
      )
      .sort(newestFirst)
      .slice(0, RECENT_LIMIT);
    return { tests, older: null };
  }
  const fetchLimit = viewer ? RECENT_LIMIT : RECENT_LIMIT * STRANGER_FACTOR;
  const filter = {
    ...(query.repo !== undefined ? { repo: query.repo } : {}),
    ...(query.platform !== undefined ? { platform: query.platform } : {}),
    ...(query.status !== undefined ? { status: query.status } : {}),
  };
  const fetched = await deps.store.listRecent(filter, {
    limit: fetchLimit,
    ...(query.before !== undefined ? { createdBefore: query.before } : {}),
  });
  const { shown, before } = pageOf(fetched, fetchLimit, visible, RECENT_LIMIT);
  return { tests: shown, older: before === null ? null : { ...query, before } };
}

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
