// `vmci tests`: the newest tests, filtered, as a table or as the status API's JSON.
import type { TestRecord, TestStatus } from '../../../shared/domain/test';
import type { TestStore } from '../../../shared/store/port';
import { testView } from '../../../shared/tests/view';
import { countArg, platformArg, repoArg, shaArg, statusArg } from '../args';
import type { Command } from '../command';
import { UsageError } from '../errors';
import { age, table } from '../format';
import { openStore } from '../services';

export const DEFAULT_LIMIT = 20;
/** Most tests one listing reads (the store's own maximum). */
const SCAN_LIMIT = 1000;

export interface TestsFilter {
  repo?: string;
  sha?: string;
  pr?: number;
  status?: TestStatus;
  platform?: string;
}

export const testsCommand: Command = {
  name: 'tests',
  summary: 'list the newest tests',
  usage: `vmci tests [--repo owner/name] [--sha SHA] [--pr N] [--state STATE] [--platform P] [--limit N] [--json]

The newest tests first: id, repository, commit, platform, state, age and
message (cut to the terminal's width). --sha takes a full sha or a prefix of
at least 4 characters; --pr needs --repo. --json prints the tests as the status
API shows them, every detail included.`,
  options: {
    repo: { type: 'string' },
    sha: { type: 'string' },
    pr: { type: 'string' },
    state: { type: 'string' },
    platform: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  },
  check({ values, positionals }) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    shaArg(values.sha as string | undefined);
    statusArg(values.state as string | undefined);
    countArg('limit', values.limit as string | undefined, SCAN_LIMIT);
    const pr = countArg('pr', values.pr as string | undefined);
    if (pr !== undefined && values.repo === undefined) throw new UsageError('--pr needs --repo');
  },
  async run({ values }, ctx, output, cli) {
    const filter: TestsFilter = {};
    const repo = repoArg(values.repo as string | undefined, ctx.config);
    const sha = shaArg(values.sha as string | undefined);
    const pr = countArg('pr', values.pr as string | undefined);
    const status = statusArg(values.state as string | undefined);
    const platform = platformArg(values.platform as string | undefined, ctx.config);
    if (pr !== undefined && repo === undefined) throw new UsageError('--pr needs --repo');
    if (repo !== undefined) filter.repo = repo;
    if (sha !== undefined) filter.sha = sha;
    if (pr !== undefined) filter.pr = pr;
    if (status !== undefined) filter.status = status;
    if (platform !== undefined) filter.platform = platform;
    const limit =
      countArg('limit', values.limit as string | undefined, SCAN_LIMIT) ?? DEFAULT_LIMIT;

    const services = openStore(ctx, output, cli);
    try {
      const tests = await findTests(services.store, filter, limit);
      if (values.json) {
        const views = tests.map((test) => testView(test, { showDetails: true }));
        output.out(JSON.stringify(views, null, 2));
        return 0;
      }
      if (tests.length === 0) {
        output.err('no tests found');
        return 0;
      }
      const now = services.now();
      const rows = tests.map((test) => [
        test.id,
        test.repo,
        test.sha.slice(0, 7),
        test.platform,
        stateOf(test),
        age(test.createdAt, now),
        test.message,
      ]);
      const header = ['ID', 'REPO', 'SHA', 'PLATFORM', 'STATE', 'AGE', 'MESSAGE'];
      for (const line of table(header, rows, output.columns)) output.out(line);
      return 0;
    } finally {
      await services.close();
    }
  },
};

/** `running:testing`, `waiting:build`, or the status alone. */
export function stateOf(test: Pick<TestRecord, 'status' | 'stage' | 'waitReason'>): string {
  if (test.status === 'running' && test.stage) return `running:${test.stage}`;
  if (test.status === 'waiting' && test.waitReason) return `waiting:${test.waitReason}`;
  return test.status;
}

/** The newest `limit` tests that match, through the narrowest query the store has. */
export async function findTests(
  store: TestStore,
  filter: TestsFilter,
  limit: number,
): Promise<TestRecord[]> {
  let listed: TestRecord[];
  if (filter.repo !== undefined && filter.pr !== undefined) {
    listed = await store.listByPr(filter.repo, filter.pr, { limit: SCAN_LIMIT });
  } else if (filter.repo !== undefined && filter.sha?.length === 40) {
    listed = await store.listBySha(filter.repo, filter.sha, { limit: SCAN_LIMIT });
  } else {
    const recent = {
      ...(filter.repo !== undefined ? { repo: filter.repo } : {}),
      ...(filter.platform !== undefined ? { platform: filter.platform } : {}),
      ...(filter.status !== undefined ? { status: filter.status } : {}),
    };
    // A sha prefix is matched here, so the store is asked for as many as it gives.
    const take = filter.sha === undefined ? limit : SCAN_LIMIT;
    listed = await store.listRecent(recent, { limit: take });
  }
  return listed
    .filter(
      (test) =>
        (filter.repo === undefined || test.repo === filter.repo) &&
        (filter.sha === undefined || test.sha.toLowerCase().startsWith(filter.sha)) &&
        (filter.pr === undefined || test.pr === filter.pr) &&
        (filter.status === undefined || test.status === filter.status) &&
        (filter.platform === undefined || test.platform === filter.platform),
    )
    .sort(
      (a, b) =>
        b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0),
    )
    .slice(0, limit);
}
