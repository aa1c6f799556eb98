// Shared pieces of the TestStore contract suite.
import type { TestRecord } from '../../../shared/domain/test';
import type { TestStore, TransitionRequest } from '../../../shared/store/port';

export interface StoreUnderTest {
  store: TestStore;
  /**
   * Another handle on the same data that shares no in-process state with
   * `store` (for Firestore, a second adapter on the same database), so races
   * between handles exercise the database's transactions alone.
   */
  peer(): TestStore;
  cleanup(): Promise<void>;
}

export type MakeStore = () => Promise<StoreUnderTest>;

/** Registers beforeEach/afterEach and returns a getter for the current test's store. */
export function useStore(makeStore: MakeStore): () => StoreUnderTest {
  let current: StoreUnderTest | undefined;
  beforeEach(async () => {
    current = await makeStore();
  });
  afterEach(async () => {
    await current?.cleanup();
    current = undefined;
  });
  return () => {
    if (!current) throw new Error('no store: useStore() must be called inside a describe block');
    return current;
  };
}

export const T0 = new Date('2026-11-02T10:00:00.000Z');

/** T0 plus `minutes`. */
export function at(minutes: number): Date {
  return new Date(T0.getTime() + minutes * 60_000);
}

export function testRecord(overrides: Partial<TestRecord> & { id: string }): TestRecord {
  return {
    repo: 'ccextractor/ccextractor',
    sha: 'a'.repeat(40),
    ref: 'refs/heads/master',
    cloneUrl: 'https://github.com/ccextractor/ccextractor.git',
    author: 'cfsmp3',
    title: null,
    trigger: 'push',
    pr: null,
    run: 1,
    headUpdatedAt: null,
    repoPublic: null,
    platform: 'linux',
    status: 'queued',
    stage: null,
    waitReason: null,
    waitingSince: null,
    message: 'Queued',
    attempts: 0,
    enqueueGeneration: 1,
    createdAt: T0,
    updatedAt: T0,
    queuedAt: T0,
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
    timeline: [{ at: T0, status: 'queued', message: 'Queued' }],
    ...overrides,
  };
}

/** queued → starting, the move runTest makes when it claims a test. */
export function claimMove(extra: Partial<TransitionRequest> = {}): TransitionRequest {
  return {
    from: ['queued'],
    to: 'starting',
    at: at(1),
    message: 'Starting a VM',
    patch: { startedAt: at(1), attempts: 1 },
    ...extra,
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function randomBetween(min: number, max: number): number {
  return min + Math.random() * (max - min);
}

export function ids(tests: readonly { id: string }[]): string[] {
  return tests.map((t) => t.id);
}
