import { parseWebhook, type WebhookEvent } from '../../shared/webhook/events';
import type { Change } from '../config/fixtures';
import {
  DELIVERY,
  PUSH_SHA,
  REPO,
  RUN_SHA,
  SHA,
  eventOf,
  example,
  examplesOf,
  headersFor,
  type Payload,
} from './fixtures';

const get = (payload: Payload, path: string): unknown =>
  path.split('.').reduce<unknown>((node, key) => (node as Payload | null)?.[key], payload);

describe('every example payload of @octokit/webhooks-examples parses', () => {
  const table = (event: string) =>
    examplesOf(event).map((payload, index) => ({ event, index, payload }));

  it.each(table('push'))('push #$index', ({ payload }) => {
    const event = eventOf('push', payload);
    expect(event).toEqual({
      name: 'push',
      delivery: DELIVERY,
      repo: get(payload, 'repository.full_name'),
      ref: payload.ref,
      sha: payload.after,
      deleted: payload.deleted,
      cloneUrl: get(payload, 'repository.clone_url'),
      pusher: get(payload, 'sender.login'),
      repoPublic: get(payload, 'repository.private') === false,
      // The examples' messages are one line, or there is no head commit.
      title: (get(payload, 'head_commit.message') as string | undefined) ?? null,
    });
  });

  it.each(table('pull_request'))('pull_request #$index ($payload.action)', ({ payload }) => {
    const event = eventOf('pull_request', payload);
    const labels = get(payload, 'pull_request.labels') as { name: string }[];
    expect(event).toEqual({
      name: 'pull_request',
      delivery: DELIVERY,
      action: payload.action,
      repo: get(payload, 'repository.full_name'),
      number: payload.number,
      headSha: get(payload, 'pull_request.head.sha'),
      headRef: get(payload, 'pull_request.head.ref'),
      headCloneUrl: get(payload, 'pull_request.head.repo.clone_url'),
      headRepo: get(payload, 'pull_request.head.repo.full_name'),
      baseRef: get(payload, 'pull_request.base.ref'),
      author: get(payload, 'pull_request.user.login'),
      title: get(payload, 'pull_request.title'),
      authorAssociation: get(payload, 'pull_request.author_association'),
      ...(payload.label === undefined ? {} : { label: get(payload, 'label.name') }),
      labels: labels.map((label) => label.name),
      updatedAt: new Date(get(payload, 'pull_request.updated_at') as string),
      sender: get(payload, 'sender.login'),
      senderType: get(payload, 'sender.type'),
      repoPublic: get(payload, 'repository.private') === false,
    });
  });

  it.each(table('workflow_run'))('workflow_run #$index ($payload.action)', ({ payload }) => {
    const event = eventOf('workflow_run', payload);
    expect(event).toEqual({
      name: 'workflow_run',
      delivery: DELIVERY,
      action: payload.action,
      repo: get(payload, 'repository.full_name'),
      headSha: get(payload, 'workflow_run.head_sha'),
      headBranch: get(payload, 'workflow_run.head_branch'),
      workflowPath: get(payload, 'workflow_run.path') ?? get(payload, 'workflow.path'),
      conclusion: get(payload, 'workflow_run.conclusion'),
      runId: get(payload, 'workflow_run.id'),
      runAttempt: get(payload, 'workflow_run.run_attempt') ?? 1,
    });
    expect((event as { workflowPath: string }).workflowPath).toMatch(
      /^\.github\/workflows\/.+\.yml$/,
    );
  });

  it.each(table('ping'))('ping #$index', ({ payload }) => {
    expect(eventOf('ping', payload)).toEqual({
      name: 'ping',
      delivery: DELIVERY,
      hookId: payload.hook_id,
      zen: payload.zen,
    });
  });
});

describe('what the events carry', () => {
  it('push: the commit, branch, clone URL and pusher of the example', () => {
    const event = eventOf('push', example('push', undefined, ['ref', 'refs/heads/master']));
    expect(event).toEqual({
      name: 'push',
      delivery: DELIVERY,
      repo: REPO,
      ref: 'refs/heads/master',
      sha: PUSH_SHA,
      deleted: false,
      cloneUrl: 'https://github.com/Codertocat/Hello-World.git',
      pusher: 'Codertocat',
      repoPublic: true,
      title: 'Adding a .gitignore file',
    });
  });

  it('push: the head commit message’s first line is the title; none without a head commit', () => {
    const push = (...changes: Change[]) => eventOf('push', example('push', undefined, ...changes));
    const message = 'Fix <img src=x onerror=alert(1)>\u0007 in\tparsing\n\nThe body.\n';
    expect(push(['head_commit.message', message])).toMatchObject({
      title: 'Fix <img src=x onerror=alert(1)> in parsing',
    });
    expect(push(['head_commit', null])).toMatchObject({ title: null });
    expect(push(['head_commit', undefined])).toMatchObject({ title: null });
    expect(push(['head_commit.message', undefined])).toMatchObject({ title: null });
    expect(push(['head_commit.message', `${'x'.repeat(300)}\nbody`])).toMatchObject({
      title: `${'x'.repeat(199)}…`,
    });
    // A message that is not text is not GitHub's.
    expect(
      parseWebhook(headersFor('push'), example('push', undefined, ['head_commit.message', 7])),
    ).toMatchObject({ ok: false, problems: [expect.stringMatching(/^head_commit\.message: /)] });
  });

  it('pull_request: its title as one line of at most 200 characters; null when not sent', () => {
    const opened = (...changes: Change[]) =>
      eventOf('pull_request', example('pull_request', 'opened', ...changes));
    expect(opened()).toMatchObject({ title: 'Update the README with new information.' });
    expect(opened(['pull_request.title', ' Fix\n</script>\u0000 now '])).toMatchObject({
      title: 'Fix </script> now',
    });
    expect(opened(['pull_request.title', '😀'.repeat(250)])).toMatchObject({
      title: `${'😀'.repeat(199)}…`,
    });
    expect(opened(['pull_request.title', undefined])).toMatchObject({ title: null });
    expect(opened(['pull_request.title', null])).toMatchObject({ title: null });
    expect(
      parseWebhook(
        headersFor('pull_request'),
        example('pull_request', 'opened', ['pull_request.title', ['a']]),
      ),
    ).toMatchObject({ ok: false, problems: [expect.stringMatching(/^pull_request\.title: /)] });
  });

  it.each([
    [true, false],
    [false, true],
    [undefined, null],
  ])('repository.private %s: repoPublic %s', (isPrivate, repoPublic) => {
    const change = ['repository.private', isPrivate] as const;
    expect(eventOf('push', example('push', undefined, change))).toMatchObject({ repoPublic });
    expect(eventOf('pull_request', example('pull_request', 'opened', change))).toMatchObject({
      repoPublic,
    });
  });

  it('repository.private that is not a boolean is refused', () => {
    const result = parseWebhook(
      headersFor('push'),
      example('push', undefined, ['repository.private', 'no']),
    );
    expect(result.ok).toBe(false);
  });

  it('pull_request labeled: the label just added and the labels the PR carries', () => {
    const event = eventOf('pull_request', example('pull_request', 'labeled'));
    expect(event).toMatchObject({ action: 'labeled', label: 'bug', labels: ['bug'], headSha: SHA });
  });

  it('pull_request: when the PR was last updated, and who did it (a person or a bot)', () => {
    const opened = eventOf('pull_request', example('pull_request', 'opened'));
    expect(opened).toMatchObject({
      updatedAt: new Date('2019-05-15T15:20:33Z'),
      sender: 'Codertocat',
      senderType: 'User',
    });
    const byBot = eventOf(
      'pull_request',
      example(
        'pull_request',
        'labeled',
        ['sender.login', 'helper[bot]'],
        ['sender.type', 'Bot'],
        ['pull_request.updated_at', '2026-12-01T10:11:12+01:00'],
      ),
    );
    expect(byBot).toMatchObject({
      sender: 'helper[bot]',
      senderType: 'Bot',
      updatedAt: new Date('2026-12-01T09:11:12Z'),
    });
  });

  it('pull_request from a deleted fork: clones from the base repository', () => {
    const payload = example(
      'pull_request',
      'opened',
      ['pull_request.head.repo', null],
      ['repository.clone_url', 'https://github.com/Codertocat/Hello-World-base.git'],
    );
    expect(eventOf('pull_request', payload)).toMatchObject({
      headRepo: null,
      headCloneUrl: 'https://github.com/Codertocat/Hello-World-base.git',
    });
  });

  it('pull_request from a fork: the fork is the head repository', () => {
    const payload = example(
      'pull_request',
      'opened',
      ['pull_request.head.repo.full_name', 'contributor/Hello-World'],
      ['pull_request.head.repo.clone_url', 'https://github.com/contributor/Hello-World.git'],
    );
    expect(eventOf('pull_request', payload)).toMatchObject({
      repo: REPO,
      headRepo: 'contributor/Hello-World',
      headCloneUrl: 'https://github.com/contributor/Hello-World.git',
    });
  });

  it('workflow_run without a path on the run: the path of the workflow beside it', () => {
    const payload = example(
      'workflow_run',
      'completed',
      ['workflow_run.path', undefined],
      ['workflow.path', '.github/workflows/build.yml'],
    );
    expect(eventOf('workflow_run', payload)).toMatchObject({
      workflowPath: '.github/workflows/build.yml',
      headSha: expect.stringMatching(/^[0-9a-f]{40}$/),
    });
  });

  it('workflow_run: the run path wins over the workflow object', () => {
    const payload = example(
      'workflow_run',
      'completed',
      ['workflow_run.path', '.github/workflows/build.yml'],
      ['workflow.path', '.github/workflows/other.yml'],
      ['workflow_run.head_sha', RUN_SHA],
    );
    expect(eventOf('workflow_run', payload)).toMatchObject({
      workflowPath: '.github/workflows/build.yml',
      headSha: RUN_SHA,
    });
  });

  it.each([
    { event: 'issues', body: example('push') },
    { event: 'check_suite', body: null },
    { event: 'installation', body: 'not even an object' },
  ])('any other event ($event) is accepted without reading its body', ({ event, body }) => {
    expect(parseWebhook(headersFor(event), body)).toEqual({
      ok: true,
      event: { name: 'other', delivery: DELIVERY, event },
    });
  });
});

describe('headers', () => {
  const body = example('ping');
  it.each([
    {
      info: 'no event',
      headers: { 'x-github-delivery': DELIVERY },
      problem: 'x-github-event: required',
    },
    {
      info: 'no delivery',
      headers: { 'x-github-event': 'ping' },
      problem: 'x-github-delivery: required',
    },
    { info: 'no headers at all', headers: {}, problem: 'x-github-event: required' },
    {
      info: 'an empty delivery',
      headers: { 'x-github-event': 'ping', 'x-github-delivery': '' },
      problem: 'x-github-delivery: expected a delivery id: 1 to 100 letters, digits and -',
    },
    {
      info: 'a delivery of 101 characters',
      headers: { 'x-github-event': 'ping', 'x-github-delivery': 'a'.repeat(101) },
      problem: 'x-github-delivery: expected a delivery id: 1 to 100 letters, digits and -',
    },
    {
      info: 'a delivery with a slash',
      headers: { 'x-github-event': 'ping', 'x-github-delivery': '../x' },
      problem: 'x-github-delivery: expected a delivery id: 1 to 100 letters, digits and -',
    },
    {
      info: 'an event name that is not GitHub’s',
      headers: { 'x-github-event': 'Push Event', 'x-github-delivery': DELIVERY },
      problem: 'x-github-event: expected a GitHub event name such as push',
    },
    {
      info: 'the event twice',
      headers: { 'x-github-event': ['push', 'ping'], 'x-github-delivery': DELIVERY },
      problem: 'x-github-event: expected a string, got a list',
    },
  ])('$info → $problem', ({ headers, problem }) => {
    const result = parseWebhook(headers, body);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems).toContain(problem);
  });

  it('reports both missing headers at once', () => {
    expect(parseWebhook({}, body)).toEqual({
      ok: false,
      problems: ['x-github-event: required', 'x-github-delivery: required'],
    });
  });

  it.each([
    {
      info: 'mixed-case names',
      headers: { 'X-GitHub-Event': 'ping', 'X-GitHub-Delivery': 'abc-1' },
      delivery: 'abc-1',
    },
    {
      info: 'one-item lists',
      headers: { 'x-github-event': ['ping'], 'x-github-delivery': ['abc-2'] },
      delivery: 'abc-2',
    },
    {
      info: 'a 100-character delivery',
      headers: { 'x-github-event': 'ping', 'x-github-delivery': 'a'.repeat(100) },
      delivery: 'a'.repeat(100),
    },
  ])('accepts $info', ({ headers, delivery }) => {
    expect(parseWebhook(headers, body)).toMatchObject({
      ok: true,
      event: { name: 'ping', delivery },
    });
  });
});

describe('payloads that miss or break a field vm-ci uses', () => {
  const badSha = 'after: expected a 40-character commit sha';
  it.each([
    {
      event: 'push',
      body: example('push', undefined, ['after', undefined]),
      problem: 'after: required',
    },
    { event: 'push', body: example('push', undefined, ['after', 'abc123']), problem: badSha },
    {
      event: 'push',
      body: example('push', undefined, ['after', PUSH_SHA.toUpperCase()]),
      problem: badSha,
    },
    { event: 'push', body: example('push', undefined, ['after', `${PUSH_SHA}0`]), problem: badSha },
    {
      event: 'push',
      body: example('push', undefined, ['after', 42]),
      problem: 'after: expected a string, got a number',
    },
    {
      event: 'push',
      body: example('push', undefined, ['repository', undefined]),
      problem: 'repository: required',
    },
    {
      event: 'push',
      body: example('push', undefined, ['repository', null]),
      problem: 'repository: expected a mapping, got null',
    },
    {
      event: 'push',
      body: example('push', undefined, ['repository.full_name', 7]),
      problem: 'repository.full_name: expected a string, got a number',
    },
    {
      event: 'push',
      body: example('push', undefined, ['repository.full_name', 'no-slash']),
      problem: 'repository.full_name: expected "owner/name"',
    },
    {
      event: 'push',
      body: example('push', undefined, ['repository.clone_url', 'ext::sh -c touch% /tmp/pwned']),
      problem: 'repository.clone_url: expected an http(s) URL',
    },
    {
      event: 'push',
      body: example('push', undefined, ['repository.clone_url', 'file:///etc']),
      problem: 'repository.clone_url: expected an http(s) URL',
    },
    {
      event: 'push',
      body: example('push', undefined, ['deleted', 'false']),
      problem: 'deleted: expected true or false, got a string',
    },
    {
      event: 'push',
      body: example('push', undefined, ['ref', '']),
      problem: 'ref: must not be empty',
    },
    {
      event: 'push',
      body: example('push', undefined, ['sender', undefined]),
      problem: 'sender: required',
    },
    { event: 'push', body: null, problem: '(root): expected a mapping, got null' },
    { event: 'push', body: [], problem: '(root): expected a mapping, got a list' },
    {
      event: 'pull_request',
      body: example('pull_request', 'opened', ['number', '2']),
      problem: 'number: expected a number, got a string',
    },
    {
      event: 'pull_request',
      body: example('pull_request', 'opened', ['number', 2.5]),
      problem: 'number: expected an integer',
    },
    {
      event: 'pull_request',
      body: example('pull_request', 'opened', ['pull_request.head.sha', 'not-a-sha']),
      problem: 'pull_request.head.sha: expected a 40-character commit sha',
    },
    {
      event: 'pull_request',
      body: example('pull_request', 'opened', ['pull_request.user', undefined]),
      problem: 'pull_request.user: required',
    },
    {
      event: 'pull_request',
      body: example('pull_request', 'opened', ['pull_request.author_association', undefined]),
      problem: 'pull_request.author_association: required',
    },
    {
      event: 'pull_request',
      body: example('pull_request', 'opened', ['pull_request.labels', 'bug']),
      problem: 'pull_request.labels: expected a list, got a string',
    },
    {
      event: 'pull_request',
      body: example('pull_request', 'opened', ['repository', undefined]),
      problem: 'repository: required',
    },
    {
      event: 'pull_request',
      body: example('pull_request', 'labeled', ['label.name', undefined]),
      problem: 'label.name: required',
    },
    {
      event: 'pull_request',
      body: example('pull_request', 'synchronize', ['pull_request.updated_at', undefined]),
      problem: 'pull_request.updated_at: required',
    },
    {
      event: 'pull_request',
      body: example('pull_request', 'synchronize', ['pull_request.updated_at', 'yesterday']),
      problem: 'pull_request.updated_at: expected an ISO 8601 time such as 2019-05-15T15:20:33Z',
    },
    {
      event: 'pull_request',
      body: example('pull_request', 'labeled', ['sender', undefined]),
      problem: 'sender: required',
    },
    {
      event: 'pull_request',
      body: example('pull_request', 'labeled', ['sender.type', undefined]),
      problem: 'sender.type: required',
    },
    {
      event: 'workflow_run',
      body: example(
        'workflow_run',
        'completed',
        ['workflow_run.path', undefined],
        ['workflow', undefined],
      ),
      problem: 'workflow_run.path: required',
    },
    {
      event: 'workflow_run',
      body: example('workflow_run', 'completed', ['workflow_run.head_sha', 'HEAD']),
      problem: 'workflow_run.head_sha: expected a 40-character commit sha',
    },
    {
      event: 'workflow_run',
      body: example('workflow_run', 'completed', ['workflow_run.id', undefined]),
      problem: 'workflow_run.id: required',
    },
    {
      event: 'workflow_run',
      body: example('workflow_run', 'completed', ['workflow_run', undefined]),
      problem: 'workflow_run: required',
    },
    {
      event: 'workflow_run',
      body: example('workflow_run', 'completed', ['repository', undefined]),
      problem: 'repository: required',
    },
    {
      event: 'ping',
      body: example('ping', undefined, ['hook_id', 'one']),
      problem: 'hook_id: expected a number, got a string',
    },
    { event: 'ping', body: 'zen', problem: '(root): expected a mapping, got a string' },
  ])('$event: $problem', ({ event, body, problem }) => {
    const result = parseWebhook(headersFor(event), body);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems).toContain(problem);
  });

  it('lists every problem at once, path by path', () => {
    const body = example(
      'push',
      undefined,
      ['after', 'x'],
      ['repository', undefined],
      ['deleted', 1],
    );
    const result = parseWebhook(headersFor('push'), body);
    expect(!result.ok && [...result.problems].sort()).toEqual([
      'after: expected a 40-character commit sha',
      'deleted: expected true or false, got a number',
      'repository: required',
    ]);
  });

  it('lists a missing workflow path along with the other problems', () => {
    const body = example(
      'workflow_run',
      'completed',
      ['workflow_run.path', undefined],
      ['workflow', null],
      ['workflow_run.id', 'x'],
    );
    const result = parseWebhook(headersFor('workflow_run'), body);
    expect(!result.ok && [...result.problems].sort()).toEqual([
      'workflow_run.id: expected a number, got a string',
      'workflow_run.path: required',
    ]);
  });

  it('never echoes the value it refused', () => {
    const secret = 'ghp_0123456789abcdefghijklmnopqrstuvwxyz';
    const result = parseWebhook(headersFor('push'), example('push', undefined, ['after', secret]));
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain(secret);
  });

  it('keeps only the fields it uses', () => {
    const event: WebhookEvent = eventOf(
      'push',
      example('push', undefined, ['extra', { big: 'x' }]),
    );
    expect(Object.keys(event).sort()).toEqual(
      [
        'cloneUrl',
        'delivery',
        'deleted',
        'name',
        'pusher',
        'ref',
        'repo',
        'repoPublic',
        'sha',
        'title',
      ].sort(),
    );
  });
});
