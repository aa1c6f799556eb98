// When Cloud Scheduler calls each sweep (cron, Etc/UTC): the one place both the
// local cloud's scheduler and `npm run deploy`'s jobs take them from.
export const SWEEP_SCHEDULES = {
  sweepPending: '* * * * *',
  sweepExpired: '*/5 * * * *',
} as const;

export type SweepName = keyof typeof SWEEP_SCHEDULES;
export const SWEEP_NAMES = Object.keys(SWEEP_SCHEDULES) as SweepName[];
export const SWEEP_TIME_ZONE = 'Etc/UTC';
