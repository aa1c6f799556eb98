// A private repository's tests through the local cloud: the webhook stores
// what GitHub says of the repository (`repository.private`), and the status
// function shows a stranger no ref, title, author, summary or zone for it; the
// configuration's `public` setting wins over what GitHub said.
import { idOf, pushPayload, send, shaOf, statusPageOf, useWebhookCloud } from './webhook-support';

async function viewOf(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

describe('status of a private repository’s tests, through the webhook', () => {
  const env = useWebhookCloud({ fresh: 'once' });

  it('GitHub says private: a stranger sees the state, not the ref, title or author', async () => {
    const sha = shaOf('private-push');
    const res = await send(env.cloud, 'push', pushPayload(sha, ['repository.private', true]));
    expect(res.status).toBe(202);

    const id = idOf(sha, 'linux');
    expect(await env.store.getTest(id)).toMatchObject({
      repoPublic: false,
      title: 'Initial commit',
    });
    expect(await viewOf(statusPageOf(env.cloud, id))).toMatchObject({
      id,
      sha,
      status: 'queued',
      ref: null,
      title: null,
      author: null,
      detailsHidden: true,
    });
    const page = await fetch(statusPageOf(env.cloud, id), { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).not.toContain('Initial commit');
  });

  it('GitHub says public: shown whole', async () => {
    const sha = shaOf('public-push');
    const payload = pushPayload(sha);
    expect(payload).toMatchObject({ repository: { private: false } });
    expect((await send(env.cloud, 'push', payload)).status).toBe(202);

    expect(await viewOf(statusPageOf(env.cloud, idOf(sha, 'linux')))).toMatchObject({
      ref: 'refs/heads/master',
      title: 'Initial commit',
      author: 'Codertocat',
      detailsHidden: false,
    });
  });
});

describe('the configuration says the repository is private', () => {
  const env = useWebhookCloud({
    fresh: 'once',
    configure: (config) => ({ ...config, public: { 'Codertocat/Hello-World': false } }),
  });

  it('hides the details even though GitHub says public', async () => {
    const sha = shaOf('configured-private');
    expect((await send(env.cloud, 'push', pushPayload(sha))).status).toBe(202);

    const view = await viewOf(statusPageOf(env.cloud, idOf(sha, 'linux')));
    expect(view).toMatchObject({ ref: null, title: null, author: null, detailsHidden: true });
    const list = await viewOf(
      `${env.cloud.url}/status/tests?repo=Codertocat/Hello-World&sha=${sha}`,
    );
    expect(list.tests).toEqual([
      expect.objectContaining({ ref: null, title: null, detailsHidden: true }),
      expect.objectContaining({ ref: null, title: null, detailsHidden: true }),
    ]);
  });
});
