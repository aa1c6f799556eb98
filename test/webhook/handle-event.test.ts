// handleWebhookEvent on the in-memory store (DESIGN §5): a handled delivery is
// remembered with its answer, and the same X-GitHub-Delivery answers as the
// first did and changes nothing; events that change nothing are not remembered.
import { createMemoryStatusPort } from '../../shared/github/memory-statuses';
import { createMemoryQueue } from '../../shared/queue/memory';
import { createMemoryStore } from '../../shared/store/memory';
import { handleWebhookEvent, type HandleEventDeps } from '../../shared/webhook/handle-event';
import { captureLog } from '../support/capture-log';
import { configWith, DELIVERY, eventOf, example, NOW, PUSH_SHA, REPO } from './fixtures';

function harness() {
  const store = createMemoryStore();
  const queue = createMemoryQueue();
  const statuses = createMemoryStatusPort();
  const deps: HandleEventDeps = {
    store,
    queue,
    statuses,
    log: captureLog().log,
    now: () => NOW,
    statusContext: 'ci/{platform}',
    publicUrl: 'https://ci.example.com',
    config: configWith(['repositories', [REPO]], ['sweeps.deliveryTtlHours', 5]),
  };
  return { deps, store, queue, statuses };
}

const push = () =>
  eventOf('push', example('push', undefined, ['ref', 'refs/heads/main']), DELIVERY);

describe('handleWebhookEvent', () => {
  it('a handled push is 202 with its tests, remembered for deliveryTtlHours', async () => {
    const h = harness();

    const answer = await handleWebhookEvent(h.deps, push());

    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ delivery: DELIVERY, canceled: [], released: [] });
    const tests = answer.body.tests as string[];
    expect(tests).toHaveLength(2);
    expect((await h.store.listBySha(REPO, PUSH_SHA)).map((t) => t.id).sort()).toEqual(
      [...tests].sort(),
    );
    expect(await h.store.getDelivery(DELIVERY)).toMatchObject({
      id: DELIVERY,
      event: 'push',
      receivedAt: NOW,
      expireAt: new Date(NOW.getTime() + 5 * 3_600_000),
      response: { status: 202, body: answer.body },
    });
  });

  it('the same delivery again answers as the first did and changes nothing', async () => {
    const h = harness();
    const first = await handleWebhookEvent(h.deps, push());
    const before = await h.store.listBySha(REPO, PUSH_SHA);
    const posted = h.statuses.posts().length;

    const again = await handleWebhookEvent(h.deps, push());

    expect(again).toEqual(first);
    expect(await h.store.listBySha(REPO, PUSH_SHA)).toEqual(before);
    expect(h.statuses.posts()).toHaveLength(posted);
  });

  it.each([
    { info: 'a ping', event: () => eventOf('ping', example('ping')), status: 200 },
    {
      info: 'an ignored event',
      event: () => eventOf('issues', {}),
      status: 202,
    },
    {
      info: 'an unconfigured repository',
      event: () =>
        eventOf(
          'push',
          example('push', undefined, ['ref', 'refs/heads/main'], ['repository.full_name', 'a/b']),
        ),
      status: 403,
    },
  ])('$info is answered ($status) and not remembered', async ({ event, status }) => {
    const h = harness();

    const answer = await handleWebhookEvent(h.deps, event());

    expect(answer.status).toBe(status);
    expect(answer.body).toMatchObject({ delivery: DELIVERY });
    expect(await h.store.getDelivery(DELIVERY)).toBeNull();
  });
});
