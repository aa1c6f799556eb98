import fc from 'fast-check';
import {
  PR_CLOSED,
  STATUS_LINE_MAX,
  TESTS_QUEUED,
  USER_BLOCKED,
  WAITING_FOR_APPROVAL,
  WAITING_FOR_BUILD,
  newCommitWaitsForApproval,
  platformInMaintenance,
} from '../../shared/domain/messages';
import { isValidFirestoreId, testId } from '../../shared/domain/naming';
import type { TestRecord } from '../../shared/domain/test';
import {
  planQuestions,
  planWebhook,
  workflowFile,
  type PlanFacts,
  type WebhookPlan,
} from '../../shared/webhook/plan';
import { LIVE_STATUSES } from '../../shared/domain/test';
import type { VmciConfig } from '../../shared/config/schema';
import { changed, validConfig, type Change } from '../config/fixtures';
import {
  DELIVERY,
  NOW,
  PUSH_SHA,
  REPO,
  RUN_SHA,
  SHA,
  configWith,
  eventOf,
  example,
  examplesOf,
  type Payload,
} from './fixtures';

const OCTO_REPO = 'octo-org/octo-repo';
const BASE_CLONE_URL = 'https://github.com/Codertocat/Hello-World.git';
const LINUX = (validConfig().platforms as Record<string, Payload>).linux;
const FORK_CLONE_URL = 'https://github.com/contributor/Hello-World.git';

function plan(
  event: string,
  payload: Payload,
  config: VmciConfig = configWith(),
  facts: PlanFacts = {},
): WebhookPlan {
  return planWebhook(eventOf(event, payload), config, NOW, facts);
}

/** The pull_request examples' updated_at. */
const UPDATED_AT = new Date('2019-05-15T15:20:33Z');
const WRITER: PlanFacts = { permission: { permission: 'write', roleName: 'write' } };

const get = (payload: Payload, path: string): unknown =>
  path.split('.').reduce<unknown>((node, key) => (node as Payload | null)?.[key], payload);

type Handled = Extract<WebhookPlan, { kind: 'handled' }>;

function handled(
  event: string,
  payload: Payload,
  config?: VmciConfig,
  facts: PlanFacts = {},
): Handled {
  const result = plan(event, payload, config, facts);
  if (result.kind !== 'handled') throw new Error(`expected handled, got ${JSON.stringify(result)}`);
  return result;
}

/** What a created test shows, by platform. */
function starts(tests: readonly TestRecord[]) {
  return Object.fromEntries(
    tests.map((t) => [
      t.platform,
      { status: t.status, waitReason: t.waitReason, message: t.message },
    ]),
  );
}

// --- payloads ------------------------------------------------------------------------

/** The example push to refs/heads/master, sent to `branch`. */
function push(branch = 'master', ...changes: readonly Change[]): Payload {
  const base = examplesOf('push').find((p) => p.ref === 'refs/heads/master' && !p.deleted);
  if (!base) throw new Error('no branch push among the examples');
  return changed(base, ['ref', `refs/heads/${branch}`], ...changes);
}

/** The owner's example PR (#2, head ec26c3e), with another action. */
function pr(action: string, ...changes: readonly Change[]): Payload {
  return example('pull_request', 'opened', ['action', action], ...changes);
}

/** A PR from a fork by someone without write access. */
function forkPr(action: string, ...changes: readonly Change[]): Payload {
  return pr(
    action,
    ['pull_request.author_association', 'CONTRIBUTOR'],
    ['pull_request.user.login', 'contributor'],
    ['pull_request.head.repo.full_name', 'contributor/Hello-World'],
    ['pull_request.head.repo.clone_url', FORK_CLONE_URL],
    ['pull_request.labels', []],
    ...changes,
  );
}

/** The octo-org/octo-repo example run (head 3484a3f), as another action and conclusion. */
function workflowRun(
  action: string,
  conclusion: string | null,
  path = '.github/workflows/build.yml',
): Payload {
  const base = examplesOf('workflow_run').find(
    (p) => p.action === 'completed' && get(p, 'repository.full_name') === OCTO_REPO,
  );
  if (!base) throw new Error('no completed octo-org/octo-repo run among the examples');
  return changed(
    base,
    ['action', action],
    ['workflow_run.conclusion', conclusion],
    ['workflow_run.path', path],
  );
}

// --- push ----------------------------------------------------------------------------

describe('push', () => {
  it('to a configured branch: one test per platform; the built platform waits for its build', () => {
    const { create, cancel, release } = handled('push', push('master'));

    expect(create.map((t) => t.id)).toEqual(
      ['linux', 'windows'].map((platform) =>
        testId({ repo: REPO, sha: PUSH_SHA, platform, trigger: 'push', pr: null, run: 1 }),
      ),
    );
    expect(starts(create)).toEqual({
      linux: { status: 'pending', waitReason: null, message: TESTS_QUEUED },
      windows: { status: 'waiting', waitReason: 'build', message: WAITING_FOR_BUILD },
    });
    for (const test of create) {
      expect(test).toMatchObject({
        repo: REPO,
        sha: PUSH_SHA,
        ref: 'refs/heads/master',
        cloneUrl: BASE_CLONE_URL,
        author: 'Codertocat',
        // The head commit message's first line.
        title: 'Initial commit',
        trigger: 'push',
        pr: null,
        run: 1,
        createdAt: NOW,
        attempts: 0,
        githubStatus: null,
      });
    }
    expect(cancel).toEqual([]);
    expect(release).toEqual([]);
  });

  it('plans the same tests for a redelivery (another delivery id, the same ids)', () => {
    const payload = push('master');
    const first = planWebhook(eventOf('push', payload, 'delivery-1'), configWith(), NOW);
    const again = planWebhook(eventOf('push', payload, 'delivery-2'), configWith(), NOW);
    expect(again).toEqual(first);
  });

  it.each([
    { info: 'a glob', branches: ['release/*'], branch: 'release/1.2' },
    { info: 'a ** glob', branches: ['release/**'], branch: 'release/1.2/rc' },
    { info: 'a branch with a slash', branches: ['main', 'feature/x'], branch: 'feature/x' },
  ])('to a branch matching $info creates tests', ({ branches, branch }) => {
    const { create } = handled('push', push(branch), configWith(['branches', branches]));
    expect(create.map((t) => [t.platform, t.ref])).toEqual([
      ['linux', `refs/heads/${branch}`],
      ['windows', `refs/heads/${branch}`],
    ]);
  });

  it.each([
    {
      info: 'an unconfigured branch',
      payload: () => push('feature/x'),
      reason: 'branch "feature/x" is not configured',
    },
    {
      info: 'a branch the glob does not reach',
      payload: () => push('master/x'),
      reason: 'branch "master/x" is not configured',
    },
    {
      info: 'a deleted branch',
      payload: () => push('master', ['deleted', true], ['after', '0'.repeat(40)]),
      reason: '"refs/heads/master" was deleted: nothing to test',
    },
    {
      info: 'a tag (the example)',
      payload: () => examplesOf('push')[0] as Payload,
      reason: '"refs/tags/simple-tag" is not a branch: tags are not tested',
    },
    {
      info: 'a deleted tag (the example)',
      payload: () => examplesOf('push')[1] as Payload,
      reason: '"refs/tags/simple-tag" was deleted: nothing to test',
    },
  ])('ignores $info', ({ payload, reason }) => {
    expect(plan('push', payload())).toEqual({ kind: 'ignored', reason });
  });

  it('a push without a head commit message has no title; a long one is cut', () => {
    const untitled = handled('push', push('master', ['head_commit', null]));
    expect(untitled.create.map((t) => t.title)).toEqual([null, null]);
    const long = handled('push', push('master', ['head_commit.message', `${'ab'.repeat(150)}\nx`]));
    expect(long.create.map((t) => t.title)).toEqual(
      Array(2).fill(`${'ab'.repeat(150).slice(0, 199)}…`),
    );
  });

  it('with no branches configured starts nothing', () => {
    expect(plan('push', push('master'), configWith(['branches', []]))).toEqual({
      kind: 'ignored',
      reason: 'branch "master" is not configured',
    });
  });

  it('from a repository that is not configured is forbidden', () => {
    const payload = push('master', ['repository.full_name', 'someone/else']);
    expect(plan('push', payload)).toEqual({
      kind: 'forbidden',
      reason: 'repository "someone/else" is not configured',
    });
  });

  it('compares repository names without case, and keys tests by the configured spelling', () => {
    const lower = handled(
      'push',
      push('master', ['repository.full_name', 'codertocat/HELLO-world']),
    );
    const exact = handled('push', push('master'));
    expect(lower.create.map((t) => t.repo)).toEqual([REPO, REPO]);
    expect(lower.create.map((t) => t.id)).toEqual(exact.create.map((t) => t.id));
  });

  it('to a platform in maintenance waits for it; a built platform waits for its build first', () => {
    const config = configWith(
      ['platforms.linux.maintenance', true],
      ['platforms.windows.maintenance', true],
    );
    const { create } = handled('push', push('master'), config);
    expect(starts(create)).toEqual({
      linux: {
        status: 'waiting',
        waitReason: 'maintenance',
        message: platformInMaintenance('linux'),
      },
      windows: { status: 'waiting', waitReason: 'build', message: WAITING_FOR_BUILD },
    });
  });

  it('is not refused for a blocked pusher: blocking applies to pull requests', () => {
    const config = configWith(['blockedUsers', ['Codertocat']]);
    const { create } = handled('push', push('master'), config);
    expect(create.map((t) => t.status)).toEqual(['pending', 'waiting']);
  });
});

// --- pull_request ---------------------------------------------------------------------

describe('pull_request opened / synchronize / reopened', () => {
  it.each(['opened', 'synchronize', 'reopened'])(
    '%s by the owner: tests for the head commit, of the head’s time; older heads’ queued tests superseded',
    (action) => {
      const result = handled('pull_request', pr(action));
      const { create, cancel, release } = result;

      expect(create.map((t) => t.id)).toEqual(
        ['linux', 'windows'].map((platform) =>
          testId({ repo: REPO, sha: SHA, platform, trigger: 'pull_request', pr: 2, run: 1 }),
        ),
      );
      expect(starts(create)).toEqual({
        linux: { status: 'pending', waitReason: null, message: TESTS_QUEUED },
        windows: { status: 'waiting', waitReason: 'build', message: WAITING_FOR_BUILD },
      });
      for (const test of create) {
        expect(test).toMatchObject({
          sha: SHA,
          ref: 'refs/heads/changes',
          cloneUrl: BASE_CLONE_URL,
          author: 'Codertocat',
          title: 'Update the README with new information.',
          trigger: 'pull_request',
          pr: 2,
          run: 1,
          headUpdatedAt: UPDATED_AT,
        });
      }
      // Which tests are older is for the store to say (order.ts), not a plain cancel.
      expect(cancel).toEqual([]);
      expect(result.head).toEqual({
        repo: REPO,
        pr: 2,
        sha: SHA,
        updatedAt: UPDATED_AT,
        supersede: ['waiting', 'pending', 'queued'],
      });
      expect(release).toEqual([]);
      expect(result.releaseIfApproved).toBeUndefined();
      expect(result.approve).toBeUndefined();
      expect(result.rerunClosed).toBe(action === 'reopened' ? true : undefined);
    },
  );

  it.each([
    { supersede: 'queued', statuses: ['waiting', 'pending', 'queued'] },
    { supersede: 'all', statuses: ['waiting', 'pending', 'queued', 'starting', 'running'] },
  ])(
    'supersede "$supersede" cancels older heads’ tests that are $statuses',
    ({ supersede, statuses }) => {
      const { cancel, head } = handled(
        'pull_request',
        pr('synchronize'),
        configWith(['supersede', supersede]),
      );
      expect(cancel).toEqual([]);
      expect(head).toEqual({
        repo: REPO,
        pr: 2,
        sha: SHA,
        updatedAt: UPDATED_AT,
        supersede: statuses,
      });
    },
  );

  it('supersede "none" cancels nothing', () => {
    const result = handled('pull_request', pr('synchronize'), configWith(['supersede', 'none']));
    expect(result.cancel).toEqual([]);
    expect(result.head?.supersede).toEqual([]);
    expect(result.create).toHaveLength(2);
  });

  it('the head’s time is the event’s pull_request.updated_at', () => {
    const payload = pr('synchronize', ['pull_request.updated_at', '2026-12-02T08:09:10Z']);
    const { create, head } = handled('pull_request', payload);
    const at = new Date('2026-12-02T08:09:10Z');
    expect(create.map((t) => t.headUpdatedAt)).toEqual([at, at]);
    expect(head?.updatedAt).toEqual(at);
  });

  it.each(['MEMBER', 'COLLABORATOR', 'OWNER'])(
    'an author who is %s runs without approval',
    (association) => {
      const { create } = handled(
        'pull_request',
        forkPr('opened', ['pull_request.author_association', association]),
      );
      expect(create.map((t) => t.status)).toEqual(['pending', 'waiting']);
      expect(create.map((t) => t.waitReason)).toEqual([null, 'build']);
    },
  );

  it.each(['CONTRIBUTOR', 'FIRST_TIME_CONTRIBUTOR', 'FIRST_TIMER', 'NONE', 'MANNEQUIN'])(
    'a fork PR by a %s waits for approval on every platform, cloned from the fork',
    (association) => {
      const payload = forkPr('opened', ['pull_request.author_association', association]);
      const result = handled('pull_request', payload);
      const { create, cancel } = result;
      expect(starts(create)).toEqual({
        linux: { status: 'waiting', waitReason: 'approval', message: WAITING_FOR_APPROVAL },
        windows: { status: 'waiting', waitReason: 'approval', message: WAITING_FOR_APPROVAL },
      });
      expect(create.map((t) => [t.cloneUrl, t.ref, t.author])).toEqual([
        [FORK_CLONE_URL, 'refs/heads/changes', 'contributor'],
        [FORK_CLONE_URL, 'refs/heads/changes', 'contributor'],
      ]);
      // Superseding does not depend on approval: an older unapproved commit is just as stale.
      expect(cancel).toEqual([]);
      expect(result.head?.supersede).toHaveLength(3);
    },
  );

  it('a fork PR’s waiting tests are released if an approval of the commit is recorded meanwhile', () => {
    const { releaseIfApproved } = handled('pull_request', forkPr('synchronize'));
    const scope = { repo: REPO, sha: SHA, pr: 2, waitReason: 'approval' };
    expect(releaseIfApproved).toEqual({
      repo: REPO,
      pr: 2,
      sha: SHA,
      release: [
        { ...scope, platforms: ['linux'], to: 'pending', message: TESTS_QUEUED },
        {
          ...scope,
          platforms: ['windows'],
          to: 'waiting',
          toWait: 'build',
          message: WAITING_FOR_BUILD,
        },
      ],
    });
  });

  it.each(['safe to test', 'Safe To Test'])(
    'a new commit on a fork PR that still carries the approval label ("%s") waits again, told to re-add it',
    (label) => {
      const payload = forkPr('synchronize', [
        'pull_request.labels',
        [{ name: 'bug' }, { name: label }],
      ]);
      const result = handled('pull_request', payload);
      const line = newCommitWaitsForApproval('safe to test');
      expect(line).toBe(
        "New commit waits for a maintainer's approval: re-add the 'safe to test' label",
      );
      expect(starts(result.create)).toEqual({
        linux: { status: 'waiting', waitReason: 'approval', message: line },
        windows: { status: 'waiting', waitReason: 'approval', message: line },
      });
      expect(result.releaseIfApproved).toBeDefined();
    },
  );

  it.each(['opened', 'synchronize', 'reopened'])(
    '%s of a fork PR whose head commit has a recorded approval runs as a trusted one',
    (action) => {
      const payload = forkPr(action, ['pull_request.labels', [{ name: 'safe to test' }]]);
      const result = handled('pull_request', payload, configWith(), { approved: true });
      expect(starts(result.create)).toEqual({
        linux: { status: 'pending', waitReason: null, message: TESTS_QUEUED },
        windows: { status: 'waiting', waitReason: 'build', message: WAITING_FOR_BUILD },
      });
      expect(result.releaseIfApproved).toBeUndefined();
    },
  );

  it('the configured approval label is the one whose presence asks to re-add it', () => {
    const config = configWith(['approvalLabel', 'ok-to-test']);
    const labeled = (name: string) => forkPr('synchronize', ['pull_request.labels', [{ name }]]);
    expect(handled('pull_request', labeled('safe to test'), config).create[0]).toMatchObject({
      waitReason: 'approval',
      message: WAITING_FOR_APPROVAL,
    });
    expect(handled('pull_request', labeled('OK-to-test'), config).create[0]).toMatchObject({
      waitReason: 'approval',
      message: newCommitWaitsForApproval('ok-to-test'),
    });
  });

  it('a fork PR waits for approval even on a platform in maintenance', () => {
    const config = configWith(['platforms.linux.maintenance', true]);
    const { create } = handled('pull_request', forkPr('opened'), config);
    expect(create.map((t) => t.waitReason)).toEqual(['approval', 'approval']);
  });

  it.each([
    { info: 'exact', blocked: ['contributor'] },
    { info: 'in another case', blocked: ['Contributor'] },
  ])(
    'a blocked author ($info) gets an error on every platform and older tests stop',
    ({ blocked }) => {
      const config = configWith(['blockedUsers', blocked], ['supersede', 'none']);
      const { create, cancel } = handled('pull_request', forkPr('synchronize'), config);
      expect(starts(create)).toEqual({
        linux: { status: 'error', waitReason: null, message: USER_BLOCKED },
        windows: { status: 'error', waitReason: null, message: USER_BLOCKED },
      });
      expect(create.map((t) => t.finishedAt)).toEqual([NOW, NOW]);
      // Whatever `supersede` says, and this commit's earlier tests too.
      expect(cancel).toEqual([
        { repo: REPO, pr: 2, statuses: [...LIVE_STATUSES], message: USER_BLOCKED },
      ]);
      const result = handled('pull_request', forkPr('synchronize'), config);
      expect(result.head?.supersede).toEqual([]);
      expect(result.releaseIfApproved).toBeUndefined();
    },
  );

  it('a blocked author stays blocked even with the approval label and a trusted association', () => {
    const payload = pr('opened', ['pull_request.labels', [{ name: 'safe to test' }]]);
    const { create } = handled(
      'pull_request',
      payload,
      configWith(['blockedUsers', ['codertocat']]),
    );
    expect(create.map((t) => t.status)).toEqual(['error', 'error']);
  });

  it('a PR whose fork was deleted clones from the base repository, by its pull ref', () => {
    const { create } = handled(
      'pull_request',
      forkPr('synchronize', ['pull_request.head.repo', null]),
    );
    expect(create.map((t) => [t.cloneUrl, t.ref])).toEqual([
      [BASE_CLONE_URL, 'refs/pull/2/head'],
      [BASE_CLONE_URL, 'refs/pull/2/head'],
    ]);
  });

  it('a PR to any base branch is tested: `branches` applies to pushes', () => {
    const payload = pr('opened', ['pull_request.base.ref', 'some/feature']);
    expect(handled('pull_request', payload, configWith(['branches', []])).create).toHaveLength(2);
  });

  it('a PR in a repository that is not configured is forbidden, whatever its action', () => {
    for (const action of ['opened', 'closed', 'assigned']) {
      expect(plan('pull_request', pr(action, ['repository.full_name', 'evil/fork']))).toEqual({
        kind: 'forbidden',
        reason: 'repository "evil/fork" is not configured',
      });
    }
  });

  it('tests of a push and of a PR on the same commit are different tests', () => {
    const fromPush = handled('push', push('master', ['after', SHA])).create.map((t) => t.id);
    const fromPr = handled('pull_request', pr('opened')).create.map((t) => t.id);
    expect(new Set([...fromPush, ...fromPr]).size).toBe(4);
  });
});

describe('pull_request closed', () => {
  it.each(
    examplesOf('pull_request')
      .filter((p) => p.action === 'closed')
      .map((p, i) => ({ i, p })),
  )('example #$i cancels every unfinished test of the PR and creates none', ({ p }) => {
    expect(plan('pull_request', p)).toEqual({
      kind: 'handled',
      create: [],
      cancel: [
        {
          repo: REPO,
          pr: 2,
          statuses: ['waiting', 'pending', 'queued', 'starting', 'running'],
          message: PR_CLOSED,
        },
      ],
      release: [],
    });
  });
});

describe('pull_request labeled', () => {
  it('with the approval label, by a writer: the head commit is approved and its tests leave the approval wait, each to its next gate', () => {
    const payload = forkPr(
      'labeled',
      ['label', { name: 'Safe to test' }],
      ['sender.login', 'maintainer'],
    );
    expect(plan('pull_request', payload, configWith(), WRITER)).toEqual({
      kind: 'handled',
      create: [],
      cancel: [],
      approve: {
        repo: REPO,
        pr: 2,
        sha: SHA,
        approvedBy: 'maintainer',
        approvedAt: NOW,
        delivery: DELIVERY,
      },
      release: [
        {
          repo: REPO,
          sha: SHA,
          pr: 2,
          platforms: ['linux'],
          waitReason: 'approval',
          to: 'pending',
          message: TESTS_QUEUED,
        },
        {
          repo: REPO,
          sha: SHA,
          pr: 2,
          platforms: ['windows'],
          waitReason: 'approval',
          to: 'waiting',
          toWait: 'build',
          message: WAITING_FOR_BUILD,
        },
      ],
    });
  });

  it('groups platforms that go to the same place, and sends maintenance platforms to wait for it', () => {
    const config = configWith(
      ['platforms.windows.buildWorkflow', undefined],
      ['platforms.windows.artifactName', undefined],
      ['platforms.mac', { ...LINUX, maintenance: true }],
    );
    const { release } = handled(
      'pull_request',
      forkPr('labeled', ['label', { name: 'safe to test' }]),
      config,
      WRITER,
    );
    const scope = { repo: REPO, sha: SHA, pr: 2, waitReason: 'approval' };
    expect(release).toEqual([
      { ...scope, platforms: ['linux', 'windows'], to: 'pending', message: TESTS_QUEUED },
      {
        ...scope,
        platforms: ['mac'],
        to: 'waiting',
        toWait: 'maintenance',
        message: platformInMaintenance('mac'),
      },
    ]);
  });

  it.each(
    examplesOf('pull_request')
      .filter((p) => p.action === 'labeled')
      .map((p, i) => ({ i, p })),
  )('example #$i (label "bug") is ignored', ({ p }) => {
    expect(plan('pull_request', p)).toEqual({
      kind: 'ignored',
      reason: 'label "bug" is not the approval label',
    });
  });

  it('the approval label on a blocked author’s PR starts nothing', () => {
    const payload = forkPr('labeled', ['label', { name: 'safe to test' }]);
    const config = configWith(['blockedUsers', ['CONTRIBUTOR']]);
    expect(plan('pull_request', payload, config, WRITER)).toEqual({
      kind: 'ignored',
      reason: '"contributor" is blocked: the approval label starts nothing',
    });
  });

  it.each([
    { permission: 'admin', roleName: 'admin' },
    { permission: 'write', roleName: 'maintain' },
    { permission: 'write', roleName: 'write' },
    { permission: 'write', roleName: 'docs-writer' },
  ])('counts from a person with $roleName access', (permission) => {
    const payload = forkPr('labeled', ['label', { name: 'safe to test' }]);
    const result = handled('pull_request', payload, configWith(), { permission });
    expect(result.approve).toMatchObject({ sha: SHA, approvedBy: 'Codertocat' });
    expect(result.release).toHaveLength(2);
  });

  it.each([
    { permission: 'read', roleName: 'triage' },
    { permission: 'read', roleName: 'read' },
    { permission: 'none', roleName: null },
  ])('counts for nothing from a person with $permission ($roleName) access', (permission) => {
    const payload = forkPr('labeled', ['label', { name: 'safe to test' }], ['sender.login', 'fan']);
    const access = permission.roleName ?? permission.permission;
    expect(plan('pull_request', payload, configWith(), { permission })).toEqual({
      kind: 'ignored',
      reason: `"fan" has "${access}" access: only people with write access may approve`,
      refused: { sender: 'fan', senderType: 'User', permission },
    });
  });

  it('counts for nothing when the sender’s permission is not known', () => {
    const payload = forkPr('labeled', ['label', { name: 'safe to test' }]);
    expect(plan('pull_request', payload)).toMatchObject({
      kind: 'ignored',
      reason: '"Codertocat"\'s permission is not known: the approval label counts for nothing',
    });
  });

  const byBot = (login: string) =>
    forkPr(
      'labeled',
      ['label', { name: 'safe to test' }],
      ['sender.login', login],
      ['sender.type', 'Bot'],
    );

  it('counts for nothing from a bot that is not in approvalBots, whatever its access', () => {
    const config = configWith(['approvalBots', ['other[bot]']]);
    expect(plan('pull_request', byBot('helper[bot]'), config, WRITER)).toEqual({
      kind: 'ignored',
      reason: 'bot "helper[bot]" is not in approvalBots: its approval label counts for nothing',
      refused: { sender: 'helper[bot]', senderType: 'Bot' },
    });
  });

  it('counts from a bot in approvalBots (in any case), without asking its access', () => {
    const config = configWith(['approvalBots', ['Helper[bot]']]);
    const result = handled('pull_request', byBot('helper[bot]'), config);
    expect(result.approve).toMatchObject({ sha: SHA, approvedBy: 'helper[bot]' });
    expect(result.release).toHaveLength(2);
  });
});

describe('planQuestions: what a plan needs to know first', () => {
  it.each(['opened', 'synchronize', 'reopened'])(
    '%s by an untrusted author: whether its head commit is approved',
    (action) => {
      expect(planQuestions(eventOf('pull_request', forkPr(action)), configWith())).toEqual({
        approval: { repo: REPO, pr: 2, sha: SHA },
      });
    },
  );

  it('the approval label added by a person: their permission, in the configured repository', () => {
    const payload = forkPr(
      'labeled',
      ['label', { name: 'Safe to test' }],
      ['sender.login', 'maintainer'],
      ['repository.full_name', 'codertocat/hello-world'],
    );
    expect(planQuestions(eventOf('pull_request', payload), configWith())).toEqual({
      permission: { repo: REPO, login: 'maintainer' },
    });
  });

  it.each([
    { info: 'a push', event: () => eventOf('push', push('master')) },
    { info: 'a trusted author’s head event', event: () => eventOf('pull_request', pr('opened')) },
    {
      info: 'a blocked author’s head event',
      event: () => eventOf('pull_request', forkPr('opened', ['pull_request.user.login', 'troll'])),
    },
    {
      info: 'a blocked author’s approval label',
      event: () =>
        eventOf(
          'pull_request',
          forkPr(
            'labeled',
            ['label', { name: 'safe to test' }],
            ['pull_request.user.login', 'troll'],
          ),
        ),
    },
    {
      info: 'another label',
      event: () => eventOf('pull_request', forkPr('labeled', ['label', { name: 'bug' }])),
    },
    {
      info: 'the approval label added by a bot',
      event: () =>
        eventOf(
          'pull_request',
          forkPr('labeled', ['label', { name: 'safe to test' }], ['sender.type', 'Bot']),
        ),
    },
    {
      info: 'an unconfigured repository',
      event: () => eventOf('pull_request', forkPr('opened', ['repository.full_name', 'evil/fork'])),
    },
    { info: 'a closed PR', event: () => eventOf('pull_request', forkPr('closed')) },
  ])('nothing for $info', ({ event }) => {
    expect(planQuestions(event(), configWith(['blockedUsers', ['troll']]))).toEqual({});
  });
});

describe('other pull_request actions', () => {
  const actions = [
    ...new Set(examplesOf('pull_request').map((p) => String(p.action))),
    'edited',
    'auto_merge_enabled',
  ].filter((a) => !['opened', 'synchronize', 'reopened', 'closed', 'labeled'].includes(a));

  it('covers the examples’ actions', () => {
    expect(actions).toEqual(expect.arrayContaining(['assigned', 'unlabeled', 'ready_for_review']));
  });

  it.each(actions)('%s is ignored', (action) => {
    expect(plan('pull_request', pr(action))).toEqual({
      kind: 'ignored',
      reason: `pull_request action "${action}" is not handled`,
    });
  });
});

// --- workflow_run ---------------------------------------------------------------------

describe('workflow_run', () => {
  const RUN = { repo: OCTO_REPO, sha: RUN_SHA, workflow: 'build.yml', runId: 30433642 };

  it('completed with success: the build is kept, and moves the commit’s tests (settle.ts)', () => {
    const payload = workflowRun('completed', 'success');
    expect(plan('workflow_run', payload)).toEqual({
      kind: 'handled',
      create: [],
      cancel: [],
      release: [],
      build: {
        ...RUN,
        runId: get(payload, 'workflow_run.id'),
        outcome: 'success',
        runAttempt: get(payload, 'workflow_run.run_attempt') ?? 1,
        conclusion: 'success',
        source: 'event',
        at: NOW,
      },
    });
  });

  it.each(['failure', 'cancelled', 'timed_out', 'skipped', 'stale', 'startup_failure', 'neutral'])(
    'completed with %s: a failed build is kept; nothing is created or canceled',
    (conclusion) => {
      const { create, cancel, release, build } = handled(
        'workflow_run',
        workflowRun('completed', conclusion),
      );
      expect(build).toMatchObject({
        ...RUN,
        runId: expect.any(Number),
        outcome: 'failure',
        conclusion,
      });
      expect([create, cancel, release]).toEqual([[], [], []]);
    },
  );

  it('a re-run keeps its attempt', () => {
    const payload = changed(workflowRun('completed', 'success'), ['workflow_run.run_attempt', 3]);
    expect(handled('workflow_run', payload).build?.runAttempt).toBe(3);
  });

  it('a workflow path with a ref still names its file', () => {
    const payload = workflowRun(
      'completed',
      'success',
      'octo-org/octo-repo/.github/workflows/build.yml@refs/heads/main',
    );
    expect(handled('workflow_run', payload).build?.workflow).toBe('build.yml');
  });

  it.each([
    {
      info: 'requested',
      payload: () => workflowRun('requested', null),
      reason: /^workflow_run "requested": only a completed run moves tests/,
    },
    {
      info: 'in_progress',
      payload: () => workflowRun('in_progress', null),
      reason: /^workflow_run "in_progress": only a completed run/,
    },
    {
      info: 'the requested example',
      payload: () => example('workflow_run', 'requested'),
      reason: /^workflow_run "requested"/,
    },
    {
      info: 'a workflow that builds no platform',
      payload: () => workflowRun('completed', 'failure', '.github/workflows/test.yml'),
      reason: /^workflow "test.yml" builds no platform$/,
    },
    {
      info: 'a workflow named like a built one in another folder',
      payload: () => workflowRun('completed', 'success', '.github/workflows/build.yaml'),
      reason: /^workflow "build.yaml" builds no platform$/,
    },
    {
      info: 'no conclusion',
      payload: () => workflowRun('completed', null),
      reason: /^workflow run completed without a conclusion$/,
    },
    {
      info: 'a run waiting for approval to run',
      payload: () => workflowRun('completed', 'action_required'),
      reason: /^workflow run waits for a maintainer/,
    },
  ])('ignores $info', ({ payload, reason }) => {
    const result = plan('workflow_run', payload());
    expect(result.kind).toBe('ignored');
    expect(result.kind === 'ignored' && result.reason).toMatch(reason);
  });

  it('every completed example payload is ignored: test.yml and syntax.yml build nothing here', () => {
    for (const payload of examplesOf('workflow_run').filter((p) => p.action === 'completed')) {
      expect(
        plan('workflow_run', payload, configWith(['repositories', [REPO, OCTO_REPO]])),
      ).toMatchObject({
        kind: 'ignored',
      });
    }
  });

  it('from a repository that is not configured is forbidden', () => {
    const payload = example('workflow_run', 'completed', ['repository.full_name', 'other/repo']);
    expect(plan('workflow_run', payload)).toEqual({
      kind: 'forbidden',
      reason: 'repository "other/repo" is not configured',
    });
  });
});

describe('workflowFile', () => {
  it.each([
    ['.github/workflows/build.yml', 'build.yml'],
    ['build.yml', 'build.yml'],
    ['.github/workflows/build.yml@refs/heads/main', 'build.yml'],
    ['org/repo/.github/workflows/ci.yaml@v1', 'ci.yaml'],
  ])('%s → %s', (path, file) => {
    expect(workflowFile(path)).toBe(file);
  });
});

// --- the rest ---------------------------------------------------------------------------

describe('ping and other events', () => {
  it.each(examplesOf('ping').map((p, i) => ({ i, p })))(
    'ping example #$i answers as a ping',
    ({ p }) => {
      expect(plan('ping', p)).toEqual({ kind: 'ping' });
    },
  );

  it.each(['issues', 'check_suite', 'workflow_job'])('%s is ignored, naming the event', (name) => {
    expect(plan(name, {})).toEqual({ kind: 'ignored', reason: `event "${name}" is not handled` });
  });
});

describe('a fork PR, start to finish', () => {
  it('waits for approval, then for its build, then runs; a failed build fails only its platform', () => {
    const config = configWith(['repositories', [REPO]]);
    const opened = handled('pull_request', forkPr('opened'), config);
    expect(opened.create.map((t) => t.waitReason)).toEqual(['approval', 'approval']);

    const approved = handled(
      'pull_request',
      forkPr('labeled', ['label', { name: 'safe to test' }]),
      config,
      WRITER,
    );
    expect(approved.release.map((r) => [r.platforms, r.waitReason, r.to])).toEqual([
      [['linux'], 'approval', 'pending'],
      [['windows'], 'approval', 'waiting'],
    ]);

    const run = (conclusion: string) =>
      example(
        'workflow_run',
        'completed',
        ['repository.full_name', REPO],
        ['workflow_run.head_sha', SHA],
        ['workflow_run.path', '.github/workflows/build.yml'],
        ['workflow_run.conclusion', conclusion],
      );
    expect(handled('workflow_run', run('success'), config).build).toMatchObject({
      repo: REPO,
      sha: SHA,
      workflow: 'build.yml',
      outcome: 'success',
    });
    expect(handled('workflow_run', run('failure'), config).build?.outcome).toBe('failure');
  });
});

// --- properties ---------------------------------------------------------------------------

describe('for any push or pull request', () => {
  const hex40 = fc.stringMatching(/^[0-9a-f]{40}$/);
  const repoName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/);
  const login = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9-]{0,38}(\[bot\])?$/);
  const platformName = fc.stringMatching(/^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$/);
  const platforms = fc.uniqueArray(
    fc.record({ name: platformName, maintenance: fc.boolean(), build: fc.boolean() }),
    { minLength: 1, maxLength: 6, selector: (p) => p.name },
  );
  const scenario = fc.record({
    repo: repoName,
    sha: hex40,
    branch: fc.stringMatching(/^[A-Za-z0-9._/-]{1,80}$/),
    author: login,
    blocked: fc.boolean(),
    association: fc.constantFrom('OWNER', 'MEMBER', 'COLLABORATOR', 'CONTRIBUTOR', 'NONE'),
    labels: fc.array(fc.string({ maxLength: 50 }), { maxLength: 3 }),
    number: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    action: fc.constantFrom('opened', 'synchronize', 'reopened'),
    supersede: fc.constantFrom('queued', 'all', 'none'),
    platforms,
  });

  type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

  function configFor(s: Scenario): VmciConfig {
    const entries = s.platforms.map((p) => [
      p.name,
      {
        ...LINUX,
        maintenance: p.maintenance,
        ...(p.build ? { buildWorkflow: 'build.yml', artifactName: 'artifact' } : {}),
      },
    ]);
    return configWith(
      ['repositories', [s.repo]],
      ['branches', ['**']],
      ['blockedUsers', s.blocked ? [s.author] : []],
      ['supersede', s.supersede],
      ['platforms', Object.fromEntries(entries)],
    );
  }

  function plansOf(s: Scenario): Handled[] {
    const config = configFor(s);
    const pushed = push(
      s.branch,
      ['repository.full_name', s.repo],
      ['after', s.sha],
      ['sender.login', s.author],
    );
    const opened = pr(
      s.action,
      ['repository.full_name', s.repo],
      ['number', s.number],
      ['pull_request.head.sha', s.sha],
      ['pull_request.head.ref', s.branch],
      ['pull_request.user.login', s.author],
      ['pull_request.author_association', s.association],
      ['pull_request.labels', s.labels.map((name) => ({ name }))],
    );
    return [handled('push', pushed, config), handled('pull_request', opened, config)];
  }

  it('every created test has a valid, unique id and a one-line message of at most 140 characters', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const plans = plansOf(s);
        const created = plans.flatMap((p) => p.create);
        expect(created).toHaveLength(2 * s.platforms.length);
        const ids = created.map((t) => t.id);
        expect(new Set(ids).size).toBe(ids.length);
        for (const test of created) {
          expect(isValidFirestoreId(test.id)).toBe(true);
          expect(test.id).toMatch(/^[a-z0-9-]+$/);
          expect(test.message.length).toBeLessThanOrEqual(STATUS_LINE_MAX);
          expect(test.message).not.toMatch(/[\r\n]/);
          expect(test.waitReason !== null).toBe(test.status === 'waiting');
        }
        for (const selector of plans.flatMap((p) => [...p.cancel, ...p.release])) {
          expect(selector.message.length).toBeLessThanOrEqual(STATUS_LINE_MAX);
        }
      }),
    );
  });

  it('plans the same tests again for the same event (a redelivery)', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        expect(plansOf(s)).toEqual(plansOf(s));
      }),
      { numRuns: 30 },
    );
  });
});
