// The webhook function's door (DESIGN §5): check the signature on the raw
// bytes, parse, then answer what shared/webhook/handle-event.ts decides (dedupe
// by delivery, plan, carry the plan out); nothing is done after the answer.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from '@google-cloud/functions-framework';
import { parseWebhook } from '../../shared/webhook/events';
import {
  handleWebhookEvent,
  type HandleEventDeps,
  type WebhookAnswer,
} from '../../shared/webhook/handle-event';
import { requestHeader } from '../../shared/runtime/request';

/** GitHub caps webhook payloads at 25 MiB. */
export const MAX_BODY_BYTES = 25 * 1024 * 1024;

export type WebhookDeps = HandleEventDeps & {
  /** The webhook secret, GITHUB_WEBHOOK_SECRET. */
  secret: string;
};

export function makeWebhookHandler(deps: WebhookDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const delivery = requestHeader(req, 'x-github-delivery');
    const log = deps.log.child(delivery ? { deliveryId: delivery.slice(0, 100) } : {});
    const answer = (a: WebhookAnswer) => {
      res.status(a.status).set('Cache-Control', 'no-store').json(a.body);
    };
    try {
      const early = checkRequest(req);
      if (early) {
        log.warn('Webhook rejected', { status: early.status, reason: early.body.error });
        return answer(early);
      }
      const checked = checkSignature(req, deps.secret);
      if (checked) {
        log.warn('Webhook rejected', { status: checked.status, reason: checked.body.error });
        return answer(checked);
      }
      answer(await handleVerified(req, { ...deps, log }));
    } catch (error) {
      // Only the store can get here: the tests are not safe, so GitHub should see a failure.
      log.error('Webhook failed', { error });
      answer({
        status: 500,
        body: {
          error: 'vm-ci could not store this event. Redeliver it from the webhook settings.',
        },
      });
    }
  };
}

function rawBodyOf(req: Request): Buffer {
  const raw = (req as Request & { rawBody?: Buffer }).rawBody;
  return Buffer.isBuffer(raw) ? raw : Buffer.alloc(0);
}

/** What can be refused without reading the body's content. */
function checkRequest(req: Request): WebhookAnswer | undefined {
  if (req.method !== 'POST') {
    return { status: 405, body: { error: 'Webhooks are delivered with POST.' } };
  }
  if (rawBodyOf(req).length > MAX_BODY_BYTES) {
    return { status: 413, body: { error: 'Payload over 25 MiB.' } };
  }
  return undefined;
}

/** X-Hub-Signature-256 over the raw bytes, in constant time, before anything is parsed. */
function checkSignature(req: Request, secret: string): WebhookAnswer | undefined {
  const signature = requestHeader(req, 'x-hub-signature-256');
  if (!signature) {
    const sha1Only = requestHeader(req, 'x-hub-signature') !== undefined;
    return {
      status: 401,
      body: {
        error: sha1Only
          ? 'SHA-1 signatures are not accepted: vm-ci checks X-Hub-Signature-256.'
          : 'Missing X-Hub-Signature-256: set a secret in the webhook settings.',
      },
    };
  }
  if (!signatureMatches(secret, rawBodyOf(req), signature)) {
    return {
      status: 401,
      body: { error: 'Signature does not match: check that the webhook secret matches vm-ci’s.' },
    };
  }
  return undefined;
}

/**
 * HMAC-SHA256 of the exact bytes received, compared in constant time. (Not
 * @octokit/webhooks' verify(): it throws on an empty payload, which made a
 * correctly signed empty body a 401, and it hashes the body re-encoded from a
 * string rather than the bytes GitHub signed.)
 */
function signatureMatches(secret: string, raw: Buffer, signature: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`);
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function handleVerified(req: Request, deps: WebhookDeps): Promise<WebhookAnswer> {
  const body = payloadOf(req);
  if (body === undefined) {
    return { status: 400, body: { error: 'The body is not a JSON webhook payload.' } };
  }
  const parsed = parseWebhook(req.headers, body);
  if (!parsed.ok) {
    return {
      status: 400,
      body: { error: 'Not a webhook vm-ci can read.', problems: parsed.problems },
    };
  }
  const bodyDigest = createHash('sha256').update(rawBodyOf(req)).digest('hex');
  return handleWebhookEvent(deps, parsed.event, { bodyDigest });
}

/** The JSON payload, whether sent as application/json or as a form's `payload` field. */
function payloadOf(req: Request): unknown {
  const body: unknown = req.body;
  if (body && typeof body === 'object' && !Buffer.isBuffer(body)) {
    const form = (body as { payload?: unknown }).payload;
    if (typeof form === 'string' && req.is('application/x-www-form-urlencoded'))
      return parseJson(form);
    return body;
  }
  return parseJson(rawBodyOf(req).toString('utf8'));
}

function parseJson(text: string): unknown {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' ? value : undefined;
  } catch {
    return undefined;
  }
}
