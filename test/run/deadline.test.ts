// runTest has one deadline per delivery, not one per zone tried (issue 12,
// item 7): fixed when the request arrives, derived from the queue's dispatch
// deadline, and every Compute call gets only what is left of it. Slow zones
// cannot run a delivery past Cloud Tasks' dispatch deadline or its claim lease;
// a delivery out of time stops as a retriable failure does, and the next one
// goes on from there. In-memory doubles, one fake clock.
import { Readable } from 'node:stream';
import type { CallerVerifier } from '../../shared/auth/caller';
import {
  createComputeProvisioner,
  type InstancesApi,
  type ZoneOperationsApi,
} from '../../shared/compute/compute-engine';
import {
  GCP_MESSAGES,
  STARTING_VM,
  STATUS_LINE_MAX,
  VM_STARTED,
} from '../../shared/domain/messages';
import { vmName } from '../../shared/domain/naming';
import type { TestRecord } from '../../shared/domain/test';
import {
  createFits,
  MIN_CREATE_MS,
  NO_TIME_TO_START,
  runTestDeadline,
  timeLeftMs,
  type RunDeadline,
} from '../../shared/run/deadline';
import { makeRunTestHandler } from '../../functions/runTest/handler';
import { harness, runConfig, ZONE_A, ZONE_B, ZONE_C, type Harness } from './support';

const ZONE_MESSAGE = GCP_MESSAGES.zoneExhausted;
/** Three placements, A, B, C: standard VMs only. */
const threeZones = () => runConfig(['platforms.linux.spot', false]);
const NO_TIME_LOG = 'No time left in this delivery for another VM placement';

/** The deadline the door would fix for a request arriving now. */
function deadlineNow(h: Harness): RunDeadline {
  return runTestDeadline(new Date(h.clock()), h.deps.config.queue);
}

/** No Compute call was made without a budget, or with one that ends past the deadline. */
function expectWithin(h: Harness, deadline: RunDeadline, from = 0): void {
  const calls = h.computeCalls.slice(from);
  expect(calls.length).toBeGreaterThan(0);
  for (const call of calls) {
    expect(call).toMatchObject({ budgetMs: expect.any(Number) });
    expect(call.at + call.budgetMs!).toBeLessThanOrEqual(deadline.at.getTime());
  }
  expect(h.clock()).toBeLessThanOrEqual(deadline.at.getTime());
}

function descriptions(h: Harness, test: TestRecord): string[] {
  return h.statuses
    .statuses(test.repo, test.sha)
    .reverse()
    .map((s) => `${s.state}: ${s.description}`);
}

describe('runTestDeadline and createFits', () => {
  const ARRIVED = new Date('2026-12-01T10:00:00Z');
  const at = (ms: number) => new Date(ARRIVED.getTime() + ms);

  it.each([
    [15, 10_000, 5_000],
    [30, 10_000, 5_000],
    [60, 30_000, 15_000],
    [120, 90_000, 20_000],
    [600, 570_000, 20_000],
    [1800, 1_770_000, 20_000],
  ])(
    'a %i s dispatch deadline: the delivery ends %i ms after its arrival; a creation needs %i ms',
    (dispatchDeadlineSeconds, windowMs, minCreateMs) => {
      expect(runTestDeadline(ARRIVED, { dispatchDeadlineSeconds })).toEqual({
        at: at(windowMs),
        minCreateMs,
      });
    },
  );

  it('another placement fits while at least the minimum is left, never after the deadline', () => {
    const deadline = runTestDeadline(ARRIVED, { dispatchDeadlineSeconds: 600 });
    expect(createFits(deadline, at(570_000 - MIN_CREATE_MS))).toBe(true);
    expect(createFits(deadline, at(570_000 - MIN_CREATE_MS + 1))).toBe(false);
    expect(createFits(deadline, at(600_000))).toBe(false);
    expect(timeLeftMs(deadline, at(500_000))).toBe(70_000);
    expect(timeLeftMs(deadline, at(600_000))).toBe(0);
  });

  it('the line shown for a delivery out of time fits a commit status', () => {
    expect(NO_TIME_TO_START.length).toBeLessThanOrEqual(STATUS_LINE_MAX);
  });
});

describe('runTest: one deadline per delivery', () => {
  it('three zones that each answer a stockout after 250 s: the third gets only what is left, and the delivery ends by its deadline', async () => {
    const h = harness({
      config: threeZones(),
      slowZones: { [ZONE_A]: 250_000, [ZONE_B]: 250_000, [ZONE_C]: 250_000 },
    });
    const test = await h.addTest();
    h.vms.injectFault({ code: 'ZONE_RESOURCE_POOL_EXHAUSTED', count: 3 });
    const start = h.clock();
    const deadline = deadlineNow(h);

    const outcome = await h.run(test.id, 0, deadline);

    expect(h.computeCalls.map((c) => [c.method, c.zone, c.at - start, c.budgetMs])).toEqual([
      ['createVm', ZONE_A, 0, 570_000],
      ['createVm', ZONE_B, 250_000, 320_000],
      ['createVm', ZONE_C, 500_000, 70_000],
    ]);
    expectWithin(h, deadline);
    // The third creation did not finish: its VM may still come up, so the
    // claim and the slot stay, and the next delivery looks for it first.
    expect(outcome).toMatchObject({ http: 503 });
    const held = await h.get(test.id);
    expect(held).toMatchObject({
      status: 'starting',
      message: GCP_MESSAGES.timedOut,
      instance: { zone: ZONE_C },
    });
    expect(held.leaseExpiresAt!.getTime()).toBeLessThanOrEqual(h.clock());
    expect(await h.store.slotHolders('linux')).toEqual([test.id]);
  });

  it('stops before a placement it has no time for: queued again, slot released, one friendly line, a log line saying why', async () => {
    const h = harness({
      config: threeZones(),
      slowZones: { [ZONE_A]: 280_000, [ZONE_B]: 280_000, [ZONE_C]: 280_000 },
    });
    const test = await h.addTest();
    h.vms.injectFault({ code: 'ZONE_RESOURCE_POOL_EXHAUSTED', count: 2 });
    const deadline = deadlineNow(h);

    const outcome = await h.run(test.id, 0, deadline);

    // A and B fail at 280 s and 560 s: 10 s left, less than a creation needs.
    expect(h.computeCalls.map((c) => c.zone)).toEqual([ZONE_A, ZONE_B]);
    expectWithin(h, deadline);
    expect(h.clock()).toBeLessThan(deadline.at.getTime());
    expect(outcome).toMatchObject({ http: 503, outcome: expect.stringMatching(/no time left/) });
    expect(await h.get(test.id)).toMatchObject({
      status: 'queued',
      message: ZONE_MESSAGE,
      instance: null,
      leaseExpiresAt: null,
      attempts: 1,
    });
    expect(await h.store.slotHolders('linux')).toEqual([]);
    expect(h.vms.vms()).toEqual([]);
    expect(descriptions(h, test)).toEqual([`pending: ${STARTING_VM}`, `pending: ${ZONE_MESSAGE}`]);
    expect(ZONE_MESSAGE.length).toBeLessThanOrEqual(STATUS_LINE_MAX);
    const why = h.logs.lines.find((l) => l.message === NO_TIME_LOG);
    expect(why).toMatchObject({
      level: 'warn',
      fields: {
        leftMs: 10_000,
        minCreateMs: MIN_CREATE_MS,
        deadline: deadline.at.toISOString(),
        tried: [`${ZONE_A}/STANDARD`, `${ZONE_B}/STANDARD`],
        next: `${ZONE_C}/STANDARD`,
      },
    });
  });

  it('a delivery out of time is continued by the next one, which ends with one VM', async () => {
    const slowZones: Record<string, number> = { [ZONE_A]: 280_000, [ZONE_B]: 280_000 };
    const h = harness({ config: threeZones(), slowZones });
    const test = await h.addTest();
    h.vms.injectFault({ code: 'ZONE_RESOURCE_POOL_EXHAUSTED', count: 2 });
    expect((await h.run(test.id, 0, deadlineNow(h))).http).toBe(503);

    // Later, capacity is back, and the zones answer at once.
    h.advance(60_000);
    delete slowZones[ZONE_A];
    delete slowZones[ZONE_B];
    const from = h.computeCalls.length;
    const deadline = deadlineNow(h);
    const next = await h.run(test.id, 1, deadline);

    expect(next).toMatchObject({ http: 200, outcome: 'running' });
    expectWithin(h, deadline, from);
    const running = await h.get(test.id);
    expect(running).toMatchObject({ status: 'running', attempts: 2, instance: { zone: ZONE_A } });
    expect(h.vms.vms().map((vm) => vm.name)).toEqual([vmName('linux', test.id, 2)]);
    expect(await h.store.slotHolders('linux')).toEqual([test.id]);
    expect(descriptions(h, test)).toEqual([
      `pending: ${STARTING_VM}`,
      `pending: ${ZONE_MESSAGE}`,
      `pending: ${VM_STARTED}`,
    ]);
  });

  it('a zone slower than what is left: its creation gets only the rest, and the next delivery adopts the VM it made', async () => {
    let watch: (() => Promise<void>) | undefined;
    const h = harness({
      config: threeZones(),
      slowZones: { [ZONE_A]: 280_000 },
      onSleep: async () => watch?.(),
    });
    const test = await h.addTest();
    h.vms.injectFault({ code: 'ZONE_RESOURCE_POOL_EXHAUSTED', zone: ZONE_A });
    h.vms.injectFault({ code: 'SLOW_OPERATION', zone: ZONE_B, delayMs: 20 * 60_000 });
    const deadline = deadlineNow(h);
    const leases: Date[] = [];
    watch = async () => {
      const now = await h.get(test.id);
      if (now.status === 'starting' && now.leaseExpiresAt) leases.push(now.leaseExpiresAt);
    };

    const first = await h.run(test.id, 0, deadline);

    expect(h.computeCalls.map((c) => [c.zone, c.budgetMs])).toEqual([
      [ZONE_A, 570_000],
      [ZONE_B, 290_000],
    ]);
    expectWithin(h, deadline);
    // While the delivery ran, its claim could not be taken over.
    expect(leases.length).toBeGreaterThan(0);
    for (const lease of leases) expect(lease.getTime()).toBeGreaterThan(deadline.at.getTime());
    expect(first).toMatchObject({ http: 503 });
    const held = await h.get(test.id);
    expect(held).toMatchObject({
      status: 'starting',
      message: GCP_MESSAGES.timedOut,
      instance: { zone: ZONE_B },
    });
    expect(await h.store.slotHolders('linux')).toEqual([test.id]);
    watch = undefined;

    const from = h.computeCalls.length;
    const nextDeadline = deadlineNow(h);
    const second = await h.run(test.id, 1, nextDeadline);

    expect(second).toMatchObject({ http: 200, outcome: 'running (adopted VM)' });
    expect(h.computeCalls.slice(from).map((c) => [c.method, c.zone])).toEqual([['getVm', ZONE_B]]);
    expectWithin(h, nextDeadline, from);
    expect(await h.get(test.id)).toMatchObject({ status: 'running', instance: held.instance });
    expect(h.vms.vms()).toHaveLength(1);
    expect(h.vms.insertCalls()).toBe(2);
    expect(await h.store.slotHolders('linux')).toEqual([test.id]);
  });

  it('with no deadline given, runTest takes the queue’s dispatchDeadlineSeconds from its configuration', async () => {
    const h = harness({
      config: runConfig(['platforms.linux.spot', false], ['queue.dispatchDeadlineSeconds', 120]),
      slowZones: { [ZONE_A]: 40_000, [ZONE_B]: 40_000, [ZONE_C]: 40_000 },
    });
    const test = await h.addTest();
    h.vms.injectFault({ code: 'ZONE_RESOURCE_POOL_EXHAUSTED', count: 3 });
    const start = h.clock();

    const outcome = await h.run(test.id);

    // 120 s less 30 s: 90 s. A and B fail at 40 s and 80 s; 10 s is too little for C.
    expect(h.computeCalls.map((c) => [c.zone, c.at - start, c.budgetMs])).toEqual([
      [ZONE_A, 0, 90_000],
      [ZONE_B, 40_000, 50_000],
    ]);
    expect(h.clock() - start).toBe(80_000);
    expect(outcome).toMatchObject({ http: 503 });
    expect(await h.get(test.id)).toMatchObject({ status: 'queued', message: ZONE_MESSAGE });
  });

  it('a delivery with too little left for any creation claims nothing it keeps: queued again, its own line', async () => {
    const h = harness();
    const test = await h.addTest();
    // Arrived 560 s ago: 10 s left of 570 s.
    const deadline = runTestDeadline(new Date(h.clock() - 560_000), h.deps.config.queue);

    const outcome = await h.run(test.id, 0, deadline);

    expect(outcome).toMatchObject({ http: 503, outcome: expect.stringMatching(/no time left/) });
    expect(h.computeCalls).toEqual([]);
    expect(await h.get(test.id)).toMatchObject({
      status: 'queued',
      message: NO_TIME_TO_START,
      instance: null,
    });
    expect(await h.store.slotHolders('linux')).toEqual([]);
    expect(descriptions(h, test)).toEqual([
      `pending: ${STARTING_VM}`,
      `pending: ${NO_TIME_TO_START}`,
    ]);
    expect(h.logs.text()).toContain(NO_TIME_LOG);
  });

  it('on the last attempt, out of time ends the test with the line minus the retry promise', async () => {
    const h = harness();
    const test = await h.addTest();
    const deadline = runTestDeadline(new Date(h.clock() - 560_000), h.deps.config.queue);
    const last = h.deps.config.queue.maxAttempts - 1;

    expect(await h.run(test.id, last, deadline)).toMatchObject({ http: 200, outcome: 'error' });
    expect(await h.get(test.id)).toMatchObject({
      status: 'error',
      message: 'Not enough time left in this attempt to start a VM.',
    });
    expect(await h.store.slotHolders('linux')).toEqual([]);
  });

  it('the earlier attempt’s VM is looked for within what is left', async () => {
    const h = harness();
    const test = await h.addTest();
    h.vms.injectFault({ code: 'SLOW_OPERATION', delayMs: 20 * 60_000 });
    await h.run(test.id, 0, deadlineNow(h));
    h.advance(30_000);
    const from = h.computeCalls.length;
    // This delivery arrived 500 s ago: 70 s left.
    const deadline = runTestDeadline(new Date(h.clock() - 500_000), h.deps.config.queue);

    expect(await h.run(test.id, 1, deadline)).toMatchObject({ outcome: 'running (adopted VM)' });
    expect(h.computeCalls.slice(from)).toEqual([
      { method: 'getVm', zone: ZONE_A, at: h.clock(), budgetMs: 70_000 },
    ]);
  });
});

describe('the runTest door fixes the deadline when the request arrives', () => {
  function request(testId: string) {
    const json = JSON.stringify({ testId });
    return Object.assign(Readable.from([Buffer.from(json)]), {
      method: 'POST',
      headers: {
        authorization: 'Bearer a-task-token',
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(json)),
      },
      complete: true,
      body: { testId },
      rawBody: Buffer.from(json),
    });
  }

  function response() {
    const sent: { status: number; body?: unknown } = { status: 200 };
    const res = {
      status(code: number) {
        sent.status = code;
        return res;
      },
      set() {
        return res;
      },
      json(body: unknown) {
        sent.body = body;
        return res;
      },
    };
    return { res, sent };
  }

  it('from its arrival and the queue’s dispatch deadline: time spent before runTest is not given again', async () => {
    const h = harness({
      config: runConfig(['queue.dispatchDeadlineSeconds', 120]),
    });
    const test = await h.addTest();
    h.vms.injectFault({ code: 'SLOW_OPERATION', delayMs: 20 * 60_000 });
    const arrived = h.clock();
    // Google's signing keys take 30 s to fetch.
    const callers: CallerVerifier = {
      verify: async () => {
        h.advance(30_000);
        return { ok: true, email: h.deps.config.queue.serviceAccount };
      },
    };
    const handler = makeRunTestHandler({
      ...h.deps,
      callers,
      audience: 'https://ci.example.com/runTest',
    });
    type Req = Parameters<typeof handler>[0];
    type Res = Parameters<typeof handler>[1];
    const { res, sent } = response();

    await handler(request(test.id) as unknown as Req, res as unknown as Res);

    expect(sent).toMatchObject({ status: 503, body: { testId: test.id, status: 'starting' } });
    // 90 s from the arrival, 30 s of them spent: the creation gets 60 s.
    expect(h.computeCalls).toEqual([
      { method: 'createVm', zone: ZONE_A, at: arrived + 30_000, budgetMs: 60_000 },
    ]);
    expect(h.clock()).toBe(arrived + 90_000);
  });
});

describe('the Compute adapter bounds a look-up by its budget', () => {
  it('getVm’s call timeout is the budget when it is shorter than the call timeout', async () => {
    const timeouts: (number | undefined)[] = [];
    const instances = {
      get: async (_request: unknown, options?: { timeout?: number }) => {
        timeouts.push(options?.timeout);
        return [{ name: 'vm', status: 'RUNNING', zone: ZONE_A }];
      },
    } as unknown as InstancesApi;
    const vms = createComputeProvisioner({
      instances,
      operations: {} as ZoneOperationsApi,
      project: 'p',
      callTimeoutMs: 30_000,
    });

    await vms.getVm('vm', ZONE_A, { budgetMs: 7_000 });
    await vms.getVm('vm', ZONE_A, { budgetMs: 90_000 });
    await vms.getVm('vm', ZONE_A, { budgetMs: 0 });
    await vms.getVm('vm', ZONE_A);

    expect(timeouts).toEqual([7_000, 30_000, 1, 30_000]);
  });
});
