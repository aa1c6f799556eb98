// What a new test waits for before it may run, and where it goes once a wait ends.
//
// The gates, in this order:
//   1. approval     an untrusted PR author's new head commit waits for a
//                   maintainer's approval of that commit, before anything else,
//                   so nothing about it moves unapproved;
//   2. build        a platform with a buildWorkflow waits for that workflow;
//   3. maintenance  a platform in maintenance waits until it is back.
// Approval and build are events that arrive once: a test must already be
// waiting for them when they arrive. Maintenance is configuration, which can be
// read again at any time, so it comes last: a test waiting for maintenance has
// passed every other gate, and whatever ends the maintenance moves it straight
// to `pending`.
import type { PlatformConfig } from '../config/schema';
import { TESTS_QUEUED, USER_BLOCKED, waitMessage } from '../domain/messages';
import type { TestStart } from '../domain/new-test';
import type { WaitReason } from '../domain/test';

/** Where a test goes when it starts or leaves a wait: waiting again, or ready to run. */
export type GateTarget =
  { to: 'waiting'; waitReason: WaitReason; message: string } | { to: 'pending'; message: string };

type Platform = Pick<PlatformConfig, 'buildWorkflow' | 'maintenance'>;

const ORDER: readonly WaitReason[] = ['approval', 'build', 'maintenance'];

function applies(reason: WaitReason, platform: Platform, approved: boolean): boolean {
  switch (reason) {
    case 'approval':
      return !approved;
    case 'build':
      return platform.buildWorkflow !== undefined;
    case 'maintenance':
      return platform.maintenance;
  }
}

/** The first gate after `passed` (or the first of all) that still holds the test. */
function nextGate(
  name: string,
  platform: Platform,
  approved: boolean,
  passed: WaitReason | null,
): GateTarget {
  const from = passed === null ? 0 : ORDER.indexOf(passed) + 1;
  const reason = ORDER.slice(from).find((r) => applies(r, platform, approved));
  return reason === undefined
    ? { to: 'pending', message: TESTS_QUEUED }
    : { to: 'waiting', waitReason: reason, message: waitMessage(reason, name) };
}

/** Where a test goes once `passed` is over, by its platform's configuration now. */
export function afterWait(name: string, platform: Platform, passed: WaitReason): GateTarget {
  return nextGate(name, platform, true, passed);
}

export interface StartContext {
  /** The author may run code: a push, a trusted PR author, or an approved head commit. */
  approved: boolean;
  /** The PR's author is in blockedUsers. */
  blocked: boolean;
  /** The line of a test that waits for approval, instead of the usual one. */
  approvalMessage?: string;
}

/** The starting state of a new test of platform `name`. */
export function startState(name: string, platform: Platform, context: StartContext): TestStart {
  if (context.blocked) return { status: 'error', message: USER_BLOCKED };
  const gate = nextGate(name, platform, context.approved, null);
  if (gate.to === 'pending') return { status: 'pending', message: gate.message };
  const message =
    gate.waitReason === 'approval' && context.approvalMessage !== undefined
      ? context.approvalMessage
      : gate.message;
  return { status: 'waiting', waitReason: gate.waitReason, message };
}
