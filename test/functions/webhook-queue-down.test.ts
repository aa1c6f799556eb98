// DESIGN §3.3 at the webhook's door: when Cloud Tasks cannot be reached, the
// event's tests are safe in the store as `pending`, the webhook still answers
// 202 (naming them in `notQueued`), and nothing about them is lost: once the
// queue answers again, the pending sweep enqueues them. The same signed body
// sent again, under any delivery id, is a replay: answered as before, it
// changes nothing (DESIGN §5).
import { createHmac, randomUUID } from 'node:crypto';
import request from 'supertest';
import { examplePayload } from '../../infra/local/send-webhook';
import { configSchema } from '../../shared/config';
import { createMemoryCommentPort } from '../../shared/github/memory-comments';
import { createMemoryLookupPort } from '../../shared/github/memory-lookups';
import { createMemoryStatusPort } from '../../shared/github/memory-statuses';
import { functionApp } from '../../shared/http/function-app';
import { silentLogger } from '../../shared/log';
import { createMemoryQueue } from '../../shared/queue/memory';
import { createMemoryStore } from '../../shared/store/memory';
import { PENDING_GRACE_MS, sweepPending } from '../../shared/sweeps/sweep-pending';
import { makeWebhookHandler } from '../../functions/webhook/handler';
import { changed, validConfig } from '../config/fixtures';

const SECRET = 'queue-down-webhook-secret';
const REPO = 'Codertocat/Hello-World';

function signedPush() {
  const { payload } = examplePayload('push');
  const body = JSON.stringify({ ...payload, after: 'c'.repeat(40) });
  return {
    body,
    signature: `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
  };
}

describe('the webhook while Cloud Tasks is down', () => {
  const config = configSchema.parse(changed(validConfig(), ['repositories', [REPO]]));
  const store = createMemoryStore();
  const queue = createMemoryQueue();
  const statuses = createMemoryStatusPort();
  const services = {
    config,
    store,
    queue,
    statuses,
    github: createMemoryLookupPort(),
    comments: createMemoryCommentPort(),
    log: silentLogger,
    now: () => new Date(),
    statusContext: config.statusContext,
    publicUrl: config.publicUrl,
  };
  const server = functionApp(makeWebhookHandler({ secret: SECRET, ...services }), {
    log: silentLogger,
  });
  const send = () => {
    const { body, signature } = signedPush();
    return request(server)
      .post('/')
      .set('content-type', 'application/json')
      .set('x-github-event', 'push')
      .set('x-github-delivery', randomUUID())
      .set('x-hub-signature-256', signature)
      .send(body);
  };

  it('answers 202, keeps the tests pending with pending statuses; a replay changes nothing; the pending sweep enqueues them', async () => {
    queue.failWith({ retriable: true, code: 'UNAVAILABLE', detail: 'connection refused' });

    const first = await send();

    expect(first.status).toBe(202);
    const ids = first.body.tests as string[];
    expect(ids).toHaveLength(2);
    expect(first.body.notQueued).toEqual(ids);
    for (const id of ids) expect((await store.getTest(id))?.status).toBe('pending');
    expect(queue.tasks()).toEqual([]);
    expect(statuses.posts().map((p) => p.state)).toEqual(['pending', 'pending']);

    // The queue is back. The same body again (a new delivery id) is a replay: the first answer.
    queue.failWith(null);
    const again = await send();

    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    for (const id of ids) expect((await store.getTest(id))?.status).toBe('pending');
    expect(queue.tasks()).toEqual([]);

    // The pending sweep finishes the job.
    const later = new Date(Date.now() + PENDING_GRACE_MS + 1000);
    await sweepPending({ ...services, now: () => later });
    for (const id of ids) expect((await store.getTest(id))?.status).toBe('queued');
    expect(
      queue
        .tasks()
        .map((t) => t.testId)
        .sort(),
    ).toEqual([...ids].sort());
  });
});
