// What each test left on the status API once it ended: its log's last lines
// (GET /status/tests/{id}/log?tail=N) and, for a failed run, the failing tests
// its JUnit file named (the test view's `failures`).
import type { FailingTestCase, TestFailures } from '../../../shared/domain/test';

/** The suite's own lines (the greeting, three checks, the counts) and the VM's three after them. */
export const LOG_TAIL_LINES = 8;

export interface TestResults {
  id: string;
  /** The log's last lines; undefined when it could not be read. */
  log?: { lines: string[]; truncated: boolean };
  /** Why the log could not be read ("HTTP 404", a network error). */
  logProblem?: string;
  /** The failing tests as the view names them; null when none (or hidden). */
  failures: TestFailures | null;
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

export async function testResults(url: string, id: string): Promise<TestResults> {
  const base = `${url}/status/tests/${encodeURIComponent(id)}`;
  const results: TestResults = { id, failures: null };
  try {
    const log = await getJson(`${base}/log?tail=${LOG_TAIL_LINES}`);
    const body = log.body as { lines?: unknown; truncated?: unknown } | undefined;
    if (log.status === 200 && Array.isArray(body?.lines)) {
      results.log = { lines: body.lines.map(String), truncated: body.truncated === true };
    } else results.logProblem = `HTTP ${log.status}`;
  } catch (err) {
    results.logProblem = (err as { cause?: { code?: string } }).cause?.code ?? String(err);
  }
  try {
    const view = await getJson(base);
    const failures = (view.body as { failures?: TestFailures | null } | undefined)?.failures;
    if (view.status === 200 && failures) results.failures = failures;
  } catch {
    // no view: no failing tests to name
  }
  return results;
}

/** `classname.name`, as the status line names a failing test. */
export function caseLabel(c: Pick<FailingTestCase, 'classname' | 'name'>): string {
  return c.classname && !c.name.startsWith(c.classname) ? `${c.classname}.${c.name}` : c.name;
}
