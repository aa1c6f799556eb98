// A local "VM" that runs no script (boot: 'timer'): once RUNNING it reports to
// its `vmci-callback-url` with its `vmci-token`, as infra/vm/linux/startup.sh
// would (DESIGN §6): `preparation`, `testing`, then `completed` with a result,
// each after `reportDelayMs`, each retried with back-off on a network error,
// 408, 429 or 5xx. Then it powers off. A 409 or another refusal powers it off
// at once, as the script does; a deletion stops it between reports.
// No process is spawned: the benchmark measures vm-ci, not hundreds of bash VMs.
import type { Instance } from './instance';
import { sleepUnref } from './timers';

export interface TimerVmOptions {
  /** Before each report (and after RUNNING). Default 50 ms × timeScale. */
  reportDelayMs?: number;
  /** The first retry's pause; it doubles each time. Default 100 ms × timeScale. */
  retryDelayMs?: number;
  /** Tries per report, the first included. Default 5. */
  attempts?: number;
  /** The `completed` report's result. Default exit code 0, 1 passed, 0 failed. */
  result?: { exitCode: number; passed: number | null; failed: number | null; summary: string };
  /** A request's own time limit. Default 30 s (the script's). */
  requestTimeoutMs?: number;
}

export type ResolvedTimerVmOptions = Required<TimerVmOptions>;

export function resolveTimerVmOptions(
  options: TimerVmOptions,
  timeScale: number,
): ResolvedTimerVmOptions {
  return {
    reportDelayMs: options.reportDelayMs ?? 50 * timeScale,
    retryDelayMs: options.retryDelayMs ?? 100 * timeScale,
    attempts: Math.max(1, options.attempts ?? 5),
    result: options.result ?? { exitCode: 0, passed: 1, failed: 0, summary: '1 passed, 0 failed' },
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
  };
}

export interface TimerVmContext {
  options: ResolvedTimerVmOptions;
  /** The stand-in is closing: stop. */
  closed(): boolean;
  /** Aborted when the stand-in closes. */
  signal: AbortSignal;
  log(line: string): void;
  /** The guest powers itself off (exit code 0), unless it is already stopped or deleted. */
  powerOff(inst: Instance): void;
}

type Sent = 'accepted' | 'given_up' | 'stop';

const RETRIABLE = (status: number) => status === 408 || status === 429 || status >= 500;

/** Runs the VM's reports; never throws (what goes wrong is on its console). */
export async function runTimerVm(inst: Instance, ctx: TimerVmContext): Promise<void> {
  const say = (line: string) => inst.console.append(`vmci-timer-vm: ${line}\n`);
  const gone = () => ctx.closed() || inst.removal !== undefined || inst.status !== 'RUNNING';
  const attrs = inst.attributes;
  const testId = attrs['vmci-test-id'];
  const url = attrs['vmci-callback-url'];
  const token = attrs['vmci-token'];
  try {
    if (!testId || !url || !token) {
      say('the metadata lacks vmci-test-id, vmci-callback-url or vmci-token: nothing to report');
      return;
    }
    const { options } = ctx;
    const reports: [string, Record<string, unknown>, boolean][] = [
      ['preparation', {}, false],
      ['testing', {}, false],
      ['completed', { result: options.result }, true],
    ];
    for (const [stage, extra, final] of reports) {
      await sleepUnref(options.reportDelayMs);
      if (gone()) return;
      say(`report ${stage}`);
      const sent = await send(url, token, { testId, stage, ...extra }, stage, ctx, say, gone);
      if (sent === 'stop' || (sent === 'given_up' && final)) return;
    }
  } catch (err) {
    say(`failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    if (!gone()) {
      say('done: powering off');
      ctx.log(`compute: ${inst.name} (timer VM) powers off`);
      ctx.powerOff(inst);
    }
  }
}

async function send(
  url: string,
  token: string,
  body: Record<string, unknown>,
  stage: string,
  ctx: TimerVmContext,
  say: (line: string) => void,
  gone: () => boolean,
): Promise<Sent> {
  const { options } = ctx;
  let delay = options.retryDelayMs;
  for (let attempt = 1; ; attempt++) {
    let problem: string;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
        signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(options.requestTimeoutMs)]),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return 'accepted';
      if (res.status === 409) {
        say(`report ${stage}: HTTP 409: the test was canceled or has ended`);
        return 'stop';
      }
      if (!RETRIABLE(res.status)) {
        say(`report ${stage}: HTTP ${res.status}, giving up`);
        return 'stop';
      }
      problem = `HTTP ${res.status}`;
    } catch (err) {
      if (ctx.signal.aborted) return 'stop';
      problem = `no answer (${err instanceof Error ? err.message : String(err)})`;
    }
    if (attempt >= options.attempts) {
      say(`report ${stage}: ${problem}, giving up after ${attempt} tries`);
      return 'given_up';
    }
    say(
      `report ${stage}: ${problem}, retrying in ${delay} ms (try ${attempt} of ${options.attempts})`,
    );
    await sleepUnref(delay);
    if (gone()) return 'stop';
    delay = Math.min(delay * 2, 60_000);
  }
}
