// Check 8: a signed `ping` to the webhook, as GitHub sends one (X-GitHub-Event,
// a fresh X-GitHub-Delivery, X-Hub-Signature-256 over the exact body), and
// whether the webhook function received it: 200 with our delivery id back.
// The secret is used to sign, never printed.
import { createHmac, randomUUID } from 'node:crypto';
import { fail, messageOf, pass, type CheckResult } from './report';

export interface PingTarget {
  url: string;
  /** The webhook secret to sign with; undefined: where it should have come from. */
  secret: string | undefined;
  /** Where the secret came from, as printed ("GITHUB_WEBHOOK_SECRET", "Secret Manager …"). */
  secretSource: string;
  /** The fix when the webhook says the signature does not match. */
  wrongSecretFix: string;
  /** The fix when the webhook cannot be reached or fails. */
  unreachableFix: string;
  /** Where to read why the webhook failed. */
  logsFix: string;
}

/** GitHub waits 10 s for an answer; so does doctor. */
const TIMEOUT_MS = 10_000;

export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function errorOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    return typeof parsed.error === 'string' ? parsed.error : undefined;
  } catch {
    return undefined;
  }
}

export async function pingWebhook(target: PingTarget, fetchFn: typeof fetch): Promise<CheckResult> {
  const what = `webhook ping to ${target.url}`;
  if (target.secret === undefined) {
    return fail(
      what,
      `no webhook secret to sign with (${target.secretSource} is not set)`,
      target.wrongSecretFix,
    );
  }
  const delivery = randomUUID();
  const body = JSON.stringify({ zen: 'Keep it logically awesome. (vmci doctor)', hook_id: 0 });
  let status: number;
  let text: string;
  try {
    const res = await fetchFn(target.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'vmci-doctor',
        'x-github-event': 'ping',
        'x-github-delivery': delivery,
        'x-hub-signature-256': signature(target.secret, body),
      },
      body,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    status = res.status;
    text = await res.text();
  } catch (error) {
    return fail(what, `no answer (${messageOf(error)})`, target.unreachableFix);
  }
  const said = errorOf(text);
  if (status === 401) {
    return fail(
      what,
      `401: the webhook refused the signature made with ${target.secretSource}${said ? ` (${said})` : ''}`,
      target.wrongSecretFix,
    );
  }
  let answered: { delivery?: unknown; ok?: unknown } = {};
  try {
    answered = JSON.parse(text) as typeof answered;
  } catch {
    // Not the webhook's JSON: said below.
  }
  if (status === 200 && answered.delivery === delivery && answered.ok === true) {
    return pass(`webhook received a signed ping (delivery ${delivery}): 200`);
  }
  if (status === 200) {
    return fail(
      what,
      `200, but not the webhook's answer to delivery ${delivery}: ${text.slice(0, 120)}`,
      target.unreachableFix,
    );
  }
  if (status === 404) {
    return fail(what, `404: no webhook function at this URL`, target.unreachableFix);
  }
  return fail(what, `${status}${said ? `: ${said}` : ''} (delivery ${delivery})`, target.logsFix);
}
