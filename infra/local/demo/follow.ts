// Follows tests on the status API (GET /status/tests?repo=&sha=), one line each
// time a test's status or stage changes, until every test is terminal.
import {
  PREPARING_VM,
  RUNNING_TESTS,
  STARTING_VM,
  TESTS_QUEUED,
  VM_STARTED,
} from '../../../shared/domain/messages';
import { isTerminal } from '../../../shared/domain/test';
import type { TestView } from '../../../shared/tests/view';

export interface Followed {
  sha: string;
  /** The test ids the webhook answered with. */
  testIds: string[];
  /** When its webhook was sent (ms), for the elapsed times. */
  sentAt: number;
}

export interface FollowOptions {
  url: string;
  repo: string;
  /** The commits to follow; the demo adds each one as its webhook is answered. */
  commits: Followed[];
  /** True while more commits may be added. */
  adding?: () => boolean;
  pollMs: number;
  timeoutMs: number;
  out: (line: string) => void;
  signal?: AbortSignal;
}

export type FollowEnd = 'done' | 'timeout' | 'unreachable' | 'aborted';

export interface FollowResult {
  end: FollowEnd;
  /** The last view of each test, by id. */
  tests: Map<string, TestView>;
}

// The messages every test shows on its way; lines show any other (reasons, results).
const ROUTINE = new Set([TESTS_QUEUED, STARTING_VM, VM_STARTED, PREPARING_VM, RUNNING_TESTS]);
/** Polls in a row that may fail before the cloud counts as gone. */
const UNREACHABLE_POLLS = 25;

export function short(sha: string): string {
  return sha.slice(0, 7);
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export function testLine(test: TestView, elapsedMs: number): string {
  // An ended test keeps the stage it ended in; only a running one is in a stage.
  const state =
    test.stage && !isTerminal(test.status) ? `${test.status}: ${test.stage}` : test.status;
  const text = ROUTINE.has(test.message) ? state : `${state}  ${test.message}`;
  return `${short(test.sha)} ${test.platform.padEnd(7)} ${text.padEnd(36)} ${seconds(elapsedMs).padStart(7)}`;
}

async function listTests(url: string, repo: string, sha: string): Promise<TestView[]> {
  const res = await fetch(`${url}/status/tests?repo=${encodeURIComponent(repo)}&sha=${sha}`, {
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return ((await res.json()) as { tests: TestView[] }).tests;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export async function followTests(options: FollowOptions): Promise<FollowResult> {
  const { url, repo, commits, out, signal } = options;
  const tests = new Map<string, TestView>();
  const shown = new Map<string, string>();
  const deadline = Date.now() + options.timeoutMs;
  let failedPolls = 0;
  for (;;) {
    if (signal?.aborted) return { end: 'aborted', tests };
    try {
      for (const commit of commits) {
        for (const test of await listTests(url, repo, commit.sha)) {
          if (!commit.testIds.includes(test.id)) continue; // another trigger's test of this commit
          tests.set(test.id, test);
          const seen = `${test.status}/${test.stage ?? ''}`;
          if (shown.get(test.id) === seen) continue;
          shown.set(test.id, seen);
          out(testLine(test, Date.now() - commit.sentAt));
        }
      }
      failedPolls = 0;
    } catch {
      if (++failedPolls >= UNREACHABLE_POLLS) return { end: 'unreachable', tests };
    }
    const ids = commits.flatMap((c) => c.testIds);
    if (
      !options.adding?.() &&
      ids.every((id) => tests.has(id) && isTerminal(tests.get(id)!.status))
    ) {
      return { end: 'done', tests };
    }
    if (Date.now() >= deadline) return { end: 'timeout', tests };
    await sleep(options.pollMs, signal);
  }
}
