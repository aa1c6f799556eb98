// `vmci doctor`: is this installation able to run tests? Each check prints
// `✔ what` or `✘ what: problem` with `  fix: …`, progress goes to stderr, and
// one failing check never stops the others. Against the local cloud every
// check runs for real; against Google every read goes through gcloud.
import type { CliContext, Output } from '../context';
import { gcpChecks } from './gcp';
import { localChecks } from './local';
import { fail, messageOf, printResult, summaryLine, type CheckResult } from './report';

export async function runDoctor(ctx: CliContext, out: Output): Promise<{ ok: boolean }> {
  // The global fetch, looked up now: the ping, and the local functions' URLs.
  const fetchFn: typeof fetch = (input, init) => globalThis.fetch(input, init);
  const { checks, close } =
    ctx.mode === 'local' ? localChecks(ctx, fetchFn) : gcpChecks(ctx, fetchFn);
  // All start at once (gcloud reads are shared and run a few at a time, each
  // takes a second or two); results are printed in order as they come.
  const running = checks.map((check) =>
    check
      .run()
      .catch((error: unknown): CheckResult =>
        fail(check.what, `could not check (${messageOf(error)})`, check.fixWhenUnreadable),
      ),
  );
  const results: CheckResult[] = [];
  try {
    for (const [i, check] of checks.entries()) {
      out.err(check.progress);
      const result = await running[i]!;
      printResult(result, out);
      results.push(result);
    }
  } finally {
    await Promise.allSettled(running);
    await close();
  }
  out.out(summaryLine(results));
  return { ok: results.every((r) => r.ok) };
}
