// Approvals (DESIGN §5, issue 12 item 2): an approval covers the head commit it
// was given for, and counts only from someone who may approve. Through
// handleWebhookEvent on in-memory doubles.
import {
  TESTS_QUEUED,
  WAITING_FOR_APPROVAL,
  WAITING_FOR_BUILD,
  newCommitWaitsForApproval,
} from '../../shared/domain/messages';
import { testId } from '../../shared/domain/naming';
import { handleWebhookEvent } from '../../shared/webhook/handle-event';
import { NOW, REPO } from './fixtures';
import { harness, holdCreates, PR, prEvent, shown, taskIds, type Harness } from './harness';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const LABEL = 'safe to test';
const T1 = '2026-12-01T10:00:00Z';
const T2 = '2026-12-01T10:05:00Z';

const waitingForApproval = (message = WAITING_FOR_APPROVAL) => ({
  linux: { status: 'waiting', waitReason: 'approval', message },
  windows: { status: 'waiting', waitReason: 'approval', message },
});
const running = {
  linux: { status: 'queued', waitReason: null, message: TESTS_QUEUED },
  windows: { status: 'waiting', waitReason: 'build', message: WAITING_FOR_BUILD },
};
const ids = (sha: string) =>
  ['linux', 'windows'].map((platform) =>
    testId({ repo: REPO, sha, platform, trigger: 'pull_request', pr: PR, run: 1 }),
  );

/** The approval label added by `sender` (a person, unless `senderType` says Bot) while the head is `sha`. */
const labeled = (sha: string, sender = 'maintainer', senderType = 'User') =>
  prEvent('labeled', sha, { label: LABEL, labels: [LABEL], sender, senderType, updatedAt: T2 });

async function openedAndWaiting(h: Harness, sha = A) {
  const opened = await handleWebhookEvent(h.deps, prEvent('opened', sha, { updatedAt: T1 }));
  expect(opened.status).toBe(202);
  expect(await shown(h, sha)).toEqual(waitingForApproval());
}

describe('an approval covers the head commit it was given for', () => {
  it('a fork PR labelled by a writer runs; its next commit, the label still on, waits again with a line that says what to do', async () => {
    const h = harness();
    h.github.setRole(REPO, 'maintainer', 'write');
    await openedAndWaiting(h);

    const approved = await handleWebhookEvent(h.deps, labeled(A));

    expect(approved).toMatchObject({ status: 202, body: { released: ids(A) } });
    expect(await shown(h, A)).toEqual(running);
    expect(await h.store.getApproval(REPO, PR, A)).toEqual({
      repo: REPO,
      pr: PR,
      sha: A,
      approvedBy: 'maintainer',
      approvedAt: NOW,
      delivery: expect.any(String),
    });

    const next = await handleWebhookEvent(
      h.deps,
      prEvent('synchronize', B, { labels: [LABEL], updatedAt: '2026-12-01T10:10:00Z' }),
    );

    expect(next).toMatchObject({ status: 202, body: { tests: ids(B), released: [] } });
    const line = newCommitWaitsForApproval(LABEL);
    expect(await shown(h, B)).toEqual(waitingForApproval(line));
    expect(h.statuses.statuses(REPO, B).map((s) => s.description)).toEqual([line, line]);
    expect(taskIds(h)).toEqual([ids(A)[0]]);

    // Removing and re-adding the label approves the new commit.
    const again = await handleWebhookEvent(h.deps, labeled(B));
    expect(again).toMatchObject({ status: 202, body: { released: ids(B) } });
    expect(await shown(h, B)).toEqual(running);
  });

  it('a labeled event that arrives before its synchronize: the synchronize’s tests start approved', async () => {
    const h = harness();
    h.github.setRole(REPO, 'maintainer', 'admin');

    const early = await handleWebhookEvent(h.deps, labeled(B));
    expect(early).toMatchObject({ status: 202, body: { released: [] } });

    const sync = await handleWebhookEvent(
      h.deps,
      prEvent('synchronize', B, { labels: [LABEL], updatedAt: T1 }),
    );

    expect(sync).toMatchObject({ status: 202, body: { tests: ids(B), released: [] } });
    expect(await shown(h, B)).toEqual(running);
    // It started approved: it never waited, and was stored queued.
    const [linux] = await h.store.listBySha(REPO, B);
    expect(linux?.timeline.map((e) => e.status)).toEqual(['queued']);
  });

  it('a reopen of an approved head starts approved', async () => {
    const h = harness();
    h.github.setRole(REPO, 'maintainer', 'write');
    await openedAndWaiting(h);
    await handleWebhookEvent(h.deps, labeled(A));
    await handleWebhookEvent(h.deps, prEvent('closed', A, { updatedAt: T2 }));

    const reopened = await handleWebhookEvent(
      h.deps,
      prEvent('reopened', A, { labels: [LABEL], updatedAt: '2026-12-01T11:00:00Z' }),
    );

    expect(reopened.status).toBe(202);
    const reruns = (reopened.body.tests as string[]).map((id) => id);
    const tests = await Promise.all(reruns.map((id) => h.store.getTest(id)));
    expect(tests.map((t) => [t?.run, t?.status])).toEqual([
      [2, 'queued'],
      [2, 'waiting'],
    ]);
    expect(tests[1]?.waitReason).toBe('build');
  });

  it('a labeled event handled while its synchronize is between asking and storing: the tests end up released', async () => {
    const h = harness();
    h.github.setRole(REPO, 'maintainer', 'write');
    // The synchronize finds no approval, then waits to store its tests until the label is handled.
    const stored = holdCreates(h);
    const sync = handleWebhookEvent(h.deps, prEvent('synchronize', B, { updatedAt: T1 }));
    await stored.reached;

    const label = await handleWebhookEvent(h.deps, labeled(B));
    expect(label).toMatchObject({ status: 202, body: { released: [] } });
    stored.release();
    const answer = await sync;

    expect(answer).toMatchObject({ status: 202, body: { tests: ids(B), released: ids(B) } });
    expect(await shown(h, B)).toEqual(running);
  });
});

describe('who may approve', () => {
  it.each(['read', 'triage'] as const)(
    'a labeled event from someone with %s access is ignored, the tests keep waiting, and who tried is logged',
    async (role) => {
      const h = harness();
      h.github.setRole(REPO, 'fan', role);
      await openedAndWaiting(h);
      const posted = h.statuses.posts().length;

      const answer = await handleWebhookEvent(h.deps, labeled(A, 'fan'));

      expect(answer).toEqual({
        status: 202,
        body: {
          delivery: expect.any(String),
          tests: [],
          ignored: `"fan" has "${role}" access: only people with write access may approve`,
        },
      });
      expect(await shown(h, A)).toEqual(waitingForApproval());
      expect(await h.store.getApproval(REPO, PR, A)).toBeNull();
      expect(h.statuses.posts()).toHaveLength(posted);
      expect(h.capture.entries).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          message: 'Approval label from someone who may not approve',
          fields: expect.objectContaining({
            sender: 'fan',
            permission: { permission: 'read', roleName: role },
          }),
        }),
      );
      expect(await h.store.getDelivery(String(answer.body.delivery))).toBeNull();
    },
  );

  it('a labeled event from a bot that is not configured is ignored, without asking GitHub', async () => {
    const h = harness();
    await openedAndWaiting(h);

    const answer = await handleWebhookEvent(h.deps, labeled(A, 'helper[bot]', 'Bot'));

    expect(answer.body).toMatchObject({
      ignored: 'bot "helper[bot]" is not in approvalBots: its approval label counts for nothing',
    });
    expect(await shown(h, A)).toEqual(waitingForApproval());
    expect(h.github.calls()).toEqual([]);
  });

  it('a labeled event from a bot in approvalBots runs the tests', async () => {
    const h = harness(['approvalBots', ['helper[bot]']]);
    await openedAndWaiting(h);

    const answer = await handleWebhookEvent(h.deps, labeled(A, 'helper[bot]', 'Bot'));

    expect(answer).toMatchObject({ status: 202, body: { released: ids(A) } });
    expect(await shown(h, A)).toEqual(running);
    // Nobody is asked who may approve (the build's runs are asked, for the built platform).
    expect(h.github.calls().filter((c) => c.kind !== 'workflowRuns')).toEqual([]);
  });

  it('GitHub cannot be asked: 503 with a reason, nothing recorded; the redelivery then approves', async () => {
    const h = harness();
    h.github.setRole(REPO, 'maintainer', 'write');
    await openedAndWaiting(h);
    h.github.failNext(3, { retriable: true, httpStatus: 502, detail: 'HTTP 502: Bad Gateway' });
    const event = labeled(A);

    const refused = await handleWebhookEvent(h.deps, event, { bodyDigest: 'f'.repeat(64) });

    expect(refused).toEqual({
      status: 503,
      body: {
        delivery: event.delivery,
        error:
          'vm-ci could not ask GitHub whether maintainer may approve. Redeliver this event later.',
      },
    });
    expect(await h.store.getDelivery(event.delivery)).toBeNull();
    expect(await h.store.getApproval(REPO, PR, A)).toBeNull();
    expect(await shown(h, A)).toEqual(waitingForApproval());

    const redelivered = await handleWebhookEvent(h.deps, event, { bodyDigest: 'f'.repeat(64) });

    expect(redelivered).toMatchObject({ status: 202, body: { released: ids(A) } });
    expect(await shown(h, A)).toEqual(running);
  });

  it('a trusted author’s head events never ask for an approval, and run', async () => {
    const h = harness();
    const answer = await handleWebhookEvent(
      h.deps,
      prEvent('opened', A, { association: 'MEMBER', updatedAt: T1 }),
    );
    expect(answer.status).toBe(202);
    expect(await shown(h, A)).toEqual(running);
    // Nobody is asked who may approve (the build's runs are asked, for the built platform).
    expect(h.github.calls().filter((c) => c.kind !== 'workflowRuns')).toEqual([]);
  });
});
