// Sends a signed GitHub webhook, built from a real example payload in
// @octokit/webhooks-examples, to the local (or any) webhook URL.
//
//   GITHUB_WEBHOOK_SECRET=... npm run send-webhook -- push [url]
//   GITHUB_WEBHOOK_SECRET=... npm run send-webhook -- pull_request.opened
import { randomUUID } from 'node:crypto';
import examples from '@octokit/webhooks-examples';
import { Webhooks } from '@octokit/webhooks';

export interface ExamplePayload {
  event: string;
  payload: Record<string, unknown>;
}

/** An example of `event` ("push") or `event.action` ("pull_request.opened"). */
export function examplePayload(spec: string): ExamplePayload {
  const [event = '', action] = spec.split('.');
  const entry = (
    examples as unknown as { name: string; examples: Record<string, unknown>[] }[]
  ).find((e) => e.name === event);
  const matching = entry?.examples.filter((p) => action === undefined || p.action === action) ?? [];
  // For a push, the first example that pushes a branch (others push or delete a tag).
  const payload =
    matching.find((p) => String(p.ref ?? '').startsWith('refs/heads/') && p.deleted !== true) ??
    matching[0];
  if (!payload) throw new Error(`no example payload for ${spec}`);
  return { event, payload: structuredClone(payload) };
}

export async function sendWebhook(options: {
  url: string;
  secret: string;
  event: string;
  payload: unknown;
  delivery?: string;
}): Promise<{ status: number; body: string; delivery: string }> {
  const body = JSON.stringify(options.payload);
  const delivery = options.delivery ?? randomUUID();
  const res = await fetch(options.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/local',
      'x-github-event': options.event,
      'x-github-delivery': delivery,
      'x-hub-signature-256': await new Webhooks({ secret: options.secret }).sign(body),
    },
    body,
  });
  return { status: res.status, body: await res.text(), delivery };
}

async function main(): Promise<void> {
  const [spec = 'ping', url = 'http://localhost:8080/webhook'] = process.argv.slice(2);
  const secret = process.env.GITHUB_WEBHOOK_SECRET;
  if (!secret) {
    console.error('Set GITHUB_WEBHOOK_SECRET to the secret `npm start` printed.');
    process.exit(2);
  }
  const { event, payload } = examplePayload(spec);
  const result = await sendWebhook({ url, secret, event, payload });
  console.log(`${event} (delivery ${result.delivery}) → HTTP ${result.status}`);
  if (result.body) console.log(result.body);
  process.exit(result.status < 300 ? 0 : 1);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
