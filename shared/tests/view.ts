// What people see of a test (the status function, DESIGN §2, §8): the fields of
// §2 as plain JSON, dates as ISO strings. Built field by field from an allow
// list, nested objects too, so whatever else a stored record holds (the token
// hash, the clone URL, lease and deletion bookkeeping, fields added later)
// never reaches a public page. A private repository's test shows no ref,
// title, author, result summary, VM zone, failing tests or files unless the
// viewer may see them.
import { resultMessage } from '../domain/messages';
import type {
  ProvisioningModel,
  Stage,
  TestFailures,
  TestRecord,
  TestStatus,
  TimelineEntry,
  Trigger,
  WaitReason,
} from '../domain/test';
import { LOG_FILE, type StoredFile } from '../files/port';

/** A test's uploaded files, in short: the full list is at `list`. */
export interface TestFilesView {
  count: number;
  /** The log's download URL, null when there is none. */
  log: string | null;
  /** The listing's URL. */
  list: string;
}

export interface TestView {
  id: string;
  repo: string;
  sha: string;
  /** null when hidden (a private repository's test). */
  ref: string | null;
  trigger: Trigger;
  pr: number | null;
  /** The PR's title or the pushed commit's first line; null when unknown or hidden. */
  title: string | null;
  run: number;
  author: string | null;
  platform: string;
  /** true: the ref, title, author, result summary, VM zone, failures and files are hidden (null). */
  detailsHidden: boolean;
  status: TestStatus;
  stage: Stage | null;
  waitReason: WaitReason | null;
  message: string;
  attempts: number;
  createdAt: string | null;
  updatedAt: string | null;
  queuedAt: string | null;
  startedAt: string | null;
  timeToStartMs: number | null;
  finishedAt: string | null;
  deadlineAt: string | null;
  instance: { name: string; zone: string | null; provisioning: ProvisioningModel } | null;
  result: {
    exitCode: number;
    passed: number | null;
    failed: number | null;
    /** Written by the test command; null when hidden. */
    summary: string | null;
  } | null;
  /** A failed run's failing tests, as its JUnit files named them; null when hidden. */
  failures: TestFailures | null;
  /** Only in the one-test view; null in lists, when hidden, or when they could not be read. */
  files: TestFilesView | null;
  timeline: { at: string | null; status: TestStatus; stage?: Stage; message: string }[];
}

export interface ViewOptions {
  showDetails: boolean;
  /** The test's files, when they were looked up (the one-test view). */
  files?: TestFilesView | null;
}

/**
 * The test as a viewer sees it. `showDetails` false (a private repository and
 * a viewer without a status viewer's credential) hides what could tell of the
 * code: the ref (a branch name), the title, the author, the summary the test command
 * wrote, the VM's zone, the failing tests and the files. The final line, where
 * it names failing tests, shows the counts only.
 */
export function testView(test: TestRecord, { showDetails, files }: ViewOptions): TestView {
  const { instance, result } = test;
  const shown = <T>(value: T): T | null => (showDetails ? value : null);
  const namesTests = !showDetails && test.failures !== null && result !== null;
  const line = (message: string) =>
    namesTests && message === test.message && result ? resultMessage(result) : message;
  return {
    id: test.id,
    repo: test.repo,
    sha: test.sha,
    ref: shown(test.ref),
    trigger: test.trigger,
    pr: test.pr ?? null,
    title: shown(test.title ?? null),
    run: test.run,
    author: shown(test.author ?? null),
    platform: test.platform,
    detailsHidden: !showDetails,
    status: test.status,
    stage: test.stage ?? null,
    waitReason: test.waitReason ?? null,
    message: line(test.message),
    attempts: test.attempts,
    createdAt: iso(test.createdAt),
    updatedAt: iso(test.updatedAt),
    queuedAt: iso(test.queuedAt),
    startedAt: iso(test.startedAt),
    timeToStartMs: test.timeToStartMs,
    finishedAt: iso(test.finishedAt),
    deadlineAt: iso(test.deadlineAt),
    instance: instance
      ? { name: instance.name, zone: shown(instance.zone), provisioning: instance.provisioning }
      : null,
    result: result
      ? {
          exitCode: result.exitCode,
          passed: result.passed ?? null,
          failed: result.failed ?? null,
          summary: shown(result.summary),
        }
      : null,
    failures: shown(failuresView(test.failures)),
    files: shown(files ?? null),
    timeline: changesOnly(test.timeline ?? []).map((entry) => ({
      at: iso(entry.at),
      status: entry.status,
      ...(entry.stage ? { stage: entry.stage } : {}),
      message: line(entry.message),
    })),
  };
}

/**
 * The timeline as people read it: an entry that repeats the one before it
 * (same status, stage and message: bookkeeping such as a recorded VM or a
 * re-created task) is left out; the earlier one keeps its time.
 */
function changesOnly(timeline: readonly TimelineEntry[]): TimelineEntry[] {
  return timeline.filter((entry, i) => {
    const before = timeline[i - 1];
    return (
      before === undefined ||
      before.status !== entry.status ||
      (before.stage ?? null) !== (entry.stage ?? null) ||
      before.message !== entry.message
    );
  });
}

/** Field by field, like the rest of the view. */
function failuresView(failures: TestFailures | null): TestFailures | null {
  if (!failures) return null;
  const { tests, failures: failed, errors, skipped } = failures.counts;
  return {
    counts: { tests, failures: failed, errors, skipped },
    cases: failures.cases.map((c) => ({
      name: c.name,
      classname: c.classname,
      suite: c.suite,
      file: c.file,
      kind: c.kind,
      message: c.message,
    })),
  };
}

/** URL of file `name` of test `testId`, under the status function's URL. */
export function fileUrl(statusUrl: string, testId: string, name: string): string {
  const path = name.split('/').map(encodeURIComponent).join('/');
  return `${statusUrl}/tests/${encodeURIComponent(testId)}/files/${path}`;
}

/** The short view of a test's files, from their listing. */
export function testFilesView(
  statusUrl: string,
  testId: string,
  files: readonly StoredFile[],
): TestFilesView {
  const hasLog = files.some((file) => file.name === LOG_FILE);
  return {
    count: files.length,
    log: hasLog ? fileUrl(statusUrl, testId, LOG_FILE) : null,
    list: `${statusUrl}/tests/${encodeURIComponent(testId)}/files`,
  };
}

/** A date as ISO text; null for a missing or invalid one (toISOString would throw). */
function iso(date: Date | null | undefined): string | null {
  return date instanceof Date && !Number.isNaN(date.getTime()) ? date.toISOString() : null;
}
