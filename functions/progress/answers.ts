// What the progress door tells a VM it refuses, the same for reports and uploads.

/** The same answer for a missing or wrong token and an unknown test. */
export const UNAUTHORIZED = 'Unknown test or wrong token.';

export const CONFLICTS = {
  canceled: 'The test was canceled: stop the tests and power off.',
  ended: 'The test has already ended: stop and power off.',
  stage_regression: 'A stage cannot go back: this report is out of order.',
  not_running: 'This VM no longer runs the test: stop and power off.',
} as const;
