import { STATUS_LINE_MAX, WAITING_FOR_BUILD } from '../../shared/domain/messages';
import { isValidFirestoreId, testId } from '../../shared/domain/naming';
import { newTestRecord, type NewTestInput, type TestStart } from '../../shared/domain/new-test';
import type { TestRecord } from '../../shared/domain/test';

const NOW = new Date('2024-05-01T12:00:00Z');
const HEAD_UPDATED_AT = new Date('2024-05-01T11:59:58Z');

const INPUT: NewTestInput = {
  repo: 'CCExtractor/ccextractor',
  sha: '0123abc456def7890123abc456def7890123abcd',
  ref: 'refs/heads/feature',
  cloneUrl: 'https://github.com/contributor/ccextractor.git',
  author: 'contributor',
  title: 'Fix the \t subtitle\u0007 timing',
  trigger: 'pull_request',
  pr: 12,
  run: 1,
  platform: 'linux',
  headUpdatedAt: HEAD_UPDATED_AT,
  repoPublic: false,
};

describe('newTestRecord', () => {
  it('builds a waiting test with every field initialised', () => {
    const start: TestStart = { status: 'waiting', waitReason: 'build', message: WAITING_FOR_BUILD };

    const test = newTestRecord(INPUT, start, NOW);

    const expected: TestRecord = {
      id: testId(INPUT),
      ...INPUT,
      title: 'Fix the subtitle timing',
      headUpdatedAt: HEAD_UPDATED_AT,
      repoPublic: false,
      status: 'waiting',
      stage: null,
      waitReason: 'build',
      waitingSince: NOW,
      message: WAITING_FOR_BUILD,
      attempts: 0,
      enqueueGeneration: 0,
      createdAt: NOW,
      updatedAt: NOW,
      queuedAt: null,
      startedAt: null,
      timeToStartMs: null,
      finishedAt: null,
      deadlineAt: null,
      leaseExpiresAt: null,
      instance: null,
      result: null,
      failures: null,
      tokenHash: null,
      deletion: null,
      githubStatus: null,
      statusCheckAt: null,
      timeline: [{ at: NOW, status: 'waiting', message: WAITING_FOR_BUILD }],
    };
    expect(test).toEqual(expected);
    expect(isValidFirestoreId(test.id)).toBe(true);
  });

  it.each([
    {
      start: { status: 'pending', message: 'Tests queued' },
      finishedAt: null,
      statusCheckAt: null,
    },
    {
      start: { status: 'pending', waitReason: null, message: 'Tests queued' },
      finishedAt: null,
      statusCheckAt: null,
    },
    // Refused at creation, so ended: its final status is checked a minute later, like any end's.
    {
      start: { status: 'error', message: 'CI start aborted: user is blocked' },
      finishedAt: NOW,
      statusCheckAt: new Date(NOW.getTime() + 60_000),
    },
  ] satisfies { start: TestStart; finishedAt: Date | null; statusCheckAt: Date | null }[])(
    '$start.status: no wait reason, finishedAt $finishedAt, statusCheckAt $statusCheckAt',
    ({ start, finishedAt, statusCheckAt }) => {
      const test = newTestRecord(INPUT, start, NOW);
      expect(test).toMatchObject({
        status: start.status,
        waitReason: null,
        waitingSince: null,
        message: start.message,
        finishedAt,
        statusCheckAt,
        timeline: [{ at: NOW, status: start.status, message: start.message }],
      });
    },
  );

  it('has a null headUpdatedAt when none is given (a push)', () => {
    const { headUpdatedAt: _absent, ...push } = { ...INPUT, trigger: 'push' as const, pr: null };
    expect(newTestRecord(push, { status: 'pending', message: 'a' }, NOW).headUpdatedAt).toBeNull();
  });

  it('has a null title when none is given, or only blanks and control characters', () => {
    const { title: _absent, ...untitled } = INPUT;
    const start = { status: 'pending', message: 'a' } as const;
    expect(newTestRecord(untitled, start, NOW).title).toBeNull();
    expect(newTestRecord({ ...INPUT, title: ' \n\u0000\t ' }, start, NOW).title).toBeNull();
  });

  it('ignores a wait reason passed with a status that is not waiting', () => {
    // The type forbids it; a caller casting around the type still gets a consistent record.
    const start = { status: 'pending', waitReason: 'approval', message: 'Tests queued' };
    const test = newTestRecord(INPUT, start as unknown as TestStart, NOW);
    expect(test.waitReason).toBeNull();
  });

  it('fits the message on one status line, in the test and its timeline', () => {
    const long = `Waiting\nfor ${'a very long reason '.repeat(20)}`;
    const test = newTestRecord(INPUT, { status: 'pending', message: long }, NOW);
    expect(test.message.length).toBeLessThanOrEqual(STATUS_LINE_MAX);
    expect(test.message).not.toContain('\n');
    expect(test.message.endsWith('…')).toBe(true);
    expect(test.timeline[0]?.message).toBe(test.message);
  });

  it('derives the id from the identifying fields only', () => {
    const pending = newTestRecord(INPUT, { status: 'pending', message: 'a' }, NOW);
    const later = newTestRecord(
      {
        ...INPUT,
        ref: 'refs/heads/other',
        cloneUrl: 'https://example.com/x.git',
        author: null,
        title: 'Another title',
        headUpdatedAt: NOW,
      },
      { status: 'error', message: 'b' },
      new Date(NOW.getTime() + 1000),
    );
    expect(later.id).toBe(pending.id);
    expect(
      newTestRecord({ ...INPUT, platform: 'windows' }, { status: 'pending', message: 'a' }, NOW).id,
    ).not.toBe(pending.id);
    expect(
      newTestRecord({ ...INPUT, run: 2 }, { status: 'pending', message: 'a' }, NOW).id,
    ).not.toBe(pending.id);
  });

  it('shares no mutable state between records', () => {
    const a = newTestRecord(INPUT, { status: 'pending', message: 'a' }, NOW);
    const b = newTestRecord(INPUT, { status: 'pending', message: 'a' }, NOW);
    a.timeline.push({ at: NOW, status: 'queued', message: 'x' });
    expect(b.timeline).toHaveLength(1);
  });
});
