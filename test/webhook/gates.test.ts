import {
  TESTS_QUEUED,
  USER_BLOCKED,
  WAITING_FOR_APPROVAL,
  WAITING_FOR_BUILD,
  platformInMaintenance,
} from '../../shared/domain/messages';
import { afterWait, startState } from '../../shared/webhook/gates';

const BUILD = { buildWorkflow: 'build.yml', maintenance: false };
const MAINTENANCE = { buildWorkflow: undefined, maintenance: true };
const BOTH = { buildWorkflow: 'build.yml', maintenance: true };
const PLAIN = { buildWorkflow: undefined, maintenance: false };

const pending = { status: 'pending', message: TESTS_QUEUED };
const waiting = (waitReason: string, message: string) => ({
  status: 'waiting',
  waitReason,
  message,
});

describe('startState: approval, then build, then maintenance', () => {
  it.each([
    { info: 'plain, approved', platform: PLAIN, approved: true, start: pending },
    {
      info: 'built, approved',
      platform: BUILD,
      approved: true,
      start: waiting('build', WAITING_FOR_BUILD),
    },
    {
      info: 'in maintenance, approved',
      platform: MAINTENANCE,
      approved: true,
      start: waiting('maintenance', platformInMaintenance('linux')),
    },
    {
      info: 'built and in maintenance',
      platform: BOTH,
      approved: true,
      start: waiting('build', WAITING_FOR_BUILD),
    },
    {
      info: 'plain, unapproved',
      platform: PLAIN,
      approved: false,
      start: waiting('approval', WAITING_FOR_APPROVAL),
    },
    {
      info: 'built and in maintenance, unapproved',
      platform: BOTH,
      approved: false,
      start: waiting('approval', WAITING_FOR_APPROVAL),
    },
  ])('$info', ({ platform, approved, start }) => {
    expect(startState('linux', platform, { approved, blocked: false })).toEqual(start);
  });

  it('an unapproved test waits with the approval line it is given; an approved one ignores it', () => {
    const context = { blocked: false, approvalMessage: 'Re-approve, please' };
    for (const platform of [PLAIN, BUILD, MAINTENANCE, BOTH]) {
      expect(startState('linux', platform, { ...context, approved: false })).toEqual(
        waiting('approval', 'Re-approve, please'),
      );
    }
    expect(startState('linux', BUILD, { ...context, approved: true })).toEqual(
      waiting('build', WAITING_FOR_BUILD),
    );
    expect(startState('linux', PLAIN, { ...context, approved: true })).toEqual(pending);
  });

  it.each([PLAIN, BUILD, MAINTENANCE, BOTH])(
    'a blocked author is refused whatever the platform',
    (platform) => {
      for (const approved of [true, false]) {
        expect(startState('linux', platform, { approved, blocked: true })).toEqual({
          status: 'error',
          message: USER_BLOCKED,
        });
      }
    },
  );
});

describe('afterWait: the next gate that still holds the test', () => {
  it.each([
    { passed: 'approval', platform: PLAIN, next: { to: 'pending', message: TESTS_QUEUED } },
    {
      passed: 'approval',
      platform: BUILD,
      next: { to: 'waiting', waitReason: 'build', message: WAITING_FOR_BUILD },
    },
    {
      passed: 'approval',
      platform: BOTH,
      next: { to: 'waiting', waitReason: 'build', message: WAITING_FOR_BUILD },
    },
    {
      passed: 'approval',
      platform: MAINTENANCE,
      next: { to: 'waiting', waitReason: 'maintenance', message: platformInMaintenance('win') },
    },
    { passed: 'build', platform: BUILD, next: { to: 'pending', message: TESTS_QUEUED } },
    {
      passed: 'build',
      platform: BOTH,
      next: { to: 'waiting', waitReason: 'maintenance', message: platformInMaintenance('win') },
    },
    // Maintenance is the last gate: whatever ends it sends the test on to run.
    { passed: 'maintenance', platform: BOTH, next: { to: 'pending', message: TESTS_QUEUED } },
    {
      passed: 'maintenance',
      platform: MAINTENANCE,
      next: { to: 'pending', message: TESTS_QUEUED },
    },
  ] as const)('after $passed on $platform', ({ passed, platform, next }) => {
    expect(afterWait('win', platform, passed)).toEqual(next);
  });
});
