// What people see of a test (the status function, DESIGN §2, §8): the fields of
// §2 as plain JSON, dates as ISO strings. Built field by field from an allow
// list, nested objects too, so whatever else a stored record holds (the token
// hash, the clone URL, lease and deletion bookkeeping, fields added later)
// never reaches a public page.
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
  ref: string;
  trigger: Trigger;
  pr: number | null;
  run: number;
  author: string | null;
  platform: string;
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
  instance: { name: string; zone: string; provisioning: ProvisioningModel } | null;
  result: {
    exitCode: number;
    passed: number | null;
    failed: number | null;
    summary: string;
  } | null;
  timeline: { at: string | null; status: TestStatus; stage?: Stage; message: string }[];
}

export function testView(test: TestRecord): TestView {
  const { instance, result } = test;
  return {
    id: test.id,
    repo: test.repo,
    sha: test.sha,
    ref: test.ref,
    trigger: test.trigger,
    pr: test.pr ?? null,
    run: test.run,
    author: test.author ?? null,
    platform: test.platform,
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
      ? { name: instance.name, zone: instance.zone, provisioning: instance.provisioning }
      : null,
    result: result
      ? {
          exitCode: result.exitCode,
          passed: result.passed ?? null,
          failed: result.failed ?? null,
          summary: result.summary,
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
