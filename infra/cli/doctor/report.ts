// What one check found, and how doctor prints it: `✔ what` or `✘ what: problem`,
// then indented detail lines and `  fix: one line of what to do`.
import type { Output } from '../context';

export interface CheckResult {
  ok: boolean;
  /** What was checked, as printed after ✔ or ✘. */
  what: string;
  /** Why it failed (✘ only). */
  problem?: string;
  /** Lines printed under the result, indented (problems path by path, notes). */
  details?: string[];
  /** One line of what to do (✘ only). */
  fix?: string;
}

export interface Check {
  /** Printed on stderr before the check runs ("checking the queue…"). */
  progress: string;
  /** What is checked, for the line of a check that could not run. */
  what: string;
  run(): Promise<CheckResult>;
  /** The fix when the check itself throws (it could not read what it checks). */
  fixWhenUnreadable: string;
}

export const pass = (what: string, details?: string[]): CheckResult =>
  details && details.length > 0 ? { ok: true, what, details } : { ok: true, what };

export const fail = (
  what: string,
  problem: string,
  fix: string,
  details?: string[],
): CheckResult =>
  details && details.length > 0
    ? { ok: false, what, problem, fix, details }
    : { ok: false, what, problem, fix };

/** At most `max` items, then "… and N more". */
export function firstOf(items: readonly string[], max: number): string[] {
  if (items.length <= max) return [...items];
  return [...items.slice(0, max), `… and ${items.length - max} more`];
}

export function printResult(result: CheckResult, out: Output): void {
  out.out(result.ok ? `✔ ${result.what}` : `✘ ${result.what}: ${result.problem ?? 'failed'}`);
  for (const line of result.details ?? []) out.out(`    ${line}`);
  if (!result.ok && result.fix) out.out(`  fix: ${result.fix}`);
}

export function summaryLine(results: readonly CheckResult[]): string {
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  return `${passed} ${passed === 1 ? 'check' : 'checks'} passed, ${failed} failed`;
}

/** An error's message, one line. */
export function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}
