// vm-ci's one comment on a pull request (issue 14, item 6): written by the
// one holder of the PR's lease, edited (never posted twice), never replaced
// by an older head's, and safe to show untrusted test text in.
import { PR_COMMENT_MARKER, commentHead, prCommentBody } from '../../shared/github/pr-comment-body';
import { createMemoryCommentPort } from '../../shared/github/memory-comments';
import { updatePrComment, type PrCommentDeps } from '../../shared/github/pr-comment';
import type { TestRecord } from '../../shared/domain/test';
import { createMemoryStore } from '../../shared/store/memory';
import { testRecord } from '../contracts/store/fixtures';
import { captureLog } from '../support/capture-log';

const REPO = 'octo-org/hello';
const SHA = 'a'.repeat(40);
const T = (m: number) => new Date(Date.UTC(2026, 11, 3, 10, m));
const pageOf = (id: string) => `https://ci.example.com/status/tests/${id}`;

function ended(platform: string, overrides: Partial<TestRecord> = {}): TestRecord {
  return testRecord({
    id: `${platform}-${overrides.sha ?? SHA}-${overrides.run ?? 1}`,
    repo: REPO,
    sha: SHA,
    platform,
    trigger: 'pull_request',
    pr: 7,
    headUpdatedAt: T(0),
    status: 'passed',
    message: 'All 12 tests passed',
    startedAt: T(1),
    finishedAt: T(4),
    result: { exitCode: 0, passed: 12, failed: 0, summary: '12 passed' },
    ...overrides,
  });
}

function setup(enabled = true) {
  const store = createMemoryStore();
  const comments = createMemoryCommentPort();
  const capture = captureLog();
  const deps: PrCommentDeps = {
    comments,
    store,
    log: capture.log,
    now: () => T(30),
    enabled: () => enabled,
    pageOf,
  };
  return { store, comments, deps, capture };
}

describe('prCommentBody', () => {
  it('one row per platform (its latest run), with result, counts, duration, line and link', () => {
    const body = prCommentBody(
      [
        ended('windows', {
          status: 'failed',
          message: '2 of 40 failed: parser.utf8, lexer.eof',
          result: { exitCode: 1, passed: 38, failed: 2, summary: '' },
          finishedAt: T(62),
        }),
        ended('linux', { run: 1, status: 'error', message: 'old run' }),
        ended('linux', { run: 2 }),
      ],
      pageOf,
    );
    expect(body.split('\n')).toEqual([
      `${PR_COMMENT_MARKER} sha=${SHA} head=${T(0).toISOString()} -->`,
      '### vm-ci: tests of aaaaaaa',
      '',
      '| Platform | Result | Tests | Duration | Details |',
      '| --- | --- | --- | --- | --- |',
      `| \`linux\` | ✅ passed | 12 passed, 0 failed | 3m 0s | \`All 12 tests passed\` [details](${pageOf(`linux-${SHA}-2`)}) |`,
      `| \`windows\` | ❌ failed | 38 passed, 2 failed | 1h 1m 0s | \`2 of 40 failed: parser.utf8, lexer.eof\` [details](${pageOf(`windows-${SHA}-1`)}) |`,
    ]);
    expect(commentHead(body)).toEqual({ sha: SHA, updatedAt: T(0).toISOString() });
  });

  it('untrusted text cannot mention, link, or break the table', () => {
    const body = prCommentBody(
      [ended('linux', { status: 'failed', message: '@org/team `x` | [a](http://e) \n next' })],
      pageOf,
    );
    const row = body.split('\n').at(-1)!;
    expect(row).toContain('`@org/team x [a](http://e) next`');
    expect(row.split(' | ')).toHaveLength(5);
  });
});

describe('updatePrComment', () => {
  it('creates one comment, then edits it as platforms end', async () => {
    const { store, comments, deps } = setup();
    const linux = ended('linux');
    const windows = ended('windows', { status: 'running', finishedAt: null, result: null });
    await store.createTests([linux, windows]);

    await updatePrComment(deps, linux);
    await store.transition(windows.id, {
      from: ['running'],
      to: 'failed',
      at: T(9),
      message: '1 of 3 failed: a.b',
      patch: { finishedAt: T(9) },
    });
    await updatePrComment(deps, (await store.getTest(windows.id))!);

    const [only, ...more] = comments.comments(REPO, 7);
    expect(more).toEqual([]);
    expect(only!.edits).toBe(1);
    expect(only!.body).toContain('✅ passed');
    expect(only!.body).toContain('❌ failed');
    expect(only!.body).toContain('1 of 3 failed: a.b');
  });

  it('two platforms ending at once: one comment, showing both', async () => {
    const { store, comments, deps } = setup();
    const tests = [ended('linux'), ended('windows', { status: 'failed', message: 'boom' })];
    await store.createTests(tests);

    await Promise.all(tests.map((t) => updatePrComment(deps, t)));

    const all = comments.comments(REPO, 7);
    expect(all).toHaveLength(1);
    expect(all[0]!.body).toMatch(/linux[\s\S]*windows/);
  });

  it('an older head’s end never replaces the comment of a newer head', async () => {
    const { store, comments, deps } = setup();
    const newer = ended('linux', { sha: 'b'.repeat(40), headUpdatedAt: T(5) });
    const older = ended('linux', {
      headUpdatedAt: T(0),
      status: 'canceled',
      message: 'superseded',
    });
    await store.createTests([newer, older]);

    await updatePrComment(deps, newer);
    await updatePrComment(deps, older);

    const all = comments.comments(REPO, 7);
    expect(all).toHaveLength(1);
    expect(commentHead(all[0]!.body)?.sha).toBe('b'.repeat(40));
  });

  it('someone quoting the marker: their comment is left, vm-ci writes its own', async () => {
    const { store, comments, deps } = setup();
    comments.seedForeign(
      REPO,
      7,
      `${PR_COMMENT_MARKER} sha=${SHA} head=1970-01-01T00:00:00.000Z -->\nquoted`,
    );
    const linux = ended('linux');
    await store.createTests([linux]);

    await updatePrComment(deps, linux);

    const all = comments.comments(REPO, 7);
    expect(all.map((c) => c.author)).toEqual(['someone', 'vm-ci[bot]']);
    expect(all[0]!.body).toContain('quoted');
  });

  it('off for the repository, or not a PR test: nothing is written', async () => {
    const off = setup(false);
    const linux = ended('linux');
    await off.store.createTests([linux]);
    await updatePrComment(off.deps, linux);
    expect(off.comments.comments(REPO, 7)).toEqual([]);

    const on = setup();
    const push = ended('linux', { trigger: 'push', pr: null });
    await on.store.createTests([push]);
    await updatePrComment(on.deps, push);
    expect(on.comments.comments(REPO, 7)).toEqual([]);
  });

  it('GitHub failing: no throw, the lease is given back so the next end writes', async () => {
    const { store, comments, deps } = setup();
    const linux = ended('linux');
    await store.createTests([linux]);
    comments.failNext(1, { retriable: true, httpStatus: 502 });

    await expect(updatePrComment(deps, linux)).resolves.toBeUndefined();
    await updatePrComment(deps, linux);

    expect(comments.comments(REPO, 7)).toHaveLength(1);
  });
});
