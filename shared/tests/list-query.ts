// The query of a test listing (`GET /tests?repo=&sha=` or `?repo=&pr=`), checked
// with zod. A bad query comes back as one friendly line ("repo: expected
// owner/name"); the value found is never echoed.
import { z } from 'zod';
import { REPOSITORY } from '../config';
const SHA = /^[0-9a-fA-F]{40}$/;
const PR_NUMBER = /^[1-9][0-9]{0,9}$/;

// Express hands a repeated parameter over as a list: only one plain value passes.
const text = (message: string, regex: RegExp) =>
  z.string({ error: message }).regex(regex, { error: message });

const schema = z
  .object({
    repo: text('expected owner/name', REPOSITORY),
    sha: text('expected a 40-character hex commit sha', SHA)
      .transform((sha) => sha.toLowerCase())
      .optional(),
    pr: text('expected a pull request number', PR_NUMBER).transform(Number).optional(),
  })
  .refine((q) => q.sha === undefined || q.pr === undefined, {
    error: 'expected sha or pr, not both',
  });

export type ListQuery = { repo: string; sha: string } | { repo: string; pr: number };

export type ListQueryResult = { ok: true; query: ListQuery } | { ok: false; reason: string };

export function parseListQuery(query: unknown): ListQueryResult {
  const parsed = schema.safeParse(query ?? {});
  if (!parsed.success) return { ok: false, reason: reasonOf(parsed.error) };
  const { repo, sha, pr } = parsed.data;
  if (sha !== undefined) return { ok: true, query: { repo, sha } };
  if (pr !== undefined) return { ok: true, query: { repo, pr } };
  return { ok: false, reason: 'expected sha=<commit sha> or pr=<number>' };
}

function reasonOf(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid query';
  const path = issue.path.map(String).join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}
