// The recent page's filters (`GET /?repo=&sha=&pr=&platform=&status=&before=`),
// as a plain GET form sends them: an empty field is no filter. Checked with
// zod; a bad one comes back as one friendly line, never echoing the value.
import { z } from 'zod';
import { PLATFORM_NAME, REPOSITORY } from '../config/schema';
import { TEST_STATUSES, type TestStatus } from '../domain/test';

export interface RecentQuery {
  repo?: string;
  /** Full commit sha, lower case. */
  sha?: string;
  pr?: number;
  platform?: string;
  status?: TestStatus;
  /** Only tests created strictly before this (the next page). */
  before?: Date;
}

export type RecentQueryResult = { ok: true; query: RecentQuery } | { ok: false; reason: string };

// A form sends every field, empty ones as ''; Express gives a repeated one as a list.
const field = <T extends z.ZodType>(inner: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), inner.optional());
const text = (message: string, regex: RegExp) =>
  z.string({ error: message }).trim().regex(regex, { error: message });

const schema = z.object({
  repo: field(text('expected owner/name', REPOSITORY)),
  sha: field(
    text('expected a 40-character hex commit sha', /^[0-9a-fA-F]{40}$/).transform((s) =>
      s.toLowerCase(),
    ),
  ),
  pr: field(text('expected a pull request number', /^[1-9][0-9]{0,9}$/).transform(Number)),
  platform: field(text('expected a platform name', PLATFORM_NAME)),
  status: field(z.enum(TEST_STATUSES, { error: 'expected a test state' })),
  before: field(
    z
      .string({ error: 'expected a time' })
      .refine((s) => s.length <= 40 && !Number.isNaN(Date.parse(s)), { error: 'expected a time' })
      .transform((s) => new Date(s)),
  ),
});

export function parseRecentQuery(query: unknown): RecentQueryResult {
  const parsed = schema.safeParse(query ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.map(String).join('.') ?? '';
    return { ok: false, reason: path ? `${path}: ${issue!.message}` : 'invalid query' };
  }
  const query2: RecentQuery = {};
  for (const [key, value] of Object.entries(parsed.data)) {
    if (value !== undefined) (query2 as Record<string, unknown>)[key] = value;
  }
  if (query2.sha !== undefined && query2.pr !== undefined) {
    return { ok: false, reason: 'expected sha or pr, not both' };
  }
  return { ok: true, query: query2 };
}

/** The query as the form's fields (text), for links and for filling the form in again. */
export function queryFields(query: RecentQuery): Record<string, string | undefined> {
  return {
    repo: query.repo,
    sha: query.sha,
    pr: query.pr === undefined ? undefined : String(query.pr),
    platform: query.platform,
    status: query.status,
    before: query.before?.toISOString(),
  };
}
