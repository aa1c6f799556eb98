// Old events do not cancel new work (DESIGN §5, issue 12 item 3): a head event
// older than the PR's newest tests changes nothing, superseding cancels only
// tests of older heads, and of two head events handled at once the newest
// head's tests survive. Through handleWebhookEvent on in-memory doubles.
import { TESTS_QUEUED, WAITING_FOR_BUILD, supersededBy } from '../../shared/domain/messages';
import { testId } from '../../shared/domain/naming';
import { handleWebhookEvent } from '../../shared/webhook/handle-event';
import { REPO } from './fixtures';
import { harness, holdCreates, PR, prEvent, shown, taskIds, type Harness } from './harness';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const T1 = '2026-12-01T10:00:00Z';
const T2 = '2026-12-01T10:05:00Z';

const ids = (sha: string) =>
  ['linux', 'windows'].map((platform) =>
    testId({ repo: REPO, sha, platform, trigger: 'pull_request', pr: PR, run: 1 }),
  );
const running = {
  linux: { status: 'queued', waitReason: null, message: TESTS_QUEUED },
  windows: { status: 'waiting', waitReason: 'build', message: WAITING_FOR_BUILD },
};
const superseded = (sha: string) => ({
  linux: { status: 'canceled', waitReason: null, message: supersededBy(sha) },
  windows: { status: 'canceled', waitReason: null, message: supersededBy(sha) },
});

/** A head event by a member (no approval needed) for `sha`, updated at `at`. */
const head = (action: string, sha: string, at: string) =>
  prEvent(action, sha, { association: 'MEMBER', updatedAt: at });

async function handled(h: Harness, action: string, sha: string, at: string) {
  const answer = await handleWebhookEvent(h.deps, head(action, sha, at));
  expect(answer).toMatchObject({ status: 202, body: { tests: ids(sha) } });
  return answer;
}

describe('events about a PR’s head, out of order', () => {
  it('synchronize(A) then synchronize(B): B supersedes A', async () => {
    const h = harness();
    await handled(h, 'opened', A, T1);

    const answer = await handled(h, 'synchronize', B, T2);

    expect([...(answer.body.canceled as string[])].sort()).toEqual([...ids(A)].sort());
    expect(await shown(h, A)).toEqual(superseded(B));
    expect(await shown(h, B)).toEqual(running);
  });

  it.each(['synchronize', 'opened', 'reopened'])(
    'synchronize(B), then a late %s(A): B stays alive, A is not created, nothing is posted',
    async (action) => {
      const h = harness();
      await handled(h, 'synchronize', B, T2);
      const tasks = taskIds(h);
      const posted = h.statuses.posts().length;

      const late = await handleWebhookEvent(h.deps, head(action, A, T1));

      expect(late).toEqual({
        status: 202,
        body: {
          delivery: expect.any(String),
          tests: [],
          ignored:
            'an older head: aaaaaaa (updated 2026-12-01T10:00:00.000Z) is older than the ' +
            "PR's tests of bbbbbbb (updated 2026-12-01T10:05:00.000Z)",
        },
      });
      expect(await shown(h, B)).toEqual(running);
      expect(await h.store.listBySha(REPO, A)).toEqual([]);
      expect(taskIds(h)).toEqual(tasks);
      expect(h.statuses.posts()).toHaveLength(posted);
      expect(await h.store.getDelivery(late.body.delivery as string)).toBeNull();
    },
  );

  it('a late event older than the PR’s finished tests is ignored too', async () => {
    const h = harness();
    await handled(h, 'synchronize', B, T2);
    await handleWebhookEvent(h.deps, head('closed', B, '2026-12-01T10:06:00Z'));

    const late = await handleWebhookEvent(h.deps, head('synchronize', A, T1));

    expect(late.body.ignored).toMatch(/^an older head: aaaaaaa/);
    expect(await h.store.listBySha(REPO, A)).toEqual([]);
  });

  it('with supersede "all", a late event never cancels the newer head’s running tests', async () => {
    const h = harness(['supersede', 'all']);
    await handled(h, 'synchronize', B, T2);
    const [linux] = ids(B);
    for (const [from, to] of [
      ['queued', 'starting'],
      ['starting', 'running'],
    ] as const) {
      const moved = await h.store.transition(linux!, {
        from: [from],
        to,
        at: new Date(),
        message: 'Running tests',
      });
      expect(moved.ok).toBe(true);
    }

    const late = await handleWebhookEvent(h.deps, head('synchronize', A, T1));

    expect(late.body.ignored).toMatch(/^an older head/);
    expect((await h.store.getTest(linux!))?.status).toBe('running');
  });

  it('the same head again (a reopen, a later event of it) supersedes nothing of its own', async () => {
    const h = harness();
    await handled(h, 'opened', A, T1);

    const again = await handleWebhookEvent(h.deps, head('synchronize', A, T2));

    expect(again).toMatchObject({ status: 202, body: { tests: ids(A), canceled: [] } });
    expect(await shown(h, A)).toEqual(running);
  });
});

describe('two head events handled at once', () => {
  it('the older one stores its tests after the newer one settled: it cancels its own, which never start', async () => {
    const h = harness();
    const held = holdCreates(h);
    const older = handleWebhookEvent(h.deps, head('synchronize', A, T1));
    await held.reached;

    await handled(h, 'synchronize', B, T2);
    held.release();
    const answer = await older;

    expect(answer).toMatchObject({ status: 202, body: { tests: ids(A) } });
    expect([...(answer.body.canceled as string[])].sort()).toEqual([...ids(A)].sort());
    expect(await shown(h, A)).toEqual(superseded(B));
    expect(await shown(h, B)).toEqual(running);
    // Never enqueued, never shown as queued.
    expect(taskIds(h)).toEqual([ids(B)[0]]);
    expect(h.statuses.statuses(REPO, A).map((s) => s.state)).toEqual(['error', 'error']);
  });

  it('the newer one stores its tests after the older one settled: it cancels the older', async () => {
    const h = harness();
    const held = holdCreates(h);
    const newer = handleWebhookEvent(h.deps, head('synchronize', B, T2));
    await held.reached;

    await handled(h, 'synchronize', A, T1);
    held.release();
    await newer;

    expect(await shown(h, A)).toEqual(superseded(B));
    expect(await shown(h, B)).toEqual(running);
  });

  it('the newer one stores its tests between the older one’s two reads: the newer survives', async () => {
    const h = harness();
    const store = h.deps.store;
    let newer: Promise<unknown> | undefined;
    // The older event reads the PR's heads, then (before it reads the live tests) the newer runs whole.
    h.deps.store = {
      ...store,
      async listByPr(repo, pr, opts) {
        if (newer === undefined && opts?.statuses) {
          newer = handleWebhookEvent(h.deps, head('synchronize', B, T2));
          await newer;
        }
        return store.listByPr(repo, pr, opts);
      },
    };

    const older = await handleWebhookEvent(h.deps, head('synchronize', A, T1));

    expect(newer).toBeDefined();
    expect(older).toMatchObject({ status: 202, body: { tests: ids(A) } });
    expect(await shown(h, B)).toEqual(running);
    expect(await shown(h, A)).toEqual(superseded(B));
  });

  it.each([0, 1, 2, 3, 4, 5])('in any order (round %i): one survivor, the newer', async (round) => {
    const h = harness();
    const events = [head('synchronize', A, T1), head('synchronize', B, T2)];
    if (round % 2 === 1) events.reverse();

    await Promise.all(events.map((event) => handleWebhookEvent(h.deps, event)));

    expect(await shown(h, B)).toEqual(running);
    const a = await shown(h, A);
    // The older head was either never created or superseded.
    expect([{}, superseded(B)]).toContainEqual(a);
  });
});

describe('two heads with the same updated_at', () => {
  it('GitHub says which is the PR’s head: only its tests are kept', async () => {
    const h = harness();
    h.github.setPullRequestHead(REPO, PR, B);
    await handled(h, 'synchronize', A, T1);

    const answer = await handled(h, 'synchronize', B, T1);

    expect([...(answer.body.canceled as string[])].sort()).toEqual([...ids(A)].sort());
    expect(await shown(h, A)).toEqual(superseded(B));
    expect(await shown(h, B)).toEqual(running);
    // Asked once for the event, though both the check and the supersede needed it.
    expect(h.github.calls().filter((c) => c.kind === 'pullRequestHead')).toEqual([
      { kind: 'pullRequestHead', repo: REPO, subject: String(PR) },
    ]);
  });

  it('GitHub says the other one is the head: the event is ignored', async () => {
    const h = harness();
    h.github.setPullRequestHead(REPO, PR, B);
    await handled(h, 'synchronize', B, T1);

    const late = await handleWebhookEvent(h.deps, head('synchronize', A, T1));

    expect(late.body.ignored).toBe(
      "not the PR's head: aaaaaaa has the same time as bbbbbbb, and GitHub says the head is bbbbbbb",
    );
    expect(await h.store.listBySha(REPO, A)).toEqual([]);
    expect(await shown(h, B)).toEqual(running);
  });

  it('GitHub says a third commit is the head: the event is ignored', async () => {
    const h = harness();
    h.github.setPullRequestHead(REPO, PR, C);
    await handled(h, 'synchronize', B, T1);

    const late = await handleWebhookEvent(h.deps, head('synchronize', A, T1));

    expect(late.body.ignored).toMatch(/GitHub says the head is ccccccc$/);
  });

  it('GitHub cannot say: both heads are kept, and that is logged', async () => {
    const h = harness();
    await handled(h, 'synchronize', A, T1);

    const answer = await handled(h, 'synchronize', B, T1);

    expect(answer.body.canceled).toEqual([]);
    expect(await shown(h, A)).toEqual(running);
    expect(await shown(h, B)).toEqual(running);
    const warnings = h.capture.entries.filter((e) => e.level === 'warn').map((e) => e.message);
    expect(warnings).toEqual([
      'GitHub could not say which commit is the PR head',
      'Heads of the PR with the same time, and none known to be its head: all kept',
    ]);
  });
});
