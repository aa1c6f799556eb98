// Approvals and the order of events, through the whole local cloud (DESIGN §5,
// issue 12 items 2 and 3): real example payloads, signed, into the Firestore
// emulator, the Tasks stand-in and the GitHub stand-in, which answers who may
// approve and which commit is a PR's head.
import {
  TESTS_QUEUED,
  WAITING_FOR_APPROVAL,
  newCommitWaitsForApproval,
  supersededBy,
} from '../../shared/domain/messages';
import type { TestRecord } from '../../shared/domain/test';
import {
  PR_NUMBER,
  REPO,
  idsOf,
  pullRequestPayload,
  send,
  shaOf,
  snapshot,
  testsOf,
  useWebhookCloud,
  type PullRequestOptions,
  type WebhookCloud,
} from './webhook-support';

const FORK = { association: 'CONTRIBUTOR', login: 'outsider' };
const LABEL = 'safe to test';
const prIds = (sha: string) => idsOf(sha, 'pull_request', PR_NUMBER);

const shown = (tests: readonly TestRecord[]) =>
  tests.map(({ status, waitReason, message }) => ({ status, waitReason, message }));
const waitingForApproval = (message = WAITING_FOR_APPROVAL) =>
  Array(2).fill({ status: 'waiting', waitReason: 'approval', message });
const QUEUED = Array(2).fill({ status: 'queued', waitReason: null, message: TESTS_QUEUED });

/** A pull_request event of a fork PR by `outsider`. */
const forkEvent = (action: string, sha: string, options: PullRequestOptions = {}) =>
  pullRequestPayload(action, sha, { ...FORK, ...options });

/** The approval label, added by `sender` while the head is `sha`. */
const approvalBy = (sha: string, sender: string, senderType: 'User' | 'Bot' = 'User') =>
  forkEvent('labeled', sha, { label: LABEL, labels: [LABEL], sender, senderType });

async function openWaiting(env: WebhookCloud, sha: string): Promise<string[]> {
  const res = await send(env.cloud, 'pull_request', forkEvent('opened', sha));
  expect(res.status).toBe(202);
  const ids = prIds(sha);
  expect(shown(await testsOf(env, ids))).toEqual(waitingForApproval());
  return ids;
}

describe('approvals (config/vmci.local.yaml)', () => {
  const env = useWebhookCloud();

  it('a fork PR labelled by a writer runs; a new commit with the label still on waits again, saying to re-add it', async () => {
    const { cloud } = env;
    cloud.github.seedCollaborator(REPO, 'maintainer', 'write');
    const a = shaOf('approve-a');
    const b = shaOf('approve-b');
    const aIds = await openWaiting(env, a);

    const labeled = await send(cloud, 'pull_request', approvalBy(a, 'maintainer'));

    expect(labeled.status).toBe(202);
    expect(labeled.body).toMatchObject({ released: aIds });
    expect(shown(await testsOf(env, aIds))).toEqual(QUEUED);

    const sync = await send(
      cloud,
      'pull_request',
      forkEvent('synchronize', b, { labels: [LABEL] }),
    );

    expect(sync.status).toBe(202);
    const line = newCommitWaitsForApproval(LABEL);
    expect(line).toBe(
      "New commit waits for a maintainer's approval: re-add the 'safe to test' label",
    );
    const bIds = prIds(b);
    expect(shown(await testsOf(env, bIds))).toEqual(waitingForApproval(line));
    expect(cloud.github.statuses(REPO, b).map((s) => [s.state, s.description])).toEqual([
      ['pending', line],
      ['pending', line],
    ]);
    expect(cloud.tasks.tasks().filter((t) => bIds.some((id) => t.name.includes(id)))).toEqual([]);
  });

  it.each(['read', 'triage'] as const)(
    'a labeled event from someone with %s access: 202 ignored, the tests keep waiting, nothing written',
    async (role) => {
      const { cloud } = env;
      cloud.github.seedCollaborator(REPO, 'fan', role);
      const sha = shaOf(`approve-${role}`);
      const ids = await openWaiting(env, sha);
      const before = await snapshot(env);

      const res = await send(cloud, 'pull_request', approvalBy(sha, 'fan'));

      expect(res.status).toBe(202);
      expect(res.body).toEqual({
        delivery: res.delivery,
        tests: [],
        ignored: `"fan" has "${role}" access: only people with write access may approve`,
      });
      expect(shown(await testsOf(env, ids))).toEqual(waitingForApproval());
      const after = await snapshot(env);
      expect(after.documents).toEqual(before.documents);
      expect(after.tasks).toEqual(before.tasks);
      expect(after.githubCalls).toBe(before.githubCalls + 1); // the permission, asked
      expect(env.logs().join('')).toContain('Approval label from someone who may not approve');
    },
  );

  it('a labeled event from a bot that is not configured: ignored, GitHub not asked', async () => {
    const { cloud } = env;
    const sha = shaOf('approve-bot-unknown');
    const ids = await openWaiting(env, sha);
    const before = await snapshot(env);

    const res = await send(cloud, 'pull_request', approvalBy(sha, 'helper[bot]', 'Bot'));

    expect(res.status).toBe(202);
    expect(res.body.ignored).toBe(
      'bot "helper[bot]" is not in approvalBots: its approval label counts for nothing',
    );
    expect(shown(await testsOf(env, ids))).toEqual(waitingForApproval());
    expect(await snapshot(env)).toEqual(before);
  });

  it('a labeled event that arrives before its synchronize: the synchronize’s tests start approved', async () => {
    const { cloud } = env;
    cloud.github.seedCollaborator(REPO, 'maintainer', 'maintain');
    const sha = shaOf('approve-early');

    const labeled = await send(cloud, 'pull_request', approvalBy(sha, 'maintainer'));
    expect(labeled.status).toBe(202);
    expect(labeled.body).toMatchObject({ tests: [], released: [] });
    const sync = await send(
      cloud,
      'pull_request',
      forkEvent('synchronize', sha, { labels: [LABEL] }),
    );

    expect(sync.status).toBe(202);
    const tests = await testsOf(env, prIds(sha));
    expect(shown(tests)).toEqual(QUEUED);
    // Stored queued: they never waited.
    for (const test of tests) expect(test.timeline.map((e) => e.status)).toEqual(['queued']);
  });

  it('GitHub cannot say who may approve: 503, nothing recorded; GitHub’s redelivery then approves', async () => {
    const { cloud } = env;
    cloud.github.seedCollaborator(REPO, 'maintainer', 'write');
    const sha = shaOf('approve-github-down');
    const ids = await openWaiting(env, sha);
    cloud.github.injectFault({ method: 'GET', path: '/permission$', status: 502, count: 3 });
    const payload = approvalBy(sha, 'maintainer');
    const before = await snapshot(env);

    const refused = await send(cloud, 'pull_request', payload);

    expect(refused.status).toBe(503);
    expect(refused.body).toEqual({
      delivery: refused.delivery,
      error:
        'vm-ci could not ask GitHub whether maintainer may approve. Redeliver this event later.',
    });
    const after = await snapshot(env);
    expect(after.documents).toEqual(before.documents);
    expect(after.tasks).toEqual(before.tasks);

    const redelivered = await send(cloud, 'pull_request', payload, refused.delivery);

    expect(redelivered.status).toBe(202);
    expect(redelivered.body).toMatchObject({ released: ids });
    expect(shown(await testsOf(env, ids))).toEqual(QUEUED);
  });

  it('a replayed labeled event (a new delivery id): the first answer, nothing written, GitHub not asked', async () => {
    const { cloud } = env;
    cloud.github.seedCollaborator(REPO, 'maintainer', 'admin');
    const sha = shaOf('approve-replay');
    await openWaiting(env, sha);
    const payload = approvalBy(sha, 'maintainer');
    const first = await send(cloud, 'pull_request', payload);
    expect(first.status).toBe(202);
    const before = await snapshot(env);

    const replay = await send(cloud, 'pull_request', payload);

    expect(replay.delivery).not.toBe(first.delivery);
    expect(replay.status).toBe(202);
    expect(replay.body).toEqual(first.body);
    expect(await snapshot(env)).toEqual(before);
  });
});

describe('approvals by a configured bot', () => {
  const env = useWebhookCloud({
    configure: (config) => ({ ...config, approvalBots: ['helper[bot]'] }),
  });

  it('a labeled event from a bot in approvalBots runs the tests, without a call to GitHub', async () => {
    const { cloud } = env;
    const sha = shaOf('approve-bot-known');
    const ids = await openWaiting(env, sha);
    const asked = cloud.github.calls().length;

    const res = await send(cloud, 'pull_request', approvalBy(sha, 'helper[bot]', 'Bot'));

    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ released: ids });
    expect(shown(await testsOf(env, ids))).toEqual(QUEUED);
    // Not even a status: the released tests' next one comes from runTest's claim.
    expect(cloud.github.calls().slice(asked)).toEqual([]);
  });
});

describe('the order of events (config/vmci.local.yaml)', () => {
  const env = useWebhookCloud();
  const member = { association: 'MEMBER' };

  it('synchronize(B), then a late synchronize(A): B stays queued, A is not created, nothing written', async () => {
    const { cloud } = env;
    const a = shaOf('order-late-a');
    const b = shaOf('order-late-b');
    const aPayload = pullRequestPayload('synchronize', a, member); // built first: older
    const bPayload = pullRequestPayload('synchronize', b, member);
    expect(await send(cloud, 'pull_request', bPayload)).toMatchObject({ status: 202 });
    const before = await snapshot(env);

    const late = await send(cloud, 'pull_request', aPayload);

    expect(late.status).toBe(202);
    expect(late.body).toEqual({
      delivery: late.delivery,
      tests: [],
      ignored: expect.stringMatching(/^an older head: [0-9a-f]{7} \(updated .*\) is older than/),
    });
    expect(shown(await testsOf(env, prIds(b)))).toEqual(QUEUED);
    expect(await env.store.listBySha(REPO, a)).toEqual([]);
    expect(await snapshot(env)).toEqual(before);
  });

  it('two synchronize events at once: the newer head’s tests survive, the older one’s never run', async () => {
    const { cloud } = env;
    for (let round = 0; round < 6; round += 1) {
      const a = shaOf(`order-race-a-${round}`);
      const b = shaOf(`order-race-b-${round}`);
      const aPayload = pullRequestPayload('synchronize', a, member);
      const bPayload = pullRequestPayload('synchronize', b, member);
      const sends = [send(cloud, 'pull_request', aPayload), send(cloud, 'pull_request', bPayload)];
      if (round % 2 === 1) sends.reverse();

      const answers = await Promise.all(sends);

      expect(answers.map((r) => r.status)).toEqual([202, 202]);
      expect(shown(await testsOf(env, prIds(b)))).toEqual(QUEUED);
      const older = await env.store.listBySha(REPO, a);
      // Either refused at the door or canceled before it was enqueued, or superseded once queued.
      expect(older.map((t) => [t.status, t.message])).toEqual(
        older.length === 0 ? [] : Array(2).fill(['canceled', supersededBy(b)]),
      );
    }
  });

  it('two heads with the same updated_at: GitHub’s PR head is the one kept', async () => {
    const { cloud } = env;
    const a = shaOf('order-tie-a');
    const b = shaOf('order-tie-b');
    const at = '2026-06-01T12:00:00Z';
    cloud.github.seedPullRequest(REPO, {
      number: PR_NUMBER,
      user: 'Codertocat',
      head: { sha: b, ref: 'changes' },
    });
    await send(
      cloud,
      'pull_request',
      pullRequestPayload('synchronize', a, { ...member, updatedAt: at }),
    );

    const res = await send(
      cloud,
      'pull_request',
      pullRequestPayload('synchronize', b, { ...member, updatedAt: at }),
    );

    expect(res.status).toBe(202);
    expect([...(res.body.canceled as string[])].sort()).toEqual([...prIds(a)].sort());
    expect(shown(await testsOf(env, prIds(b)))).toEqual(QUEUED);
    expect((await testsOf(env, prIds(a))).map((t) => t.message)).toEqual(
      Array(2).fill(supersededBy(b)),
    );
  });
});
