// The webhook function's door (DESIGN §3.6, §5): read the raw bytes (25 MiB
// at most, never inflated), check the signature on them, and only then parse;
// answer what shared/webhook/handle-event.ts decides (dedupe, plan, carry the
// plan out). Nothing is done after the answer.
import { currentConfig } from '../../shared/config/switches';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from '../../shared/http/function-app';
import { parseJsonObject, readRawBody, utf8Text } from '../../shared/http/raw-body';
import { requestHeader } from '../../shared/runtime/request';
import { parseWebhook } from '../../shared/webhook/events';
import {
  handleWebhookEvent,
  type HandleEventDeps,
  type WebhookAnswer,
} from '../../shared/webhook/handle-event';

/** GitHub caps webhook payloads at 25 MiB. */
export const MAX_BODY_BYTES = 25 * 1024 * 1024;

export type WebhookDeps = HandleEventDeps & {
  /** The webhook secret, GITHUB_WEBHOOK_SECRET. */
  secret: string;
};

const NOT_JSON = 'The body is not a JSON webhook payload.';

export function makeWebhookHandler(deps: WebhookDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const delivery = requestHeader(req, 'x-github-delivery');
    const log = deps.log.child(delivery ? { deliveryId: delivery.slice(0, 100) } : {});
    const answer = (a: WebhookAnswer) => {
      res.status(a.status).json(a.body);
    };
    const reject = (a: WebhookAnswer) => {
      log.warn('Webhook rejected', { status: a.status, reason: a.body.error });
      answer(a);
    };
    if (req.method !== 'POST') {
      res.set('Allow', 'POST');
      return reject({ status: 405, body: { error: 'Webhooks are delivered with POST.' } });
    }
    const read = await readRawBody(req, MAX_BODY_BYTES);
    if (!read.ok) return reject({ status: read.status, body: { error: read.error } });
    const refused = checkSignature(req, read.bytes, deps.secret);
    if (refused) return reject(refused);
    try {
      answer(await handleSigned(req, read.bytes, { ...deps, log }));
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

/** X-Hub-Signature-256 over the raw bytes, in constant time, before anything is parsed. */
function checkSignature(req: Request, raw: Buffer, secret: string): WebhookAnswer | undefined {
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
  if (!signatureMatches(secret, raw, signature)) {
    return {
      status: 401,
      body: { error: 'Signature does not match: check that the webhook secret matches vm-ci’s.' },
    };
  }
  return undefined;
}

/**
 * HMAC-SHA256 of the exact bytes received, compared in constant time over the
 * whole of `sha256=<64 hex>`: a prefix or an empty digest never matches. (Not
 * @octokit/webhooks' verify(): it throws on an empty payload, and it hashes the
 * body re-encoded from a string rather than the bytes GitHub signed.)
 */
export function signatureMatches(secret: string, raw: Buffer, signature: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`);
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The signed body, parsed and handled. */
async function handleSigned(req: Request, raw: Buffer, deps: WebhookDeps): Promise<WebhookAnswer> {
  // Maintenance as operators switched it (`vmci maintenance`), read per event
  // (only for signed bodies), while the body is parsed.
  const switched = currentConfig(deps);
  const text = utf8Text(raw);
  const body = text === undefined ? undefined : payloadOf(req, text);
  if (body === undefined) return { status: 400, body: { error: NOT_JSON } };
  const parsed = parseWebhook(req.headers, body);
  if (!parsed.ok) {
    return {
      status: 400,
      body: { error: 'Not a webhook vm-ci can read.', problems: parsed.problems },
    };
  }
  const bodyDigest = createHash('sha256').update(raw).digest('hex');
  const config = await switched;
  return handleWebhookEvent({ ...deps, config }, parsed.event, { bodyDigest });
}

/** The JSON payload, whether sent as application/json or as a form's `payload` field. */
function payloadOf(req: Request, text: string): Record<string, unknown> | undefined {
  const type = requestHeader(req, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') {
    const form = new URLSearchParams(text).get('payload');
    return form === null ? undefined : parseJsonObject(form);
  }
  return parseJsonObject(text);
}
