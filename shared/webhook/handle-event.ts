// A verified, parsed delivery (DESIGN §5): answered as before when its
// X-GitHub-Delivery was handled already, else planned, carried out and
// remembered with its answer, so a repeated delivery changes nothing. The
// webhook function's door checks the signature and parses; this decides.
import type { VmciConfig } from '../config/schema';
import { applyWebhookPlan, type ApplyDeps } from './apply';
import type { WebhookEvent } from './events';
import { planWebhook } from './plan';

export type HandleEventDeps = ApplyDeps & { config: VmciConfig };

/** The HTTP answer, as the door sends it and as a repeated delivery gets it again. */
export interface WebhookAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** What the door knows of the request beyond the parsed event. */
export interface ReceivedBody {
  /** SHA-256 of the signed raw body, hex: the same bytes under another delivery id are a replay. */
  bodyDigest: string;
}

/** Throws only when the store fails: the event's tests are then not safe. */
export async function handleWebhookEvent(
  deps: HandleEventDeps,
  event: WebhookEvent,
  _received?: ReceivedBody,
): Promise<WebhookAnswer> {
  const delivery = event.delivery;
  const seen = await deps.store.getDelivery(delivery);
  if (seen) {
    deps.log.info('Repeated delivery answered as before', { event: seen.event });
    return { status: seen.response.status, body: seen.response.body as Record<string, unknown> };
  }

  const now = deps.now();
  const plan = planWebhook(event, deps.config, now);
  switch (plan.kind) {
    case 'ping':
      return { status: 200, body: { delivery, ok: true } };
    case 'forbidden':
      return { status: 403, body: { delivery, error: plan.reason } };
    case 'ignored':
      deps.log.info('Event ignored', { event: event.name, reason: plan.reason });
      return { status: 202, body: { delivery, tests: [], ignored: plan.reason } };
    case 'handled': {
      const outcome = await applyWebhookPlan(deps, plan);
      const answer: WebhookAnswer = { status: 202, body: { delivery, ...outcome } };
      const ttlMs = deps.config.sweeps.deliveryTtlHours * 3_600_000;
      await deps.store.recordDelivery({
        id: delivery,
        event: event.name,
        receivedAt: now,
        expireAt: new Date(now.getTime() + ttlMs),
        response: { status: answer.status, body: answer.body },
      });
      deps.log.info('Event handled', { event: event.name, ...outcome });
      return answer;
    }
  }
}
