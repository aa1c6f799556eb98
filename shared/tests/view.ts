// What people see of a test (the status function, DESIGN §2, §8): the fields of
// §2 as plain JSON, dates as ISO strings. Built field by field from an allow
// list, nested objects too, so whatever else a stored record holds (the token
// hash, the clone URL, lease and deletion bookkeeping, fields added later)
// never reaches a public page. A private repository's test shows no ref,
// author, result summary or VM zone unless the viewer may see them.
import type {
  ProvisioningModel,
  Stage,
  TestRecord,
  TestStatus,
  Trigger,
  WaitReason,
} from '../domain/test';

export interface TestView {
  id: string;
  repo: string;
  sha: string;
  /** null when hidden (a private repository's test). */
  ref: string | null;
  trigger: Trigger;
  pr: number | null;
  run: number;
  author: string | null;
  platform: string;
  /** true: the ref, author, result summary and VM zone are hidden (null). */
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
  timeline: { at: string | null; status: TestStatus; stage?: Stage; message: string }[];
}

/**
 * The test as a viewer sees it. `showDetails` false (a private repository and
 * a viewer without a status viewer's credential) hides what could tell of the
 * code: the ref (a branch name), the author, the summary the test command
 * wrote and the VM's zone.
 */
export function testView(test: TestRecord, { showDetails }: { showDetails: boolean }): TestView {
  const { instance, result } = test;
  const shown = <T>(value: T): T | null => (showDetails ? value : null);
  return {
    id: test.id,
    repo: test.repo,
    sha: test.sha,
    ref: shown(test.ref),
    trigger: test.trigger,
    pr: test.pr ?? null,
    run: test.run,
    author: shown(test.author ?? null),
    platform: test.platform,
    detailsHidden: !showDetails,
    status: test.status,
    stage: test.stage ?? null,
    waitReason: test.waitReason ?? null,
    message: test.message,
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
    timeline: (test.timeline ?? []).map((entry) => ({
      at: iso(entry.at),
      status: entry.status,
      ...(entry.stage ? { stage: entry.stage } : {}),
      message: entry.message,
    })),
  };
}

/** A date as ISO text; null for a missing or invalid one (toISOString would throw). */
function iso(date: Date | null | undefined): string | null {
  return date instanceof Date && !Number.isNaN(date.getTime()) ? date.toISOString() : null;
}
