// The local Cloud Scheduler through the real CloudSchedulerClient (REST
// fallback): job CRUD, schedules firing with Cloud Scheduler's headers, runJob,
// retries, and INVALID_ARGUMENT for bad schedules.
import { nextAfter, parseCron } from '../../infra/local/scheduler';
import { verifyLocalToken } from '../../shared/auth/local-token';
import {
  eventually,
  PARENT,
  startScheduler,
  startTarget,
  type SchedulerHarness,
  type Target,
} from './scheduler-setup';

const seconds = (t: { seconds?: unknown } | null | undefined): number => Number(t?.seconds);
const codeOf = async (call: Promise<unknown>): Promise<number | undefined> =>
  call.then(
    () => undefined,
    (err: { code?: number }) => err.code,
  );

let target: Target;
beforeAll(async () => {
  target = await startTarget();
});
afterAll(() => target.close());
beforeEach(() => {
  target.hits.length = 0;
  target.answers.length = 0;
});

describe('job CRUD through CloudSchedulerClient', () => {
  let h: SchedulerHarness;
  beforeAll(async () => {
    h = await startScheduler();
  });
  afterAll(() => h.close());

  const weekdays = (id: string) => ({
    name: `${PARENT}/jobs/${id}`,
    schedule: '0 9 * * 1-5',
    timeZone: 'Etc/UTC',
    httpTarget: {
      uri: `${target.url}/sweepExpired`,
      httpMethod: 'POST' as const,
      body: Buffer.from('{}'),
    },
  });

  it('creates, gets, updates, lists and deletes jobs', async () => {
    const before = new Date();
    const [created] = await h.client.createJob({ parent: PARENT, job: weekdays('sweep-expired') });
    expect(created).toMatchObject({
      name: `${PARENT}/jobs/sweep-expired`,
      state: 'ENABLED',
      schedule: '0 9 * * 1-5',
      httpTarget: { uri: `${target.url}/sweepExpired`, httpMethod: 'POST' },
      retryConfig: { retryCount: 0, maxDoublings: 5 },
    });
    expect(Buffer.from(created.httpTarget!.body as Uint8Array).toString()).toBe('{}');
    const expected = nextAfter(parseCron('0 9 * * 1-5'), before).getTime() / 1000;
    expect(seconds(created.scheduleTime)).toBe(expected);

    const [got] = await h.client.getJob({ name: created.name });
    expect(got.schedule).toBe('0 9 * * 1-5');

    const [updated] = await h.client.updateJob({
      job: { name: created.name, schedule: '*/5 * * * *', description: 'not in the mask' },
      updateMask: { paths: ['schedule'] },
    });
    expect(updated).toMatchObject({
      schedule: '*/5 * * * *',
      description: '',
      httpTarget: { uri: `${target.url}/sweepExpired` },
    });
    expect(seconds(updated.scheduleTime) % 300).toBe(0);
    const [described] = await h.client.updateJob({
      job: { name: created.name, description: 'sweeps' },
    });
    expect(described).toMatchObject({ description: 'sweeps', schedule: '*/5 * * * *' });

    const [retargeted] = await h.client.updateJob({
      job: { name: created.name, httpTarget: { uri: `${target.url}/elsewhere` } },
      updateMask: { paths: ['http_target.uri'] },
    });
    expect(retargeted.httpTarget).toMatchObject({
      uri: `${target.url}/elsewhere`,
      httpMethod: 'POST',
    });
    expect(Buffer.from(retargeted.httpTarget!.body as Uint8Array).toString()).toBe('{}');

    await h.client.createJob({ parent: PARENT, job: weekdays('sweep-pending') });
    const [all] = await h.client.listJobs({ parent: PARENT });
    expect(all.map((j) => j.name)).toEqual([
      `${PARENT}/jobs/sweep-expired`,
      `${PARENT}/jobs/sweep-pending`,
    ]);
    const [page, , response] = await h.client.listJobs(
      { parent: PARENT, pageSize: 1 },
      { autoPaginate: false },
    );
    expect(page).toHaveLength(1);
    expect(response?.nextPageToken).toBeTruthy();

    await h.client.deleteJob({ name: created.name });
    expect(await codeOf(h.client.getJob({ name: created.name }))).toBe(5);
    expect(h.scheduler.jobs().map((j) => j.name)).toEqual([`${PARENT}/jobs/sweep-pending`]);
    expect(target.hits).toHaveLength(0);
  });

  it('answers ALREADY_EXISTS for a second job of the same name, NOT_FOUND for a missing one', async () => {
    await h.client.createJob({ parent: PARENT, job: weekdays('twice') });
    expect(await codeOf(h.client.createJob({ parent: PARENT, job: weekdays('twice') }))).toBe(6);
    expect(await codeOf(h.client.deleteJob({ name: `${PARENT}/jobs/missing` }))).toBe(5);
    expect(await codeOf(h.client.runJob({ name: `${PARENT}/jobs/missing` }))).toBe(5);
  });

  it('pauses and resumes a job', async () => {
    const [job] = await h.client.createJob({ parent: PARENT, job: weekdays('pausable') });
    const [paused] = await h.client.pauseJob({ name: job.name });
    expect(paused.state).toBe('PAUSED');
    expect(paused.scheduleTime).toBeFalsy();
    const [resumed] = await h.client.resumeJob({ name: job.name });
    expect(resumed.state).toBe('ENABLED');
    expect(seconds(resumed.scheduleTime)).toBeGreaterThan(Date.now() / 1000);
  });

  it.each([
    { why: 'minute 61', job: { schedule: '61 * * * *' } },
    { why: 'four fields', job: { schedule: '* * * *' } },
    { why: 'a date that never comes', job: { schedule: '0 0 30 2 *' } },
    { why: 'an English schedule', job: { schedule: 'every 5 minutes' } },
    { why: 'an unknown time zone', job: { schedule: '* * * * *', timeZone: 'Mars/Olympus_Mons' } },
    { why: 'no target URI', job: { schedule: '* * * * *', httpTarget: { uri: '' } } },
    { why: 'six retries', job: { schedule: '* * * * *', retryConfig: { retryCount: 6 } } },
  ])('rejects $why with INVALID_ARGUMENT (code 3)', async ({ job }) => {
    const code = await codeOf(
      h.client.createJob({ parent: PARENT, job: { ...weekdays('invalid'), ...job } }),
    );
    expect(code).toBe(3);
    expect(await codeOf(h.client.getJob({ name: `${PARENT}/jobs/invalid` }))).toBe(5);
  });
});

describe('executions', () => {
  it('fires `* * * * *` every scheduler minute with Cloud Scheduler headers', async () => {
    const h = await startScheduler({ timeScale: 0.001, localToken: 'test-oidc-token' });
    try {
      await h.client.createJob({
        parent: PARENT,
        job: {
          name: `${PARENT}/jobs/sweep-pending`,
          schedule: '* * * * *',
          httpTarget: {
            uri: `${target.url}/sweepPending?x=1`,
            httpMethod: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: Buffer.from('{"from":"scheduler"}'),
            oidcToken: {
              serviceAccountEmail: 'scheduler@vmci-test.iam.gserviceaccount.com',
              audience: target.url,
            },
          },
        },
      });
      const hits = await target.waitFor(3);
      for (const hit of hits) {
        expect(hit).toMatchObject({
          method: 'POST',
          path: '/sweepPending?x=1',
          body: '{"from":"scheduler"}',
        });
        expect(hit.headers).toMatchObject({
          'user-agent': 'Google-Cloud-Scheduler',
          'x-cloudscheduler': 'true',
          'x-cloudscheduler-jobname': 'sweep-pending',
          'content-type': 'application/json',
        });
        const claims = verifyLocalToken(String(hit.headers.authorization), 'test-oidc-token', {
          audience: target.url,
          email: 'scheduler@vmci-test.iam.gserviceaccount.com',
        });
        expect(claims.kind).toBe('oidc');
        expect(() => verifyLocalToken(String(hit.headers.authorization), 'another-secret')).toThrow(
          /bad signature/,
        );
        expect(hit.headers['x-cloudscheduler-scheduletime']).toMatch(
          /^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z$/,
        );
      }
      const times = hits.map((hit) =>
        Date.parse(String(hit.headers['x-cloudscheduler-scheduletime'])),
      );
      for (let i = 1; i < times.length; i++) {
        const step = times[i]! - times[i - 1]!;
        expect(step).toBeGreaterThan(0);
        expect(step % 60_000).toBe(0);
      }
      await eventually(
        () => h.scheduler.history().filter((e) => e.trigger === 'schedule' && e.ok).length >= 3,
      );

      await h.client.deleteJob({ name: `${PARENT}/jobs/sweep-pending` });
      await new Promise((r) => setTimeout(r, 100)); // a call already on its way may land
      const settled = target.hits.length;
      await new Promise((r) => setTimeout(r, 400)); // about 6 scheduler minutes
      expect(target.hits.length).toBe(settled);
    } finally {
      await h.close();
    }
  });

  it('runJob calls the target at once, without credentials when the job has no token', async () => {
    const h = await startScheduler();
    try {
      const [job] = await h.client.createJob({
        parent: PARENT,
        job: {
          name: `${PARENT}/jobs/yearly`,
          schedule: '0 0 1 1 *',
          httpTarget: { uri: `${target.url}/status`, httpMethod: 'GET' },
        },
      });
      const before = Date.now();
      const [ran] = await h.client.runJob({ name: job.name });
      expect(ran.name).toBe(job.name);
      const [hit] = await target.waitFor(1, 5000);
      expect(hit).toMatchObject({ method: 'GET', path: '/status', body: '' });
      expect(hit!.headers.authorization).toBeUndefined();
      expect(
        Math.abs(Date.parse(String(hit!.headers['x-cloudscheduler-scheduletime'])) - before),
      ).toBeLessThan(5000);
      await eventually(() => h.scheduler.history().length > 0);
      expect(h.scheduler.history()).toMatchObject([
        { job: job.name, trigger: 'run', attempt: 1, httpStatus: 200, ok: true },
      ]);
    } finally {
      await h.close();
    }
  });
});

describe('retries and closing', () => {
  const retrying = (id: string, retryConfig: object) => ({
    name: id,
    schedule: '0 0 1 1 *',
    httpTarget: { uri: `${target.url}/sweep` },
    retryConfig,
  });

  it('retries a failing target per retryConfig, then succeeds', async () => {
    const h = await startScheduler({
      timeScale: 0.001,
      jobs: [retrying('flaky', { retryCount: 3, minBackoffDuration: '200s' })],
    });
    try {
      target.answers.push(503, 503);
      const last = await h.scheduler.runNow('flaky');
      expect(last).toMatchObject({ attempt: 3, ok: true, httpStatus: 200 });
      expect(h.scheduler.history().map((e) => e.httpStatus)).toEqual([503, 503, 200]);
      const gap =
        Date.parse(h.scheduler.history()[1]!.at) - Date.parse(h.scheduler.history()[0]!.at);
      expect(gap).toBeGreaterThanOrEqual(150); // 200 s of backoff at timeScale 0.001
    } finally {
      await h.close();
    }
  });

  it('gives up after retryCount retries and reports the status on the job', async () => {
    const h = await startScheduler({
      timeScale: 0.001,
      jobs: [retrying('broken', { retryCount: 2, minBackoffDuration: '1s' })],
    });
    try {
      target.answers.push(503, 503, 503, 503);
      expect(await h.scheduler.runNow('broken')).toMatchObject({
        attempt: 3,
        ok: false,
        httpStatus: 503,
      });
      expect(target.hits).toHaveLength(3);
      const [job] = await h.client.getJob({ name: `${PARENT}/jobs/broken` });
      expect(job.status).toMatchObject({ code: 14 });
      expect(seconds(job.lastAttemptTime)).toBeGreaterThan(0);
    } finally {
      await h.close();
    }
  });

  it('close() stops the schedule and abandons pending retries', async () => {
    const h = await startScheduler({
      timeScale: 0.001,
      jobs: [
        { name: 'tick', schedule: '* * * * *', httpTarget: { uri: `${target.url}/tick` } },
        retrying('slow-retry', { retryCount: 5, minBackoffDuration: '3600s' }),
      ],
    });
    await target.waitFor(1);
    target.answers.push(500);
    const pending = h.scheduler.runNow('slow-retry');
    const started = Date.now();
    await new Promise((r) => setTimeout(r, 100));
    await h.close();
    expect(await pending).toMatchObject({ attempt: 1, ok: false });
    expect(Date.now() - started).toBeLessThan(3000); // did not wait out the 3.6 s backoff
    const count = target.hits.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(target.hits.length).toBe(count);
  });
});
