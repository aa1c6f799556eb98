// `vmci doctor`: is this installation able to run tests? Each check prints
// `✔ what` or `✘ what: problem` with `  fix: …`, progress goes to stderr, and
// one failing check never stops the others. Against the local cloud every
// check runs for real; against Google every read goes through gcloud.
import type { CliContext, Output } from '../context';
import { gcpChecks } from './gcp';
import { localChecks } from './local';
import { fail, messageOf, printResult, summaryLine, type CheckResult } from './report';

export interface DoctorDeps {
  /** How doctor makes HTTP requests (the ping, the local functions); default the global fetch. */
  fetch: typeof fetch;
}

export async function runDoctor(ctx: CliContext, out: Output): Promise<{ ok: boolean }> {
  return diagnose(ctx, out, { fetch: globalThis.fetch });
}

export async function diagnose(
  ctx: CliContext,
  out: Output,
  deps: DoctorDeps,
): Promise<{ ok: boolean }> {
  const { checks, close } =
    ctx.mode === 'local' ? localChecks(ctx, deps.fetch) : gcpChecks(ctx, deps.fetch);
  const results: CheckResult[] = [];
  try {
    for (const check of checks) {
      out.err(check.progress);
      let result: CheckResult;
      try {
        result = await check.run();
      } catch (error) {
        result = fail(check.what, `could not check (${messageOf(error)})`, check.fixWhenUnreadable);
      }
      printResult(result, out);
      results.push(result);
    }
  } finally {
    await close();
  }
  out.out(summaryLine(results));
  return { ok: results.every((r) => r.ok) };
}
