// Which tests the recent list shows (status page `GET /`, `GET /.json`): the
// newest tests this viewer may see, filtered as the query says. A commit or PR
// filter reads that commit's or PR's tests in each configured repository (or
// the one chosen); the rest pages through listRecent, reading more for a
// stranger, since private repositories' tests are left out.
import type { TestRecord } from '../domain/test';
import type { TestStore } from '../store/port';
import { pageOf } from './paging';
import type { RecentQuery } from './recent-query';

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
