// Turns zod issues into problems people can act on: one line each, "path: message".
// Messages name types and limits, never the value found, so secrets cannot leak.
import type { z } from 'zod';

type RawIssue = z.core.$ZodRawIssue;

const NOUNS: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
};

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return NOUNS[typeof value] ?? typeof value;
}

const plural = (n: number | bigint, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function describeSize(issue: RawIssue & { code: 'too_small' | 'too_big' }): string {
  const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
  const limit = issue.code === 'too_small' ? 'at least' : 'at most';
  if (issue.origin === 'string' && issue.code === 'too_small' && bound === 1) {
    return 'must not be empty';
  }
  if (issue.origin === 'array') return `expected ${limit} ${plural(Number(bound), 'item')}`;
  if (issue.origin === 'string') return `expected ${limit} ${plural(Number(bound), 'character')}`;
  if (issue.inclusive === false) {
    return `expected ${issue.code === 'too_small' ? 'more' : 'less'} than ${bound}`;
  }
  return `expected ${limit} ${bound}`;
}

/** A zod error map: our wording for the built-in checks; custom messages pass through. */
export function describeIssue(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'required';
      if (issue.expected === 'int' && typeof issue.input === 'number') return 'expected an integer';
      return `expected ${NOUNS[issue.expected] ?? issue.expected}, got ${kindOf(issue.input)}`;
    case 'too_small':
    case 'too_big':
      return describeSize(issue);
    case 'invalid_value':
      return issue.values.length === 1
        ? `expected ${JSON.stringify(issue.values[0])}`
        : `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_key': // a record key: the key schema's own message says what is wrong
      return issue.issues[0]?.message;
    case 'invalid_format':
      return issue.format === 'email' ? 'expected an email address' : `expected ${issue.format}`;
    default:
      return undefined;
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(root)' : path.map(String).join('.');
}

/** One line per problem; an unknown key is reported at its own path so the typo is named. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const lines = issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => `${formatPath([...issue.path, key])}: unknown key`)
      : [`${formatPath(issue.path)}: ${issue.message}`],
  );
  return [...new Set(lines)];
}
