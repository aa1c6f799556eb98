// A new test document (DESIGN §2) in its starting state, before any task, VM or
// GitHub status exists for it.
import { firstStatusCheck } from './github';
import { fitStatusLine } from './messages';
import { testId } from './naming';
import type { TestRecord, WaitReason } from './test';
import { fitTitle } from './title';

/** The fields that identify a test and say where its code comes from. */
export type NewTestInput = Pick<
  TestRecord,
  'repo' | 'sha' | 'ref' | 'cloneUrl' | 'author' | 'trigger' | 'pr' | 'run' | 'platform'
> &
  /** Absent: null (headUpdatedAt: a push, a manual run; title: GitHub did not say). */
  Partial<Pick<TestRecord, 'headUpdatedAt' | 'repoPublic' | 'title'>>;

/** How a test starts: waiting (always with a reason), ready to run, or refused. */
export type TestStart =
  | { status: 'waiting'; waitReason: WaitReason; message: string }
  | { status: 'pending' | 'error'; waitReason?: null; message: string };

export function newTestRecord(input: NewTestInput, start: TestStart, now: Date): TestRecord {
  // Every line shown to people fits a commit status (DESIGN §3.6), whatever the caller passed.
  const message = fitStatusLine(start.message);
  return {
    id: testId(input),
    repo: input.repo,
    sha: input.sha,
    ref: input.ref,
    cloneUrl: input.cloneUrl,
    author: input.author,
    trigger: input.trigger,
    pr: input.pr,
    // Whatever the caller passed: one clean line of bounded length.
    title: fitTitle(input.title),
    run: input.run,
    headUpdatedAt: input.headUpdatedAt ?? null,
    repoPublic: input.repoPublic ?? null,
    platform: input.platform,
    status: start.status,
    stage: null,
    waitReason: start.status === 'waiting' ? start.waitReason : null,
    waitingSince: start.status === 'waiting' ? now : null,
    message,
    attempts: 0,
    enqueueGeneration: 0, // no Cloud Task yet
    createdAt: now,
    updatedAt: now,
    queuedAt: null,
    startedAt: null,
    timeToStartMs: null,
    // A test refused at creation is already terminal.
    finishedAt: start.status === 'error' ? now : null,
    deadlineAt: null,
    leaseExpiresAt: null,
    instance: null,
    result: null,
    failures: null,
    tokenHash: null,
    deletion: null,
    githubStatus: null,
    // A test refused at creation is ended: its final status is checked like any other.
    statusCheckAt: start.status === 'error' ? firstStatusCheck(now) : null,
    timeline: [{ at: now, status: start.status, message }],
  };
}
