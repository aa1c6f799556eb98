// runTest's decisions (DESIGN §3.2, §3.5, §4) on the in-memory store,
// provisioner and status port with one fake clock: every row of the Compute
// errors table ends as documented, a VM is never made twice for a test, and a
// platform never runs more VMs than its slots.
import { deriveVmToken, vmTokenMatches } from '../../shared/auth/vm-token';
import { buildVmSpec } from '../../shared/compute/instance-resource';
import {
  GCP_MESSAGES,
  STARTING_VM,
  STARTUP_SCRIPT_MISSING,
  TESTS_QUEUED,
  VM_STARTED,
  waitingForSlot,
} from '../../shared/domain/messages';
import { deploymentLabel, requestId, taskId, testLabel, vmName } from '../../shared/domain/naming';
import type { TestRecord } from '../../shared/domain/test';
import { classifyGcpError } from '../../shared/gcp/errors';
import { taskGeneration } from '../../shared/domain/naming';
import { createFits, runTestDeadline, STATE_WRITES_MS } from '../../shared/run/deadline';
import { runTest, runTestTimings } from '../../shared/run/run-test';
import type { TestStore } from '../../shared/store/port';
import { cancelTest } from '../../shared/tests/cancel';
import { silentLogger } from '../../shared/log';
import {
  LEASE_MS,
  MAX_ATTEMPTS,
  MAX_RUN_MINUTES,
  PUBLIC_URL,
  SCRIPT,
  T0,
  TOKEN_SECRET,
  ZONE_A,
  ZONE_B,
  ZONE_C,
  harness,
  runConfig,
  type Harness,
} from './support';

const ZONE_MESSAGE = GCP_MESSAGES.zoneExhausted;
/** A VM creation slower than a whole delivery (570 s with the default 600 s dispatch deadline). */
const LONGER_THAN_A_DELIVERY = 20 * 60_000;
const LAST = MAX_ATTEMPTS - 1;

/** The fields that say nothing moved: compared before and after a refused delivery. */
function unchanged(h: Harness, before: TestRecord) {
  return expect(h.get(before.id)).resolves.toEqual(before);
}

/** What GitHub shows for the test's commit, oldest first. */
function descriptions(h: Harness, test: TestRecord): string[] {
  return h.statuses
    .statuses(test.repo, test.sha)
    .reverse()
    .map((s) => `${s.state}: ${s.description}`);
}

function expectRunningIn(
  h: Harness,
  test: TestRecord,
  zone: string,
  provisioning: 'SPOT' | 'STANDARD',
): void {
  const now = new Date(h.clock());
  expect(test).toMatchObject({
    status: 'running',
    stage: 'preparation',
    message: VM_STARTED,
    instance: { zone, provisioning, name: vmName('linux', test.id, test.attempts) },
    startedAt: now,
    deadlineAt: new Date(now.getTime() + MAX_RUN_MINUTES * 60_000),
    timeToStartMs: now.getTime() - T0.getTime(),
    leaseExpiresAt: null,
  });
}

describe('runTest: a VM for a queued test', () => {
  it('claims a slot, creates a Spot VM in the first zone and marks the test running', async () => {
    const h = harness();
    const test = await h.addTest();

    const outcome = await h.run(test.id);

    expect(outcome).toMatchObject({ http: 200, outcome: 'running' });
    const after = await h.get(test.id);
    expectRunningIn(h, after, ZONE_A, 'SPOT');
    expect(after.attempts).toBe(1);
    expect(after.timeToStartMs).toBe(5 * 60_000);
    expect(h.vms.vms()).toEqual([
      expect.objectContaining({ name: after.instance!.name, zone: ZONE_A, provisioning: 'SPOT' }),
    ]);
    expect(await h.store.slotHolders('linux')).toEqual([test.id]);
    expect(descriptions(h, test)).toEqual([`pending: ${STARTING_VM}`, `pending: ${VM_STARTED}`]);
    expect(after.timeline.map((e) => [e.status, e.message])).toEqual([
      ['queued', 'Tests queued'],
      // The claim recorded the VM it was about to make: one write before the insert.
      ['starting', STARTING_VM],
      ['running', VM_STARTED],
    ]);
  });

  it('gives the VM the metadata of DESIGN §6, a token only its hash is stored of, and vm-ci’s labels', async () => {
    const h = harness();
    const test = await h.addTest();

    await h.run(test.id);

    const after = await h.get(test.id);
    const [vm] = h.vms.vms();
    expect(vm).toBeDefined();
    const token = deriveVmToken(TOKEN_SECRET, test.id, vm!.name);
    expect(vm!.metadata).toEqual(
      expect.objectContaining({
        'vmci-test-id': test.id,
        'vmci-callback-url': `${PUBLIC_URL}/progress`,
        'vmci-token': token,
        'vmci-repo': test.repo,
        'vmci-sha': test.sha,
        'vmci-platform': 'linux',
        'startup-script': SCRIPT,
      }),
    );
    expect(vmTokenMatches(vm!.metadata['vmci-token']!, after.tokenHash)).toBe(true);
    expect(vmTokenMatches('another-token', after.tokenHash)).toBe(false);
    expect(vm!.labels).toEqual({
      vmci: 'true',
      'vmci-test': testLabel(test.id),
      'vmci-platform': 'linux',
      'vmci-deployment': deploymentLabel(h.deps.config.publicUrl),
    });
    expect(vm!.maxRunSeconds).toBeGreaterThan(MAX_RUN_MINUTES * 60);
    // The token lives only on the VM: neither the test document nor a log line holds it.
    expect(JSON.stringify(after)).not.toContain(token);
    expect(h.logs.lines.length).toBeGreaterThan(0);
    expect(h.logs.text()).not.toContain(token);
  });

  it('gives the VM the webhook clone URL, or the configured clone source of the repository', async () => {
    const plain = harness();
    const first = await plain.addTest();
    await plain.run(first.id);
    expect(plain.vms.vms()[0]!.metadata['vmci-clone-url']).toBe(first.cloneUrl);

    const configured = harness({
      config: runConfig(['cloneUrls', { 'CCExtractor/ccextractor': 'mirrors/ccx' }]),
    });
    const second = await configured.addTest();
    await configured.run(second.id);
    // Relative to the source root, matched without regard to case as GitHub does.
    expect(configured.vms.vms()[0]!.metadata['vmci-clone-url']).toBe(
      'file:///srv/vmci/mirrors/ccx',
    );
  });

  it('gives a Windows VM its script under the key Windows runs', async () => {
    const h = harness();
    const test = await h.addTest({ platform: 'windows' });

    await h.run(test.id);

    const [vm] = h.vms.vms();
    expect(vm!.metadata['windows-startup-script-ps1']).toBe(SCRIPT);
    expect(vm!.metadata['startup-script']).toBeUndefined();
    expect(vm!.provisioning).toBe('STANDARD');
    expect(vm!.labels['vmci-platform']).toBe('windows');
  });
});

describe('runTest: zones and Spot (DESIGN §4, stockouts)', () => {
  it.each([
    'ZONE_RESOURCE_POOL_EXHAUSTED',
    'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS',
    'STOCKOUT_503',
  ])('a %s in the first zone puts the VM in the second one, in the same delivery', async (code) => {
    const h = harness();
    const test = await h.addTest();
    h.vms.injectFault({ code, zone: ZONE_A });

    const outcome = await h.run(test.id);

    expect(outcome).toMatchObject({ http: 200, outcome: 'running' });
    expectRunningIn(h, await h.get(test.id), ZONE_B, 'SPOT');
    expect(h.vms.vms().map((vm) => vm.zone)).toEqual([ZONE_B]);
    expect(h.vms.insertCalls()).toBe(2);
    // The stockout was never shown to people: it was handled at once.
    expect(descriptions(h, test)).toEqual([`pending: ${STARTING_VM}`, `pending: ${VM_STARTED}`]);
    expect(h.logs.text()).toContain(code === 'STOCKOUT_503' ? 'HTTP 503' : code);
  });

  it('tries the zone the stockout names as available next', async () => {
    const h = harness();
    const test = await h.addTest();
    h.vms.injectFault({
      code: 'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS',
      zone: ZONE_A,
      zonesAvailable: [ZONE_C],
    });

    await h.run(test.id);

    expectRunningIn(h, await h.get(test.id), ZONE_C, 'SPOT');
    expect(h.vms.insertCalls()).toBe(2);
  });

  it('ignores a hinted zone the platform is not configured for', async () => {
    const h = harness();
    const test = await h.addTest();
    h.vms.injectFault({
      code: 'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS',
      zone: ZONE_A,
      zonesAvailable: ['europe-west1-b'],
    });

    await h.run(test.id);

    expectRunningIn(h, await h.get(test.id), ZONE_B, 'SPOT');
  });

  it('falls back to a standard VM when every zone is out of Spot capacity', async () => {
    const h = harness();
    const test = await h.addTest();
    h.vms.injectFault({ code: 'ZONE_RESOURCE_POOL_EXHAUSTED', count: 3 });

    const outcome = await h.run(test.id);

    expect(outcome.http).toBe(200);
    expectRunningIn(h, await h.get(test.id), ZONE_A, 'STANDARD');
    expect(h.vms.vms()).toEqual([
      expect.objectContaining({ zone: ZONE_A, provisioning: 'STANDARD' }),
    ]);
    expect(h.vms.insertCalls()).toBe(4);
  });

  it('without the fallback, Spot out everywhere is retried later', async () => {
    const h = harness({ config: runConfig(['platforms.linux.spotFallbackToStandard', false]) });
    const test = await h.addTest();
    h.vms.injectFault({ code: 'ZONE_RESOURCE_POOL_EXHAUSTED', count: 3 });

    const outcome = await h.run(test.id);

    expect(outcome).toMatchObject({ http: 503 });
    expect(await h.get(test.id)).toMatchObject({
      status: 'queued',
      message: ZONE_MESSAGE,
      instance: null,
    });
    expect(h.vms.vms()).toEqual([]);
    expect(h.vms.insertCalls()).toBe(3);
  });

  it('all zones exhausted: back to queued, slot released, 503, one pending status; a second identical failure posts nothing new', async () => {
    const h = harness({ config: runConfig(['platforms.linux.spot', false]) });
    const test = await h.addTest();
    h.vms.injectFault({ code: 'ZONE_RESOURCE_POOL_EXHAUSTED', count: 3 });

    const first = await h.run(test.id);

    expect(first).toMatchObject({ http: 503, test: { status: 'queued' } });
    const after = await h.get(test.id);
    expect(after).toMatchObject({
      status: 'queued',
      message: ZONE_MESSAGE,
      instance: null,
      leaseExpiresAt: null,
      attempts: 1,
      startedAt: null,
    });
    expect(await h.store.slotHolders('linux')).toEqual([]);
    expect(h.vms.vms()).toEqual([]);
    expect(descriptions(h, test)).toEqual([`pending: ${STARTING_VM}`, `pending: ${ZONE_MESSAGE}`]);

    h.vms.injectFault({ code: 'ZONE_RESOURCE_POOL_EXHAUSTED', count: 3 });
    const second = await h.run(test.id, 1);

    expect(second.http).toBe(503);
    expect(await h.get(test.id)).toMatchObject({ status: 'queued', attempts: 2 });
    expect(descriptions(h, test)).toEqual([`pending: ${STARTING_VM}`, `pending: ${ZONE_MESSAGE}`]);
    expect(await h.store.slotHolders('linux')).toEqual([]);

    // Capacity is back: the next delivery starts it, with a VM name of its own attempt.
    const third = await h.run(test.id, 2);
    expect(third.http).toBe(200);
    const running = await h.get(test.id);
    expect(running).toMatchObject({ status: 'running', attempts: 3 });
    expect(running.instance!.name).toBe(vmName('linux', test.id, 3));
    expect(descriptions(h, test)).toEqual([
      `pending: ${STARTING_VM}`,
      `pending: ${ZONE_MESSAGE}`,
      `pending: ${VM_STARTED}`,
    ]);
  });
});

describe('runTest: errors retried later (DESIGN §4)', () => {
  it.each([
    ['QUOTA_EXCEEDED', GCP_MESSAGES.quotaExceeded],
    ['quotaExceeded', GCP_MESSAGES.quotaExceeded],
    ['rateLimitExceeded', GCP_MESSAGES.rateLimited],
    ['RATE_LIMITED_429', GCP_MESSAGES.rateLimited],
    ['RESOURCE_OPERATION_RATE_EXCEEDED', GCP_MESSAGES.rateLimited],
  ])(
    '%s: back to queued with its message and a 503, no other zone tried',
    async (code, message) => {
      const h = harness();
      const test = await h.addTest();
      h.vms.injectFault({ code });

      const outcome = await h.run(test.id);

      expect(outcome).toMatchObject({ http: 503 });
      expect(await h.get(test.id)).toMatchObject({ status: 'queued', message, instance: null });
      expect(await h.store.slotHolders('linux')).toEqual([]);
      expect(h.vms.insertCalls()).toBe(1);
      expect(h.vms.vms()).toEqual([]);
      expect(descriptions(h, test)).toEqual([`pending: ${STARTING_VM}`, `pending: ${message}`]);
    },
  );

  it('a timed-out creation keeps the test starting with its slot; the next delivery adopts the VM', async () => {
    const h = harness();
    const test = await h.addTest();
    h.vms.injectFault({ code: 'SLOW_OPERATION', delayMs: LONGER_THAN_A_DELIVERY });

    const first = await h.run(test.id);

    expect(first).toMatchObject({ http: 503 });
    const held = await h.get(test.id);
    expect(held).toMatchObject({ status: 'starting', message: GCP_MESSAGES.timedOut });
    expect(held.leaseExpiresAt!.getTime()).toBeLessThanOrEqual(h.clock());
    expect(await h.store.slotHolders('linux')).toEqual([test.id]);
    expect(h.vms.vms()).toHaveLength(1);
    expect(descriptions(h, test)).toEqual([
      `pending: ${STARTING_VM}`,
      `pending: ${GCP_MESSAGES.timedOut}`,
    ]);

    const second = await h.run(test.id, 1);

    expect(second).toMatchObject({ http: 200, outcome: 'running (adopted VM)' });
    const running = await h.get(test.id);
    expect(running).toMatchObject({ status: 'running', instance: held.instance });
    expect(
      vmTokenMatches(deriveVmToken(TOKEN_SECRET, test.id, held.instance!.name), running.tokenHash),
    ).toBe(true);
    expect(h.vms.vms()).toHaveLength(1);
    expect(h.vms.insertCalls()).toBe(1);
    expect(await h.store.slotHolders('linux')).toEqual([test.id]);
  });

  it('a timed-out insert that lands after the next delivery looked: that delivery inserts the same VM, so there is one', async () => {
    const h = harness();
    const test = await h.addTest();
    // The insert's answer did not come in time, and Compute shows no VM yet.
    h.vms.injectFault({ code: 'SLOW_OPERATION', delayMs: LONGER_THAN_A_DELIVERY });
    expect(await h.run(test.id)).toMatchObject({ http: 503 });
    const held = await h.get(test.id);
    expect(held).toMatchObject({ status: 'starting', attempts: 1, message: GCP_MESSAGES.timedOut });
    h.vms.remove(held.instance!.name, held.instance!.zone);

    const second = await h.run(test.id, 1);

    // Not found is not "never made": the same name in the same zone again.
    expect(second).toMatchObject({ http: 200, outcome: 'running' });
    const running = await h.get(test.id);
    expect(running).toMatchObject({ status: 'running', attempts: 2, instance: held.instance });
    expect(h.vms.vms().map((vm) => [vm.name, vm.zone])).toEqual([
      [held.instance!.name, held.instance!.zone],
    ]);
    expect(
      vmTokenMatches(deriveVmToken(TOKEN_SECRET, test.id, held.instance!.name), running.tokenHash),
    ).toBe(true);

    // A request of the first attempt lands now: it finds the name taken, and makes no second VM.
    const { zone, provisioning } = held.instance!;
    const spec = buildVmSpec({
      test: { ...running, attempts: 1 },
      platform: h.deps.config.platforms.linux!,
      platformName: 'linux',
      zone,
      provisioning,
      metadata: {},
      startupScript: '',
      deployment: deploymentLabel(h.deps.config.publicUrl),
    });
    expect(spec.name).toBe(held.instance!.name);
    // (A requestId Compute has not seen: the late request had not reached it.)
    const late = await h.vms.createVm(
      { ...spec, requestId: requestId(`${test.id}/late`, 1, zone, provisioning) },
      { budgetMs: 10_000 },
    );
    expect(late).toMatchObject({ ok: true, adopted: true });
    expect(h.vms.vms()).toHaveLength(1);
  });

  it('a timed-out creation on the last attempt ends the test and records its VM for deletion', async () => {
    const h = harness();
    const test = await h.addTest();
    h.vms.injectFault({ code: 'SLOW_OPERATION', delayMs: LONGER_THAN_A_DELIVERY });

    const outcome = await h.run(test.id, LAST);

    expect(outcome).toMatchObject({ http: 200, outcome: 'error' });
    const after = await h.get(test.id);
    expect(after).toMatchObject({
      status: 'error',
      message: 'GCP operation timed out.',
      deletion: { name: after.instance!.name, zone: ZONE_A, doneAt: null },
    });
    expect(await h.store.slotHolders('linux')).toEqual([]);
  });

  it.each([
    ['QUOTA_EXCEEDED', 'GCP quota limit reached.'],
    ['rateLimitExceeded', 'GCP API rate limit reached.'],
    [
      'ZONE_RESOURCE_POOL_EXHAUSTED',
      'GCP resources temporarily unavailable in the configured zone.',
    ],
  ])(
    '%s on the last attempt: error with the final message, no retry promise, 200',
    async (code, message) => {
      const h = harness({ config: runConfig(['platforms.linux.spot', false]) });
      const test = await h.addTest();
      h.vms.injectFault({ code, count: 3 });

      const outcome = await h.run(test.id, LAST);

      expect(outcome).toMatchObject({ http: 200, outcome: 'error' });
      const after = await h.get(test.id);
      expect(after).toMatchObject({ status: 'error', message, finishedAt: new Date(h.clock()) });
      expect(after.message).not.toMatch(/retried/);
      expect(await h.store.slotHolders('linux')).toEqual([]);
      expect(descriptions(h, test)).toEqual([`pending: ${STARTING_VM}`, `error: ${message}`]);
      expect(h.vms.vms()).toEqual([]);
    },
  );

  it('the attempt before the last is still retried', async () => {
    const h = harness();
    const test = await h.addTest();
    h.vms.injectFault({ code: 'QUOTA_EXCEEDED' });

    expect((await h.run(test.id, LAST - 1)).http).toBe(503);
    expect((await h.get(test.id)).status).toBe('queued');
  });
});

describe('runTest: errors that end the test (DESIGN §4)', () => {
  it.each([
    ['NOT_FOUND_IMAGE', GCP_MESSAGES.notFound],
    ['PERMISSION_DENIED', GCP_MESSAGES.permissionDenied],
    [
      'SOMETHING_UNHEARD_OF',
      'VM creation failed (SOMETHING_UNHEARD_OF). Please contact the administrator.',
    ],
  ])('%s: error with its friendly line, 200, no other zone tried', async (code, message) => {
    const h = harness();
    const test = await h.addTest();
    h.vms.injectFault({ code });

    const outcome = await h.run(test.id);

    expect(outcome).toMatchObject({ http: 200, outcome: 'error' });
    expect(await h.get(test.id)).toMatchObject({
      status: 'error',
      message,
      finishedAt: new Date(h.clock()),
      leaseExpiresAt: null,
    });
    expect(await h.store.slotHolders('linux')).toEqual([]);
    expect(h.vms.insertCalls()).toBe(1);
    expect(h.vms.vms()).toEqual([]);
    expect(descriptions(h, test)).toEqual([`pending: ${STARTING_VM}`, `error: ${message}`]);
    // The raw API text is for the logs only.
    expect(message).not.toMatch(/us-central1|projects\//);
    expect(h.logs.text()).toContain(ZONE_A);
  });

  it('a missing startup script ends the test without a VM', async () => {
    const h = harness({
      startupScript: () => {
        throw Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
      },
    });
    const test = await h.addTest();

    const outcome = await h.run(test.id);

    expect(outcome).toMatchObject({ http: 200, outcome: 'error' });
    expect(await h.get(test.id)).toMatchObject({
      status: 'error',
      message: STARTUP_SCRIPT_MISSING,
    });
    expect(h.vms.insertCalls()).toBe(0);
    expect(await h.store.slotHolders('linux')).toEqual([]);
    expect(descriptions(h, test)).toEqual([
      `pending: ${STARTING_VM}`,
      `error: ${STARTUP_SCRIPT_MISSING}`,
    ]);
  });

  it('a platform that is no longer configured ends the test', async () => {
    const h = harness();
    const test = await h.addTest({ platform: 'macos' });

    const outcome = await h.run(test.id);

    expect(outcome).toMatchObject({ http: 200, outcome: 'error' });
    const after = await h.get(test.id);
    expect(after.status).toBe('error');
    expect(after.message.length).toBeLessThanOrEqual(140);
    expect(h.vms.insertCalls()).toBe(0);
  });
});

describe('runTest: one VM per test (DESIGN §3.2)', () => {
  it('adopts a VM of the test’s own name that already exists', async () => {
    const h = harness();
    const test = await h.addTest();
    const platform = h.deps.config.platforms.linux!;
    const spec = buildVmSpec({
      test: { ...test, attempts: 1 },
      platform,
      platformName: 'linux',
      zone: ZONE_A,
      provisioning: 'SPOT',
      metadata: {},
      startupScript: SCRIPT,
    });
    // Made by another request (another requestId): Compute answers the insert with alreadyExists.
    const other = { ...spec, requestId: '3c1f0a2b-4d5e-4f60-9a7b-8c9d0e1f2a3b' };
    expect(await h.vms.createVm(other, { budgetMs: 1000 })).toMatchObject({ ok: true });

    const outcome = await h.run(test.id);

    expect(outcome).toMatchObject({ http: 200, outcome: 'running (adopted VM)' });
    expectRunningIn(h, await h.get(test.id), ZONE_A, 'SPOT');
    expect(h.vms.vms()).toHaveLength(1);
    expect(h.vms.insertCalls()).toBe(2);
  });

  it('after a crash between the insert and the state write, the next attempt adopts the VM', async () => {
    let crash = true;
    const wrapStore = (store: TestStore): TestStore => ({
      ...store,
      transition: async (id, move) => {
        if (move.to === 'running' && crash) {
          crash = false;
          throw new Error('the function instance died');
        }
        return store.transition(id, move);
      },
    });
    const h = harness({ wrapStore });
    const test = await h.addTest();

    await expect(h.run(test.id)).rejects.toThrow('died');

    const crashed = await h.get(test.id);
    expect(crashed).toMatchObject({ status: 'starting', instance: { zone: ZONE_A } });
    expect(h.vms.vms()).toHaveLength(1);

    // While the crashed handler's lease runs, a redelivery leaves the claim alone.
    const early = await h.run(test.id, 1);
    expect(early).toMatchObject({ http: 503, outcome: 'another handler holds the claim' });
    await unchanged(h, crashed);

    h.advance(LEASE_MS + 1);
    const outcome = await h.run(test.id, 2);

    expect(outcome).toMatchObject({ http: 200, outcome: 'running (adopted VM)' });
    const running = await h.get(test.id);
    expect(running).toMatchObject({ status: 'running', instance: crashed.instance });
    expect(vmTokenMatches(h.vms.vms()[0]!.metadata['vmci-token']!, running.tokenHash)).toBe(true);
    expect(h.vms.vms()).toHaveLength(1);
    expect(h.vms.insertCalls()).toBe(1);
    expect(await h.store.slotHolders('linux')).toEqual([test.id]);
  });

  it('a repeated insert of the same request (same requestId) is the same VM', async () => {
    const h = harness();
    const test = await h.addTest();
    const spec = buildVmSpec({
      test: { ...test, attempts: 1 },
      platform: h.deps.config.platforms.linux!,
      platformName: 'linux',
      zone: ZONE_A,
      provisioning: 'SPOT',
      metadata: {},
      startupScript: SCRIPT,
    });
    await h.vms.createVm(spec, { budgetMs: 1000 });

    expect(await h.run(test.id)).toMatchObject({ http: 200 });
    expect(h.vms.vms()).toHaveLength(1);
    expect((await h.get(test.id)).instance!.name).toBe(spec.name);
  });

  it('when the earlier attempt’s VM cannot be looked up, it makes no second VM', async () => {
    const h = harness();
    const test = await h.addTest();
    h.vms.injectFault({ code: 'SLOW_OPERATION', delayMs: LONGER_THAN_A_DELIVERY });
    expect((await h.run(test.id)).http).toBe(503);
    const held = await h.get(test.id);
    h.vms.failNext('getVm', classifyGcpError({ errors: [{ code: 'RATE_LIMIT_EXCEEDED' }] }));

    const outcome = await h.run(test.id, 1);

    expect(outcome.http).toBe(503);
    expect(await h.get(test.id)).toMatchObject({
      status: 'starting',
      instance: held.instance,
      message: GCP_MESSAGES.rateLimited,
    });
    expect(h.vms.insertCalls()).toBe(1);
    expect(await h.store.slotHolders('linux')).toEqual([test.id]);

    expect(await h.run(test.id, 2)).toMatchObject({ http: 200, outcome: 'running (adopted VM)' });
    expect(h.vms.vms()).toHaveLength(1);
    expect(h.vms.insertCalls()).toBe(1);
  });

  it('an earlier attempt’s VM that powered off and is gone is not adopted: a VM of its name is made again', async () => {
    const h = harness();
    const test = await h.addTest();
    h.vms.injectFault({ code: 'SLOW_OPERATION', delayMs: LONGER_THAN_A_DELIVERY });
    await h.run(test.id);
    const held = await h.get(test.id);
    h.vms.setStatus(held.instance!.name, held.instance!.zone, 'TERMINATED');
    h.vms.remove(held.instance!.name, held.instance!.zone);

    expect(await h.run(test.id, 1)).toMatchObject({ http: 200, outcome: 'running' });
    const running = await h.get(test.id);
    expect(running.attempts).toBe(2);
    // Gone may be "not made yet": the name is kept, so a late insert could not make a second VM.
    expect(running.instance!.name).toBe(held.instance!.name);
    expect(h.vms.vms().map((vm) => vm.name)).toEqual([running.instance!.name]);
    expect(h.vms.insertCalls()).toBe(2);
  });

  it('an earlier attempt’s VM that is still there but suspended is deleted, and a new VM made', async () => {
    const h = harness();
    const test = await h.addTest();
    h.vms.injectFault({ code: 'SLOW_OPERATION', delayMs: LONGER_THAN_A_DELIVERY });
    await h.run(test.id);
    const held = await h.get(test.id);
    h.vms.setStatus(held.instance!.name, held.instance!.zone, 'SUSPENDED');

    expect(await h.run(test.id, 1)).toMatchObject({ http: 200, outcome: 'running' });
    const running = await h.get(test.id);
    expect(running.instance!.name).toBe(vmName('linux', test.id, 2));
    expect(h.vms.vms().map((vm) => vm.name)).toEqual([running.instance!.name]);
  });

  it('two deliveries taking over one expired claim: one claims, the other is told to retry', async () => {
    const h = harness();
    const test = await h.addTest();
    h.vms.injectFault({ code: 'SLOW_OPERATION', delayMs: LONGER_THAN_A_DELIVERY });
    expect((await h.run(test.id)).http).toBe(503);
    const held = await h.get(test.id);
    // The earlier attempt's VM vanished: each taker that holds the claim would make a VM.
    h.vms.remove(held.instance!.name, held.instance!.zone);

    const outcomes = await Promise.all([h.run(test.id, 1), h.run(test.id, 1)]);

    expect(outcomes.map((o) => o.http).sort()).toEqual([200, 503]);
    expect(outcomes.find((o) => o.http === 503)!.outcome).toMatch(/^claim lost/);
    const running = await h.get(test.id);
    expect(running).toMatchObject({ status: 'running', attempts: 2 });
    expect(h.vms.vms().map((vm) => vm.name)).toEqual([running.instance!.name]);
    expect(h.vms.insertCalls()).toBe(2);
    expect(await h.store.slotHolders('linux')).toEqual([test.id]);
  });

  it('ten concurrent deliveries of one task make one VM and one running test', async () => {
    const h = harness();
    const test = await h.addTest();

    const outcomes = await Promise.all(Array.from({ length: 10 }, () => h.run(test.id)));

    expect(outcomes.filter((o) => o.outcome === 'running')).toHaveLength(1);
    expect(h.vms.vms()).toHaveLength(1);
    const after = await h.get(test.id);
    expect(after).toMatchObject({ status: 'running', attempts: 1 });
    expect(await h.store.slotHolders('linux')).toEqual([test.id]);
    expect(descriptions(h, test)).toEqual([`pending: ${STARTING_VM}`, `pending: ${VM_STARTED}`]);
  });

  it('a cancel while the VM starts: the VM it made is deleted at once, and noted done', async () => {
    let cancelIt: (() => Promise<void>) | undefined;
    const h = harness({ onSleep: async () => cancelIt?.() });
    const test = await h.addTest();
    h.vms.injectFault({ code: 'SLOW_OPERATION', delayMs: 1_000 });
    cancelIt = async () => {
      cancelIt = undefined;
      await cancelTest(
        { store: h.store, log: silentLogger, now: h.deps.now },
        test.id,
        'PR closed',
      );
    };

    const outcome = await h.run(test.id);

    expect(outcome.http).toBe(200);
    expect(outcome.outcome).toMatch(/^moved while starting/);
    const after = await h.get(test.id);
    expect(after.status).toBe('canceled');
    // The cancel's own teardown may have run before the VM existed: runTest deletes what it made.
    expect(h.vms.vms()).toHaveLength(0);
    expect(after.deletion).toMatchObject({
      name: after.instance!.name,
      zone: ZONE_A,
      attempts: 1,
      doneAt: expect.any(Date),
    });
    expect(await h.store.slotHolders('linux')).toEqual([]);
  });
  it('a cancel while the VM starts, and the deletion fails: its next check backs off from the configured base', async () => {
    let cancelIt: (() => Promise<void>) | undefined;
    const h = harness({
      onSleep: async () => cancelIt?.(),
      config: runConfig(['sweeps.deletionBackoffSeconds', 7]),
    });
    const test = await h.addTest();
    h.vms.injectFault({ code: 'SLOW_OPERATION', delayMs: 1_000 });
    h.vms.failNext('deleteVm', classifyGcpError({ errors: [{ code: 'RATE_LIMIT_EXCEEDED' }] }));
    cancelIt = async () => {
      cancelIt = undefined;
      await cancelTest(
        { store: h.store, log: silentLogger, now: h.deps.now },
        test.id,
        'PR closed',
      );
    };

    expect((await h.run(test.id)).outcome).toMatch(/^moved while starting/);

    expect((await h.get(test.id)).deletion).toMatchObject({
      attempts: 1,
      doneAt: null,
      nextCheckAt: new Date(h.clock() + 7_000),
    });
  });

  it('a takeover that gave the test another VM while this one started: this VM is deleted at once', async () => {
    let takeOver: (() => Promise<void>) | undefined;
    const h = harness({ onSleep: async () => takeOver?.() });
    const test = await h.addTest();
    h.vms.injectFault({ code: 'SLOW_OPERATION', delayMs: 1_000 });
    const other = {
      name: vmName('linux', test.id, 2),
      zone: ZONE_B,
      provisioning: 'SPOT' as const,
    };
    takeOver = async () => {
      takeOver = undefined;
      // Another delivery took the claim over and marked the test running on its own VM.
      const moved = await h.store.transition(test.id, {
        from: ['starting'],
        to: 'running',
        at: h.deps.now(),
        message: VM_STARTED,
        stage: 'preparation',
        patch: { instance: other, attempts: 2 },
      });
      if (!moved.ok) throw new Error(`takeover failed: ${moved.reason}`);
    };

    const outcome = await h.run(test.id);

    expect(outcome.outcome).toMatch(/^moved while starting/);
    expect(h.vms.vms().map((vm) => vm.name)).toEqual([]);
    expect(await h.get(test.id)).toMatchObject({ status: 'running', instance: other });
  });

  it('a cancel whose teardown found nothing (404) before the VM existed: runTest still deletes the VM', async () => {
    let cancelIt: (() => Promise<void>) | undefined;
    const h = harness({ onSleep: async () => cancelIt?.() });
    const test = await h.addTest();
    h.vms.injectFault({ code: 'SLOW_OPERATION', delayMs: 1_000 });
    cancelIt = async () => {
      cancelIt = undefined;
      const canceled = await cancelTest(
        { store: h.store, log: silentLogger, now: h.deps.now },
        test.id,
        'PR closed',
      );
      // The teardown task ran at once, while the insert was still in flight: 404, noted done.
      if (canceled.canceled && canceled.test.deletion) {
        await h.store.recordDeletion(test.id, {
          ...canceled.test.deletion,
          attempts: 1,
          doneAt: h.deps.now(),
        });
      }
    };

    const outcome = await h.run(test.id);

    expect(outcome.outcome).toMatch(/^moved while starting/);
    expect(h.vms.vms()).toHaveLength(0);
    expect((await h.get(test.id)).deletion).toMatchObject({
      attempts: 2,
      doneAt: expect.any(Date),
    });
  });
});

describe('runTest: slots (DESIGN §3.5)', () => {
  it('no free slot: pending with the waiting line, 200, no VM', async () => {
    const h = harness({ config: runConfig(['platforms.linux.maxConcurrent', 1]) });
    const first = await h.addTest();
    const second = await h.addTest();
    await h.run(first.id);

    const outcome = await h.run(second.id);

    expect(outcome).toMatchObject({ http: 200, outcome: 'no free slot: pending' });
    expect(await h.get(second.id)).toMatchObject({
      status: 'pending',
      message: waitingForSlot('linux'),
      attempts: 0,
      instance: null,
    });
    expect(waitingForSlot('linux')).toBe('Waiting for a free linux VM slot');
    expect(h.vms.vms()).toHaveLength(1);
    expect(await h.store.slotHolders('linux')).toEqual([first.id]);
    expect(descriptions(h, second)).toEqual(['pending: Waiting for a free linux VM slot']);
  });

  it('a pending test delivered again starts once a slot is free, and waits quietly while none is', async () => {
    const h = harness({ config: runConfig(['platforms.linux.maxConcurrent', 1]) });
    const first = await h.addTest();
    const second = await h.addTest();
    await h.run(first.id);
    await h.run(second.id);

    // Still no slot: it stays pending, and GitHub hears nothing new.
    expect(await h.run(second.id)).toMatchObject({ http: 200, test: { status: 'pending' } });
    expect((await h.get(second.id)).status).toBe('pending');
    expect(descriptions(h, second)).toEqual(['pending: Waiting for a free linux VM slot']);

    await cancelTest({ store: h.store, log: silentLogger, now: h.deps.now }, first.id, 'PR closed');
    const outcome = await h.run(second.id);

    expect(outcome).toMatchObject({ http: 200, outcome: 'running' });
    expect((await h.get(second.id)).status).toBe('running');
    expect(await h.store.slotHolders('linux')).toEqual([second.id]);
    expect(descriptions(h, second)).toEqual([
      'pending: Waiting for a free linux VM slot',
      `pending: ${STARTING_VM}`,
      `pending: ${VM_STARTED}`,
    ]);
  });

  it('tests racing for two slots: two VMs, the rest pending', async () => {
    const h = harness();
    const tests = await Promise.all(Array.from({ length: 6 }, () => h.addTest()));

    const outcomes = await Promise.all(tests.map((t) => h.run(t.id)));

    expect(outcomes.every((o) => o.http === 200)).toBe(true);
    const after = await Promise.all(tests.map((t) => h.get(t.id)));
    expect(after.filter((t) => t.status === 'running')).toHaveLength(2);
    expect(after.filter((t) => t.status === 'pending')).toHaveLength(4);
    expect(h.vms.vms()).toHaveLength(2);
    expect((await h.store.slotHolders('linux')).sort()).toEqual(
      after
        .filter((t) => t.status === 'running')
        .map((t) => t.id)
        .sort(),
    );
  });

  it('a failure that is retried later gives its slot to a waiting test', async () => {
    const h = harness({ config: runConfig(['platforms.linux.maxConcurrent', 1]) });
    const first = await h.addTest();
    h.vms.injectFault({ code: 'QUOTA_EXCEEDED' });
    expect((await h.run(first.id)).http).toBe(503);
    const second = await h.addTest();

    expect(await h.run(second.id)).toMatchObject({ http: 200, outcome: 'running' });
    expect(await h.store.slotHolders('linux')).toEqual([second.id]);
  });
});

describe('runTest: deliveries with nothing to do', () => {
  it('an unknown test: 200, nothing made', async () => {
    const h = harness();
    expect(await h.run('no-such-test')).toEqual({ http: 200, outcome: 'unknown test' });
    expect(h.vms.insertCalls()).toBe(0);
    expect(h.statuses.tries()).toBe(0);
  });

  it.each(['passed', 'failed', 'error', 'timed_out', 'canceled', 'running', 'waiting'] as const)(
    'a %s test: 200, nothing changed',
    async (status) => {
      const h = harness();
      const test = await h.addTest({ status, message: 'as it was' });

      const outcome = await h.run(test.id);

      expect(outcome.http).toBe(200);
      await unchanged(h, test);
      expect(h.vms.insertCalls()).toBe(0);
      expect(h.statuses.tries()).toBe(0);
      expect(await h.store.slotHolders('linux')).toEqual([]);
    },
  );

  it('a starting test whose claim is still held: 503, nothing changed', async () => {
    const h = harness();
    const test = await h.addTest({
      status: 'starting',
      message: STARTING_VM,
      leaseExpiresAt: new Date(h.clock() + 60_000),
    });

    expect(await h.run(test.id)).toMatchObject({ http: 503 });
    await unchanged(h, test);
    expect(h.vms.insertCalls()).toBe(0);
  });

  it('a test canceled while the delivery read it: 200, so the task is not retried', async () => {
    const h = harness();
    const test = await h.addTest();
    const store = h.deps.store;
    // The cancel lands between runTest's read and its claim.
    h.deps.store = {
      ...store,
      getTest: async (id) => {
        const read = await store.getTest(id);
        await cancelTest({ store, log: silentLogger, now: h.deps.now }, id, 'PR closed');
        return read;
      },
    };

    const outcome = await h.run(test.id);

    expect(outcome.http).toBe(200);
    expect((await h.get(test.id)).status).toBe('canceled');
    expect(h.vms.insertCalls()).toBe(0);
  });
});

describe('runTest: a task its enqueuer has not recorded yet', () => {
  it('a pending test whose newer task arrives first: 503 and nothing changes, so the enqueuer’s write wins', async () => {
    const h = harness();
    const test = await h.addTest({
      status: 'pending',
      enqueueGeneration: 0,
      message: 'Tests queued',
    });

    const outcome = await runTest(h.deps, { testId: test.id, retryCount: 0, generation: 1 });

    expect(outcome).toMatchObject({ http: 503, outcome: 'task not recorded on the test yet' });
    await unchanged(h, test);
    expect(h.vms.insertCalls()).toBe(0);
  });

  it('on the last attempt it is run all the same, and the task’s generation is recorded', async () => {
    const h = harness();
    const test = await h.addTest({ status: 'pending', enqueueGeneration: 0 });

    const outcome = await runTest(h.deps, { testId: test.id, retryCount: LAST, generation: 1 });

    expect(outcome).toMatchObject({ http: 200, outcome: 'running' });
    expect(await h.get(test.id)).toMatchObject({ status: 'running', enqueueGeneration: 1 });
  });

  it('a parked test delivered again by its own (recorded) task is claimed', async () => {
    const h = harness();
    const test = await h.addTest({ status: 'pending', enqueueGeneration: 2 });

    const outcome = await runTest(h.deps, { testId: test.id, retryCount: 0, generation: 2 });

    expect(outcome).toMatchObject({ http: 200, outcome: 'running' });
    expect(await h.get(test.id)).toMatchObject({ status: 'running', enqueueGeneration: 2 });
  });
});

describe('runTestTimings and the delivery’s deadline', () => {
  const ARRIVED = new Date('2026-12-01T10:00:00Z');

  it.each([15, 16, 30, 45, 60, 600, 1800])(
    'with a %i s dispatch deadline: the delivery ends before it, the claim outlasts it',
    (dispatchDeadlineSeconds) => {
      const queue = { dispatchDeadlineSeconds };
      const { leaseMs } = runTestTimings(queue);
      const deadline = runTestDeadline(ARRIVED, queue);
      const windowMs = deadline.at.getTime() - ARRIVED.getTime();
      expect(windowMs).toBeGreaterThan(0);
      expect(windowMs).toBeLessThan(dispatchDeadlineSeconds * 1000);
      expect(leaseMs).toBeGreaterThan(dispatchDeadlineSeconds * 1000);
      // Strictly longer than the deadline with its state writes: a claim made
      // at the arrival (or later) is still held when the delivery ends.
      expect(leaseMs).toBeGreaterThan(windowMs + STATE_WRITES_MS);
      // The first creation of a delivery always fits, even in the shortest window.
      expect(createFits(deadline, ARRIVED)).toBe(true);
      expect(deadline.minCreateMs).toBeGreaterThan(0);
    },
  );

  it('leaves 30 s of a 600 s deadline for the state writes', () => {
    expect(runTestTimings({ dispatchDeadlineSeconds: 600 })).toEqual({ leaseMs: 660_000 });
    expect(runTestDeadline(ARRIVED, { dispatchDeadlineSeconds: 600 })).toEqual({
      at: new Date(ARRIVED.getTime() + 570_000),
      minCreateMs: 20_000,
    });
  });
});

describe('taskGeneration', () => {
  const id = 'ccextractor-ccextractor-0123abc-linux-push-r1-3f9c0a1b2c3d4e5f';

  it.each([1, 2, 17])('reads generation %d from the name of that task', (generation) => {
    expect(taskGeneration(taskId(id, generation), id)).toBe(generation);
    expect(taskGeneration(taskId(id, generation, 'delete-vm'), id)).toBe(generation);
  });

  it.each([
    ['no header', undefined],
    ['a name of another test', taskId(`${id}x`, 1)],
    ['a name without the hash prefix', `${id}-g1`],
    ['a forged prefix', `00000000-run-${id}-g1`],
    ['a name without the purpose', `${taskId(id, 1).slice(0, 9)}${id}-g1`],
    ['generation 0', `${taskId(id, 1).slice(0, -3)}-g0`],
    ['any other name', 'a-task'],
  ])('is undefined for %s', (_what, name) => {
    expect(taskGeneration(name, id)).toBeUndefined();
  });

  it('is undefined for an id that names no task', () => {
    expect(taskGeneration('x-bad id-g1', 'bad id')).toBeUndefined();
  });
});

describe('runTest: the queue line', () => {
  it('is what a re-queued pending test shows only in its timeline', async () => {
    const h = harness({ config: runConfig(['platforms.linux.maxConcurrent', 1]) });
    const first = await h.addTest();
    const second = await h.addTest();
    await h.run(first.id);
    await h.run(second.id);
    await h.run(second.id);

    const timeline = (await h.get(second.id)).timeline.map((e) => `${e.status}: ${e.message}`);
    expect(timeline).toEqual([
      'queued: Tests queued',
      'pending: Waiting for a free linux VM slot',
      `queued: ${TESTS_QUEUED}`,
      'pending: Waiting for a free linux VM slot',
    ]);
  });
});

describe('runTest: the teardown of an ended test (DESIGN §3.4)', () => {
  /** A test that ran on a VM and was canceled: its deletion recorded, the VM still there. */
  async function endedWithVm(h: ReturnType<typeof harness>) {
    const test = await h.addTest();
    await h.run(test.id);
    const result = await cancelTest(
      { store: h.store, log: silentLogger, now: h.deps.now },
      test.id,
      'PR closed',
    );
    expect(result.canceled).toBe(true);
    expect(h.vms.vms()).toHaveLength(1);
    return h.get(test.id);
  }

  it('deletes the VM and notes the deletion done; another delivery changes nothing', async () => {
    const h = harness();
    const test = await endedWithVm(h);

    const first = await h.run(test.id);
    const again = await h.run(test.id);

    expect([first.http, again.http]).toEqual([200, 200]);
    expect(h.vms.vms()).toEqual([]);
    const after = await h.get(test.id);
    expect(after.deletion).toEqual({
      ...test.deletion,
      attempts: 1,
      doneAt: expect.any(Date),
      nextCheckAt: null,
    });
    expect(after.status).toBe('canceled');
  });

  it('a VM already gone (404) counts as deleted', async () => {
    const h = harness();
    const test = await endedWithVm(h);
    h.vms.remove(test.instance!.name, test.instance!.zone);

    const outcome = await h.run(test.id);

    expect(outcome.http).toBe(200);
    expect((await h.get(test.id)).deletion?.doneAt).toEqual(expect.any(Date));
  });

  it('a failed deletion asks the queue to retry, and is left to the sweep after the last attempt', async () => {
    const h = harness();
    const test = await endedWithVm(h);
    const unavailable = classifyGcpError({ errors: [{ code: 'RATE_LIMIT_EXCEEDED' }] });
    h.vms.failNext('deleteVm', unavailable, 2);

    const retried = await h.run(test.id);
    const last = await h.run(test.id, LAST);

    expect(retried.http).toBe(503);
    expect(last.http).toBe(200);
    expect(h.vms.vms()).toHaveLength(1);
    expect((await h.get(test.id)).deletion).toMatchObject({ attempts: 2, doneAt: null });
    expect(h.logs.text()).toContain('left to the expired sweep');
  });
});
