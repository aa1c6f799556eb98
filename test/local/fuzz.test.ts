// The fuzz suite's short, seeded run in CI (`npm run fuzz` runs 10,000): the
// local cloud as its own process gets generated requests at every door, and
// not one answer may be a 5xx, HTML or missing, nor one invalid request change
// anything. First, the snapshot is shown to see a change when there is one.
import { createHmac, randomUUID } from 'node:crypto';
import { fuzzPassed, fuzzTable } from '../../infra/local/fuzz/cli';
import { runFuzz } from '../../infra/local/fuzz/run';
import { snapshotChanges, startFuzzTarget, type FuzzTarget } from '../../infra/local/fuzz/target';
import { examplePayload } from '../../infra/local/send-webhook';

jest.setTimeout(300_000);

const REQUESTS = 1500;
const SEED = 20261202;

describe('fuzz (seeded, short)', () => {
  let target: FuzzTarget | undefined;
  beforeAll(async () => {
    target = await startFuzzTarget();
  });
  afterAll(async () => {
    await target?.close();
  });

  it('sees the change a signed push makes, and none from its unsigned copy', async () => {
    const cloud = target!;
    const { payload } = examplePayload('push');
    const body = JSON.stringify({ ...payload, after: 'f'.repeat(40) });
    const post = (event: string, text: string, signature?: string) =>
      fetch(`${cloud.url}/webhook`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': event,
          'x-github-delivery': randomUUID(),
          ...(signature ? { 'x-hub-signature-256': signature } : {}),
        },
        body: text,
      });
    const sign = (text: string) =>
      `sha256=${createHmac('sha256', cloud.secret).update(text).digest('hex')}`;

    const before = await cloud.snapshot();
    expect((await post('push', body)).status).toBe(401);
    expect(snapshotChanges(before, await cloud.snapshot())).toEqual([]);
    expect((await post('push', body, sign(body))).status).toBe(202);
    const changes = snapshotChanges(before, await cloud.snapshot());
    // Its tests and delivery in Firestore, its tasks (its statuses come from runTest's claim).
    expect(changes.filter((c) => c.startsWith('document '))).not.toHaveLength(0);
    expect(changes.filter((c) => c.startsWith('task '))).not.toHaveLength(0);

    // A stranger's PR waits for approval, and that status is posted by the webhook.
    const { payload: opened } = examplePayload('pull_request.opened');
    const pr = opened as { pull_request: { author_association: string; head: { sha: string } } };
    pr.pull_request.author_association = 'NONE';
    pr.pull_request.head.sha = 'e'.repeat(40);
    const prBody = JSON.stringify(pr);
    const beforePr = await cloud.snapshot();
    expect((await post('pull_request', prBody, sign(prBody))).status).toBe(202);
    expect(snapshotChanges(beforePr, await cloud.snapshot())).toContainEqual(
      expect.stringMatching(/GitHub calls$/),
    );
  });

  it(`${REQUESTS} requests: no 5xx, no HTML, no missing answer, no change by an invalid one`, async () => {
    const report = await runFuzz({ requests: REQUESTS, seed: SEED, target: target! });
    const table = fuzzTable(report);

    expect(report.requests).toBe(REQUESTS);
    expect({ problems: report.problems, changed: report.invalid.changed, table }).toEqual({
      problems: [],
      changed: [],
      table,
    });
    expect(fuzzPassed(report)).toBe(true);
    // Every door was tried, and so were the refusals that matter.
    expect(Object.keys(report.byFunction).sort()).toEqual(
      ['progress', 'runTest', 'status', 'sweepExpired', 'sweepPending', 'webhook'].sort(),
    );
    for (const status of ['401', '400', '405', '409', '413', '415']) {
      expect(report.byStatus[status] ?? 0).toBeGreaterThan(0);
    }
    expect(report.accepted.answered2xx).toBeGreaterThan(0);
    // Bodies are capped and never inflated: a 50 MiB gzip bomb and 25 MiB bodies
    // leave the server's peak well below what buffering them would take.
    expect(report.memory.peakRss - report.memory.startRss).toBeLessThan(400 * 1024 * 1024);
  });
});
