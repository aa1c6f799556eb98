// The scheduler's clock. With timeScale s, one real millisecond is 1/s
// scheduler milliseconds: at 0.001 a cron minute passes every 60 real ms.
export interface SchedulerClock {
  readonly timeScale: number;
  /** scheduler time: what the cron schedule and X-CloudScheduler-ScheduleTime use */
  now(): Date;
  /** real milliseconds until scheduler time `at` */
  realDelay(at: Date): number;
  /** real milliseconds for a scheduler duration */
  scaled(ms: number): number;
}

export function createClock(timeScale = 1, realNow: () => number = Date.now): SchedulerClock {
  if (!(timeScale > 0) || !Number.isFinite(timeScale)) {
    throw new Error(`timeScale must be a positive number, got ${timeScale}`);
  }
  const start = realNow();
  const now = (): Date => new Date(start + (realNow() - start) / timeScale);
  return {
    timeScale,
    now,
    realDelay: (at) => Math.max(0, (at.getTime() - now().getTime()) * timeScale),
    scaled: (ms) => ms * timeScale,
  };
}

/** RFC 3339 in UTC, as Google APIs write timestamps. */
export const rfc3339 = (date: Date): string => date.toISOString();
