import fc from 'fast-check';
import {
  DEFAULT_STATUS_CONTEXT,
  GITHUB_STATES,
  commitStatus,
  githubState,
  shouldPostStatus,
  statusContext,
  type GitHubState,
} from '../../shared/domain/github';
import { TEST_STATUSES, type TestStatus } from '../../shared/domain/test';

describe('githubState', () => {
  it.each<[TestStatus, GitHubState]>([
    ['waiting', 'pending'],
    ['pending', 'pending'],
    ['queued', 'pending'],
    ['starting', 'pending'],
    ['running', 'pending'],
    ['passed', 'success'],
    ['failed', 'failure'],
    ['error', 'error'],
    ['timed_out', 'error'],
    ['canceled', 'error'],
  ])('%s → %s', (status, state) => {
    expect(githubState(status)).toBe(state);
  });

  it('maps every status to a GitHub state', () => {
    for (const status of TEST_STATUSES) {
      expect(GITHUB_STATES).toContain(githubState(status));
    }
  });
});

describe('statusContext', () => {
  it.each([
    { template: DEFAULT_STATUS_CONTEXT, platform: 'linux', expected: 'ci/linux' },
    { template: 'ci/{platform}', platform: 'windows', expected: 'ci/windows' },
    { template: 'CI - {platform}', platform: 'linux', expected: 'CI - linux' },
    { template: '{platform}/{platform}', platform: 'mac', expected: 'mac/mac' },
    // A `$&` in the platform is text, not a replacement pattern.
    { template: 'ci/{platform}', platform: '$&-$1', expected: 'ci/$&-$1' },
    // Without a placeholder the platform is still part of the context.
    { template: 'vm-ci', platform: 'linux', expected: 'vm-ci/linux' },
  ])('$template with $platform → $expected', ({ template, platform, expected }) => {
    expect(statusContext(template, platform)).toBe(expected);
  });

  it('gives each platform its own context for any template', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 30 }),
        fc.uniqueArray(fc.stringMatching(/^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$/), {
          minLength: 2,
          maxLength: 5,
        }),
        (template, platforms) => {
          const contexts = platforms.map((p) => statusContext(template, p));
          expect(new Set(contexts).size).toBe(platforms.length);
        },
      ),
    );
  });
});

describe('shouldPostStatus', () => {
  const running = { state: 'pending' as const, description: 'Running tests' };
  it.each([
    { last: null, next: running, post: true, why: 'nothing posted yet' },
    { last: running, next: running, post: false, why: 'same state and message' },
    {
      last: running,
      next: { state: 'pending' as const, description: 'Preparing the VM' },
      post: true,
      why: 'new message',
    },
    {
      last: { state: 'pending' as const, description: 'Tests failed' },
      next: { state: 'failure' as const, description: 'Tests failed' },
      post: true,
      why: 'new state',
    },
    {
      last: running,
      next: { state: 'pending' as const, description: ' Running\ntests ' },
      post: false,
      why: 'a message that posts as the same line',
    },
    {
      last: { state: 'error' as const, description: 'x'.repeat(200) },
      next: { state: 'error' as const, description: `${'x'.repeat(200)}y` },
      post: false,
      why: 'a change past the 140 characters GitHub shows',
    },
  ])('$why → $post', ({ last, next, post }) => {
    expect(shouldPostStatus(last, next)).toBe(post);
  });

  it('posts again exactly when the posted status would differ', () => {
    const status = fc.record({
      state: fc.constantFrom(...GITHUB_STATES),
      description: fc.constantFrom('Tests queued', 'Running tests', 'PR closed'),
    });
    fc.assert(
      fc.property(status, status, (last, next) => {
        const differs = last.state !== next.state || last.description !== next.description;
        expect(shouldPostStatus(last, next)).toBe(differs);
      }),
    );
  });
});

describe('commitStatus', () => {
  it('builds the GitHub body from the test', () => {
    expect(
      commitStatus(
        { status: 'timed_out', platform: 'windows', message: 'Could not complete\ntests' },
        'CI - {platform}',
        'https://ci.example/status/tests/abc',
      ),
    ).toEqual({
      state: 'error',
      context: 'CI - windows',
      description: 'Could not complete tests',
      target_url: 'https://ci.example/status/tests/abc',
    });
  });

  it('never posts a description over 140 characters', () => {
    const body = commitStatus(
      { status: 'failed', platform: 'linux', message: 'y'.repeat(500) },
      DEFAULT_STATUS_CONTEXT,
      'https://ci.example/s',
    );
    expect(body.description).toHaveLength(140);
    expect(body.state).toBe('failure');
  });
});
