// handleWebhookEvent on the in-memory store (DESIGN §5): a handled delivery is
// remembered with its answer, under its X-GitHub-Delivery and under the digest
// of its signed body; the same delivery id, or the same bytes under a new
// delivery id (a replay), answers as the first did and changes nothing; events
// that change nothing are not remembered.
import { createHash } from 'node:crypto';
import { testId } from '../../shared/domain/naming';
import { bodyDeliveryId, handleWebhookEvent } from '../../shared/webhook/handle-event';
import { DELIVERY, eventOf, example, NOW, PUSH_SHA, REPO } from './fixtures';
import { harness, PR, prEvent, taskIds } from './harness';

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

  it('a handled event is remembered under its delivery id and under its body’s digest', async () => {
    const h = harness();
    const bodyDigest = digest('push body');

    const answer = await handleWebhookEvent(h.deps, push(), { bodyDigest });

    const expected = {
      event: 'push',
      receivedAt: NOW,
      response: { status: 202, body: answer.body },
    };
    expect(await h.store.getDelivery(DELIVERY)).toMatchObject({ id: DELIVERY, ...expected });
    expect(await h.store.getDelivery(bodyDeliveryId(bodyDigest))).toMatchObject({
      id: bodyDeliveryId(bodyDigest),
      expireAt: new Date(NOW.getTime() + 5 * 3_600_000),
      ...expected,
    });
  });

  it('the same signed body under a new delivery id (a replay) answers as the first did and changes nothing', async () => {
    const h = harness();
    h.github.setRole(REPO, 'maintainer', 'write');
    const sha = 'a'.repeat(40);
    await handleWebhookEvent(h.deps, prEvent('opened', sha, { delivery: 'd-open' }));
    const labeled = (delivery: string) =>
      prEvent('labeled', sha, { label: 'safe to test', sender: 'maintainer', delivery });
    const bodyDigest = digest('the labeled body');
    const first = await handleWebhookEvent(h.deps, labeled('d-label'), { bodyDigest });
    expect(first.body.released).toHaveLength(2);
    const tests = await h.store.listBySha(REPO, sha);
    const posted = h.statuses.posts().length;
    const tasks = taskIds(h);
    const asked = h.github.calls().length;

    const replay = await handleWebhookEvent(h.deps, labeled('d-replayed'), { bodyDigest });

    expect(replay).toEqual(first);
    expect(replay.body.delivery).toBe('d-label');
    expect(await h.store.listBySha(REPO, sha)).toEqual(tests);
    expect(h.statuses.posts()).toHaveLength(posted);
    expect(taskIds(h)).toEqual(tasks);
    expect(h.github.calls()).toHaveLength(asked);
    expect(await h.store.getDelivery('d-replayed')).toBeNull();
    expect(h.capture.entries).toContainEqual(
      expect.objectContaining({
        message: 'Replayed body answered as before',
        fields: { event: 'pull_request', firstDelivery: 'd-label' },
      }),
    );
  });

  it('a replayed head event whose tests were superseded since changes nothing either', async () => {
    const h = harness();
    const member = { association: 'MEMBER' };
    const a = 'a'.repeat(40);
    const older = (delivery: string) =>
      prEvent('synchronize', a, { ...member, updatedAt: '2026-12-01T10:00:00Z', delivery });
    const bodyDigest = digest('synchronize a');
    const first = await handleWebhookEvent(h.deps, older('d-a'), { bodyDigest });
    await handleWebhookEvent(
      h.deps,
      prEvent('synchronize', 'b'.repeat(40), { ...member, updatedAt: '2026-12-01T10:05:00Z' }),
    );
    const tests = await h.store.listByPr(REPO, PR);

    expect(await handleWebhookEvent(h.deps, older('d-a-again'), { bodyDigest })).toEqual(first);
    expect(await h.store.listByPr(REPO, PR)).toEqual(tests);
    expect(tests.filter((t) => t.sha === a).map((t) => t.status)).toEqual(['canceled', 'canceled']);
  });

  it('another body under a delivery id already handled answers as that delivery did', async () => {
    const h = harness();
    const first = await handleWebhookEvent(h.deps, push(), { bodyDigest: digest('one') });

    const other = eventOf(
      'push',
      example('push', undefined, ['ref', 'refs/heads/main'], ['after', 'c'.repeat(40)]),
      DELIVERY,
    );
    const again = await handleWebhookEvent(h.deps, other, { bodyDigest: digest('two') });

    expect(again).toEqual(first);
    expect(
      await h.store.getTest(
        testId({ repo: REPO, sha: 'c'.repeat(40), platform: 'linux', trigger: 'push', run: 1 }),
      ),
    ).toBeNull();
  });

  it('a body’s record id can never be an X-GitHub-Delivery', () => {
    expect(bodyDeliveryId(digest('x'))).toMatch(/^sha256_[0-9a-f]{64}$/);
    // Delivery ids are letters, digits and '-' (events.ts): no '_'.
    expect(bodyDeliveryId(digest('x'))).not.toMatch(/^[A-Za-z0-9-]{1,100}$/);
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

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
