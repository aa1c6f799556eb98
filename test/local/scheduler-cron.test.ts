// The local scheduler's cron parser: unix cron, 5 fields, UTC.
import { CronError, nextAfter, parseCron } from '../../infra/local/scheduler';

const next = (expression: string, from: string): string =>
  nextAfter(parseCron(expression), new Date(from)).toISOString();

describe('parseCron + nextAfter', () => {
  it.each([
    { expression: '* * * * *', from: '2026-11-27T10:02:30Z', expected: '2026-11-27T10:03:00.000Z' },
    {
      expression: '*/5 * * * *',
      from: '2026-11-27T10:02:30Z',
      expected: '2026-11-27T10:05:00.000Z',
    },
    {
      expression: '*/5 * * * *',
      from: '2026-11-27T10:05:00Z',
      expected: '2026-11-27T10:10:00.000Z',
    },
    {
      expression: '*/5 * * * *',
      from: '2026-11-27T23:58:00Z',
      expected: '2026-11-28T00:00:00.000Z',
    },
    // Friday 27 Nov 2026 after nine: the next weekday is Monday 30 Nov
    {
      expression: '0 9 * * 1-5',
      from: '2026-11-27T10:00:00Z',
      expected: '2026-11-30T09:00:00.000Z',
    },
    {
      expression: '0 9 * * 1-5',
      from: '2026-11-27T08:59:59Z',
      expected: '2026-11-27T09:00:00.000Z',
    },
    {
      expression: '30 2 1,15 * *',
      from: '2026-11-02T00:00:00Z',
      expected: '2026-11-15T02:30:00.000Z',
    },
    {
      expression: '0 8-18/4 * * *',
      from: '2026-11-27T12:00:00Z',
      expected: '2026-11-27T16:00:00.000Z',
    },
    {
      expression: '10/20 * * * *',
      from: '2026-11-27T12:31:00Z',
      expected: '2026-11-27T12:50:00.000Z',
    },
    { expression: '0 0 * * 7', from: '2026-11-27T00:00:00Z', expected: '2026-11-29T00:00:00.000Z' },
    { expression: '0 0 * * 0', from: '2026-11-27T00:00:00Z', expected: '2026-11-29T00:00:00.000Z' },
    {
      expression: '15 10 * jan-mar MON',
      from: '2026-11-27T00:00:00Z',
      expected: '2027-01-04T10:15:00.000Z',
    },
    {
      expression: '0 0 31 12 *',
      from: '2026-12-31T00:00:00Z',
      expected: '2027-12-31T00:00:00.000Z',
    },
    {
      expression: '0 0 29 2 *',
      from: '2027-01-01T00:00:00Z',
      expected: '2028-02-29T00:00:00.000Z',
    },
    // both day fields restricted: the 13th OR a Friday (13 Mar 2026 is a Friday; 6 Feb is the first Friday after 1 Feb)
    {
      expression: '0 12 13 * 5',
      from: '2026-02-01T00:00:00Z',
      expected: '2026-02-06T12:00:00.000Z',
    },
    {
      expression: '0 12 13 * 5',
      from: '2026-02-06T13:00:00Z',
      expected: '2026-02-13T12:00:00.000Z',
    },
    // a day field starting with * does not count as restricted: odd days of the month AND Mondays
    {
      expression: '0 0 */2 * 1',
      from: '2026-11-27T00:00:00Z',
      expected: '2026-12-07T00:00:00.000Z',
    },
  ])('$expression after $from is $expected', ({ expression, from, expected }) => {
    expect(next(expression, from)).toBe(expected);
  });

  it.each([
    '',
    '* * * *',
    '* * * * * *',
    '60 * * * *',
    '* 24 * * *',
    '* * 0 * *',
    '* * 32 * *',
    '* * * 13 *',
    '* * * * 8',
    '*/0 * * * *',
    '5-1 * * * *',
    '1-2-3 * * * *',
    '1/2/3 * * * *',
    ',5 * * * *',
    'a * * * *',
    '* * * foo *',
    '0 0 30 2 *',
    'every 5 minutes',
  ])('rejects %j', (expression) => {
    expect(() => parseCron(expression)).toThrow(CronError);
  });
});
