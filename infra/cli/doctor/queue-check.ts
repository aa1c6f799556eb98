// Check 3, judged the same way in both modes: the queue exists, runs, and has
// the settings deploy gives it (the plan's changes name what differs).
import { planSteps } from '../../gcp/deploy/plan';
import type { Observed, Resource } from '../../gcp/deploy/resources';
import { fail, pass, type CheckResult } from './report';

export interface QueueSeen {
  /** The deploy's flat view of the queue's settings; undefined: no such queue. */
  settings: Observed;
  /** RUNNING, PAUSED or DISABLED. */
  state: string;
}

export interface QueueFixes {
  missing: string;
  settings: string;
  paused: string;
}

export function judgeQueue(
  resource: Resource,
  keys: readonly string[],
  seen: QueueSeen,
  where: string,
  fixes: QueueFixes,
): CheckResult {
  const what = `queue ${resource.name}`;
  if (seen.settings === undefined) return fail(what, `not found in ${where}`, fixes.missing);
  const want = Object.fromEntries(keys.map((key) => [key, resource.want[key] ?? '']));
  const [step] = planSteps([{ ...resource, want }], [seen.settings]);
  const changes = step?.changes ?? [];
  if (changes.length > 0) {
    const text = changes.map((c) => `${c.what} is ${c.old || '(unset)'}, not ${c.new}`);
    return fail(what, text.join('; '), fixes.settings);
  }
  if (seen.state !== 'RUNNING') {
    return fail(what, `${seen.state.toLowerCase()}: no test is dispatched`, fixes.paused);
  }
  const r = resource.want;
  return pass(
    `${what}: running, maxAttempts ${r.maxAttempts}, backoff ${r.minBackoff}–${r.maxBackoff}, ${r.maxDoublings} doublings${keys.includes('maxDispatchesPerSecond') ? `, ${r.maxDispatchesPerSecond}/s, ${r.maxConcurrentDispatches} at once` : ''}`,
  );
}
