// The jobs and their timers. Every timer is unref'd and cleared by close(),
// so the scheduler never keeps a process alive.
import { HttpError } from '../http';
import type { SchedulerClock } from './clock';
import { nextAfter, parseCron, type CronSchedule } from './cron';
import { dispatch, grpcCodeOf, type HistoryEntry } from './dispatch';
import type { JobJson } from './job';

const MAX_TIMER_MS = 2 ** 31 - 1;

interface Entry {
  job: JobJson;
  cron: CronSchedule;
  timer?: NodeJS.Timeout;
  /** the scheduler time of the last scheduled execution */
  last?: number;
}

export interface CoreDeps {
  clock: SchedulerClock;
  fetch: typeof fetch;
  localToken: string;
  log: (line: string) => void;
}

export function createCore(deps: CoreDeps) {
  const entries = new Map<string, Entry>();
  const history: HistoryEntry[] = [];
  const inflight = new Set<Promise<HistoryEntry>>();
  const closing = new AbortController();

  const notFound = (name: string): HttpError =>
    new HttpError(404, 'NOT_FOUND', `Job not found: ${name}`);
  const entryOf = (name: string): Entry => {
    const entry = entries.get(name);
    if (!entry) throw notFound(name);
    return entry;
  };

  function onAttempt(e: HistoryEntry): void {
    history.push(e);
    deps.log(`scheduler ${e.job} attempt ${e.attempt} -> ${e.httpStatus ?? e.error ?? ''}`);
    const job = entries.get(e.job)?.job;
    if (!job) return;
    job.lastAttemptTime = deps.clock.now().toISOString();
    job.status = e.ok
      ? {}
      : { code: grpcCodeOf(e.httpStatus), message: e.error ?? `HTTP ${e.httpStatus}` };
  }

  function fire(entry: Entry, at: Date, trigger: HistoryEntry['trigger']): Promise<HistoryEntry> {
    const run = dispatch(structuredClone(entry.job), at, trigger, {
      fetch: deps.fetch,
      localToken: deps.localToken,
      clock: deps.clock,
      signal: closing.signal,
      onAttempt,
    });
    inflight.add(run);
    void run.finally(() => inflight.delete(run));
    return run;
  }

  function disarm(entry: Entry): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = undefined;
  }

  function arm(entry: Entry): void {
    disarm(entry);
    if (closing.signal.aborted || entry.job.state !== 'ENABLED') {
      delete entry.job.scheduleTime;
      return;
    }
    // never before the last execution, even if a timer fired a little early
    const from = new Date(Math.max(deps.clock.now().getTime(), entry.last ?? 0));
    const next = nextAfter(entry.cron, from);
    entry.job.scheduleTime = next.toISOString();
    const delay = deps.clock.realDelay(next);
    // setTimeout fires at once for delays past 2^31-1 ms: wait in steps instead
    entry.timer =
      delay > MAX_TIMER_MS
        ? setTimeout(() => arm(entry), MAX_TIMER_MS)
        : setTimeout(() => {
            entry.timer = undefined;
            entry.last = next.getTime();
            void fire(entry, next, 'schedule');
            arm(entry);
          }, delay);
    entry.timer.unref();
  }

  return {
    get: (name: string): JobJson => structuredClone(entryOf(name).job),
    has: (name: string): boolean => entries.has(name),
    list: (prefix = ''): JobJson[] =>
      [...entries.values()]
        .filter((e) => e.job.name.startsWith(prefix))
        .map((e) => structuredClone(e.job))
        .sort((a, b) => a.name.localeCompare(b.name)),
    /** adds or replaces a job (already normalized) and schedules it */
    put(job: JobJson): JobJson {
      if (!['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT'].includes(job.timeZone)) {
        deps.log(`scheduler ${job.name}: time zone ${job.timeZone} is treated as UTC locally`);
      }
      const previous = entries.get(job.name);
      if (previous) disarm(previous);
      const entry: Entry = {
        job: structuredClone(job),
        cron: parseCron(job.schedule),
        last: previous?.last,
      };
      entries.set(job.name, entry);
      arm(entry);
      return structuredClone(entry.job);
    },
    delete(name: string): void {
      disarm(entryOf(name));
      entries.delete(name);
    },
    setState(name: string, state: JobJson['state']): JobJson {
      const entry = entryOf(name);
      entry.job.state = state;
      arm(entry);
      return structuredClone(entry.job);
    },
    /** runs the job now, whatever its schedule; resolves with its last attempt */
    run: (name: string): Promise<HistoryEntry> => fire(entryOf(name), deps.clock.now(), 'run'),
    history: (): HistoryEntry[] => structuredClone(history),
    async close(): Promise<void> {
      closing.abort();
      for (const entry of entries.values()) disarm(entry);
      await Promise.allSettled([...inflight]);
    },
  };
}

export type SchedulerCore = ReturnType<typeof createCore>;
