// Standard 5-field unix cron (minute hour day-of-month month day-of-week), in
// UTC: `*`, `*/N`, `a-b`, `a-b/N`, `a/N`, lists, and month/day names.
// As in Vixie cron, when both day fields are restricted a day matches either.

export class CronError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CronError';
  }
}

export interface CronSchedule {
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  /** the day fields do not start with `*` */
  dayRestricted: boolean;
  weekdayRestricted: boolean;
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const FIELDS: FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day of week', min: 0, max: 7, names: WEEKDAYS },
];

function value(token: string, spec: FieldSpec): number {
  const named = spec.names?.indexOf(token.toLowerCase()) ?? -1;
  const n =
    named >= 0
      ? named + (spec.name === 'month' ? 1 : 0)
      : /^\d+$/.test(token)
        ? Number(token)
        : NaN;
  if (!Number.isInteger(n) || n < spec.min || n > spec.max) {
    throw new CronError(`bad ${spec.name} "${token}" (${spec.min}-${spec.max})`);
  }
  return n;
}

function parseField(text: string, spec: FieldSpec): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [range = '', stepText, extra] = part.split('/');
    if (extra !== undefined || range === '') throw new CronError(`bad ${spec.name} "${part}"`);
    const step = stepText === undefined ? 1 : /^\d+$/.test(stepText) ? Number(stepText) : 0;
    if (step < 1) throw new CronError(`bad step in ${spec.name} "${part}"`);
    let lo = spec.min;
    let hi = spec.max;
    if (range !== '*') {
      const [from = '', to, more] = range.split('-');
      if (more !== undefined) throw new CronError(`bad range in ${spec.name} "${part}"`);
      lo = value(from, spec);
      hi = to !== undefined ? value(to, spec) : stepText !== undefined ? spec.max : lo;
      if (lo > hi) throw new CronError(`bad range in ${spec.name} "${part}"`);
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

export function parseCron(expression: string): CronSchedule {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== FIELDS.length || fields[0] === '') {
    throw new CronError(`a schedule has 5 fields, got "${expression}"`);
  }
  const [minutes, hours, days, months, weekdays] = FIELDS.map((spec, i) =>
    parseField(fields[i] ?? '', spec),
  ) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  if (weekdays.delete(7)) weekdays.add(0);
  const schedule: CronSchedule = {
    minutes,
    hours,
    days,
    months,
    weekdays,
    dayRestricted: !fields[2]?.startsWith('*'),
    weekdayRestricted: !fields[4]?.startsWith('*'),
  };
  nextAfter(schedule, new Date()); // rejects schedules that never fire, like "0 0 30 2 *"
  return schedule;
}

function dayMatches(s: CronSchedule, t: Date): boolean {
  const day = s.days.has(t.getUTCDate());
  const weekday = s.weekdays.has(t.getUTCDay());
  if (s.dayRestricted && s.weekdayRestricted) return day || weekday;
  return day && weekday;
}

const SEARCH_YEARS = 9; // a 29 February can be 8 years away

/** The first whole minute strictly after `after` (UTC) that the schedule matches. */
export function nextAfter(s: CronSchedule, after: Date): Date {
  const t = new Date(after.getTime());
  t.setUTCSeconds(0, 0);
  t.setUTCMinutes(t.getUTCMinutes() + 1);
  const limit = after.getTime() + SEARCH_YEARS * 366 * 86_400_000;
  while (t.getTime() < limit) {
    if (!s.months.has(t.getUTCMonth() + 1)) {
      t.setUTCMonth(t.getUTCMonth() + 1, 1);
      t.setUTCHours(0, 0, 0, 0);
    } else if (!dayMatches(s, t)) {
      t.setUTCDate(t.getUTCDate() + 1);
      t.setUTCHours(0, 0, 0, 0);
    } else if (!s.hours.has(t.getUTCHours())) {
      t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
    } else if (!s.minutes.has(t.getUTCMinutes())) {
      t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
    } else {
      return t;
    }
  }
  throw new CronError('the schedule never fires');
}
