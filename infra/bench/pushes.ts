// Real signed push deliveries (@octokit/webhooks-examples, as send-webhook.ts
// sends them), each with its own `after` sha so that every push makes new tests.
import { createHash, randomBytes } from 'node:crypto';
import { examplePayload, sendWebhook } from '../local/send-webhook';

const { payload: PUSH } = examplePayload('push');
/** The repository of the example push (listed in the bench's configuration). */
export const PUSH_REPO = String((PUSH.repository as { full_name?: unknown }).full_name);

/** A sha no earlier run used: a bench run's pushes must be distinct from every other's. */
export function freshSha(): string {
  return createHash('sha1').update(randomBytes(16)).digest('hex');
}

export interface Delivery {
  sha: string;
  status: number;
  /** performance.now() when the request was sent and when its answer came. */
  sentAt: number;
  answeredAt: number;
  /** Date.now() when the request was sent (to compare with the stand-ins' Dates). */
  sentWallMs: number;
}

/** Sends one push of a new commit to the cloud's webhook; never throws (status 0: no answer). */
export async function sendPush(
  cloud: { url: string; webhookSecret: string },
  sha: string = freshSha(),
): Promise<Delivery> {
  const payload = { ...structuredClone(PUSH), after: sha };
  const sentWallMs = Date.now();
  const sentAt = performance.now();
  let status: number;
  try {
    status = (
      await sendWebhook({
        url: `${cloud.url}/webhook`,
        secret: cloud.webhookSecret,
        event: 'push',
        payload,
      })
    ).status;
  } catch {
    status = 0;
  }
  return { sha, status, sentAt, answeredAt: performance.now(), sentWallMs };
}
