// runTest's decisions (DESIGN §3.2, §3.5, §4): claim the test and a slot in one
// compare-and-set, adopt a VM an earlier attempt made, otherwise create one,
// falling back across zones and from Spot to standard, and map what Compute
// said to the test's next state. The function's door only authenticates,
// parses and answers with what this returns.
import { deriveVmToken, hashVmToken } from '../auth/vm-token';
import { buildVmSpec } from '../compute/instance-resource';
import { isOffOrGoingOff, type VmProvisioner } from '../compute/port';
import type { PlatformConfig, VmciConfig } from '../config';
import { cloneUrlFor } from '../config/clone-url';
import { functionUrl } from '../config/urls';
import {
  finalRetriableMessage,
  GITHUB_UNAVAILABLE,
  STARTING_VM,
  STARTUP_SCRIPT_MISSING,
  TESTS_QUEUED,
  VM_STARTED,
  waitingForSlot,
} from '../domain/messages';
import { deploymentLabel, requestId, vmName } from '../domain/naming';
import { isTerminal, type TestInstance, type TestRecord } from '../domain/test';
import { GCP_ERROR_CODES, type GcpErrorClass } from '../gcp/errors';
import { publishTestStatus } from '../github/publish';
import type { TestStore, TransitionResult } from '../store/port';
import type { AfterEndDeps } from '../tests/after-end';
import { endTest } from '../tests/end-test';
import { hasPendingDeletion, teardownTestVm } from '../tests/teardown';
import {
  createFits,
  outOfTimeError,
  runTestDeadline,
  timeLeftMs,
  type RunDeadline,
} from './deadline';
import { placementOrder, remainingPlacements, type Placement } from './placement';
import { prepareVmAccess, type VmAccessDeps } from './vm-access';

/** The function's wiring reads the claim lease from here (./deadline.ts holds the rule). */
export { runTestTimings } from './deadline';

export type RunTestDeps = AfterEndDeps & {
  store: TestStore;
  /** Mints the VM's GitHub token and finds its build artifact (./vm-access.ts). */
  github: VmAccessDeps['github'];
  vms: VmProvisioner;
  config: VmciConfig;
  /** Derives the per-VM tokens (shared/auth/vm-token.ts). */
  tokenSecret: string;
  /** The platform's startup script's content; throws when it cannot be read. */
  startupScript(platform: PlatformConfig): string;
  /**
   * How long a claim is exclusive; a handler that dies is taken over after it.
   * Longer than a delivery's deadline (runTestTimings, ./deadline.ts).
   */
  leaseMs: number;
  /** Resolves relative paths in the configuration (clone sources). */
  sourceRoot: string;
};

export interface RunTestRequest {
  testId: string;
  /** X-CloudTasks-TaskRetryCount: 0 on the first dispatch. */
  retryCount: number;
  /** The enqueue generation of the delivered task, when its name tells (taskGeneration). */
  generation?: number;
  /**
   * The delivery's one deadline, from the request's arrival (runTestDeadline):
   * every Compute call gets only what is left of it. Default: from now.
   */
  deadline?: RunDeadline;
}

/** 200 ends the task; 503 asks Cloud Tasks to retry it with back-off. */
export interface RunTestOutcome {
  http: 200 | 503;
  outcome: string;
  test?: TestRecord;
}

const done = (outcome: string, test?: TestRecord): RunTestOutcome => ({ http: 200, outcome, test });
const retry = (outcome: string, test?: TestRecord): RunTestOutcome => ({
  http: 503,
  outcome,
  test,
});

export async function runTest(deps: RunTestDeps, request: RunTestRequest): Promise<RunTestOutcome> {
  const log = deps.log.child({ testId: request.testId });
  const deadline = request.deadline ?? runTestDeadline(deps.now(), deps.config.queue);
  const test = await deps.store.getTest(request.testId);
  if (!test) return done('unknown test');
  if (isTerminal(test.status)) {
    // An ended test's task is a teardown request (shared/tests/after-end.ts).
    return hasPendingDeletion(test)
      ? teardown(deps, test, request, deadline)
      : done(`already ${test.status}`, test);
  }
  if (test.status === 'running') return done('already running', test);
  if (test.status === 'waiting') return done('waiting: not runnable yet', test);
  const now = deps.now();
  if (test.status === 'starting' && test.leaseExpiresAt && test.leaseExpiresAt > now) {
    return retry('another handler holds the claim', test);
  }
  if (
    test.status === 'pending' &&
    (request.generation ?? 0) > test.enqueueGeneration &&
    !isLastAttempt(deps, request)
  ) {
    // The enqueuer created this task and has not yet recorded it (pending →
    // queued): run it once it has, so the two never race for the test.
    return retry('task not recorded on the test yet', test);
  }
  const platform = deps.config.platforms[test.platform];
  if (!platform) {
    return fail(deps, test, `Platform ${test.platform} is not configured`, log);
  }

  // Before the claim: a GitHub that does not answer leaves the test queued for the retry.
  const access = await prepareVmAccess(deps, test, platform);
  if (!access.ok && 'end' in access) return fail(deps, test, access.end, log);
  if (!access.ok) {
    if (isLastAttempt(deps, request)) {
      return fail(deps, test, finalRetriableMessage(GITHUB_UNAVAILABLE), log);
    }
    return retry(`GitHub did not answer: ${access.retry}`, test);
  }

  // A first attempt records the VM it will make in the claim itself (one write less before the insert).
  const intent = test.instance ? undefined : firstIntent(deps, test, platform);
  const claimed = await claim(deps, test, platform, request, now, intent);
  if (!claimed.ok) return claimed.outcome;
  // The first claim shows that the test started (the webhook leaves a queued
  // test's status to it: shared/webhook/apply.ts), posted while the VM is made
  // and done before the next status is. A later claim keeps the line that said
  // why the last attempt did not start.
  const shown = claimed.test.attempts === 1 ? publishTestStatus(deps, claimed.test) : undefined;
  try {
    return await startVm(
      deps,
      test,
      claimed.test,
      platform,
      access.metadata,
      request,
      deadline,
      shown,
      intent?.instance,
    );
  } finally {
    await shown;
  }
}

/** After the claim: adopt the VM an earlier attempt made, or create one. */
async function startVm(
  deps: RunTestDeps,
  test: TestRecord,
  claimed: TestRecord,
  platform: PlatformConfig,
  accessMetadata: Record<string, string>,
  request: RunTestRequest,
  deadline: RunDeadline,
  shown: Promise<unknown> | undefined,
  /** The VM the claim recorded already (the first placement's). */
  claimedIntent?: TestInstance,
): Promise<RunTestOutcome> {
  const log = deps.log.child({ testId: test.id });
  let current = claimed;
  /** The attempt whose VM this delivery makes: this claim's, or the earlier one's it goes on with. */
  let vmAttempt = current.attempts;
  let order = placementOrder(platform);
  // An earlier claim recorded the VM it was creating: if that VM exists, it is this test's.
  if (test.instance) {
    const found = await deps.vms.getVm(test.instance.name, test.instance.zone, {
      budgetMs: timeLeftMs(deadline, deps.now()),
    });
    if ('error' in found) {
      // Not knowing whether that VM exists, a new one could be a second VM: keep
      // the claim and the record of that VM, and look again on the next delivery.
      log.warn('Could not look for the VM of an earlier attempt', {
        instance: test.instance.name,
        zone: test.instance.zone,
        code: found.error.code,
        detail: found.error.detail,
      });
      await shown;
      return afterFailure(deps, current, found.error, request, log, { vmMayExist: true });
    }
    if (found.found && !isOffOrGoingOff(found.vm)) {
      log.info('Adopting the VM of an earlier attempt', { instance: test.instance.name });
      await shown;
      return markRunning(deps, current, test.instance, true, deadline);
    }
    if (!found.found && test.instance.name === vmName(test.platform, test.id, test.attempts)) {
      // Not there yet is not "never made": that insert's outcome was not known
      // (a time-out, a handler that died), and its request may still land. This
      // attempt inserts a VM of the same name in the same zone first: Compute
      // keeps names unique, so whichever insert lands first makes it and the
      // other finds it taken (and is adopted): one VM either way.
      vmAttempt = test.attempts;
      const { zone, provisioning } = test.instance;
      order = [
        { zone, provisioning },
        ...order.filter((p) => p.zone !== zone || p.provisioning !== provisioning),
      ];
      log.info('Inserting the VM of an earlier attempt again', { instance: test.instance.name });
    }
    if (found.found) {
      // Shut down, it will run nothing: this attempt makes a new VM, and that
      // one is deleted now rather than left to the orphan sweep (DESIGN §3.4).
      const deleted = await deps.vms.deleteVm(test.instance.name, test.instance.zone, {
        budgetMs: Math.min(timeLeftMs(deadline, deps.now()), 5_000),
      });
      log.info('Deleting the shut-down VM of an earlier attempt', {
        instance: test.instance.name,
        vmStatus: found.vm.status,
        deleted: deleted.ok,
      });
    }
  }

  let startupScript: string;
  try {
    startupScript = deps.startupScript(platform);
  } catch (error) {
    log.error('Startup script unreadable', { error, path: platform.startupScript });
    await shown;
    return fail(deps, current, STARTUP_SCRIPT_MISSING, log);
  }

  // The VM's name, and so its token, depend on the attempt only, not on where it is placed.
  const token = deriveVmToken(
    deps.tokenSecret,
    current.id,
    vmName(current.platform, current.id, vmAttempt),
  );
  const metadata = { ...vmMetadata(deps, current, platform, token), ...accessMetadata };
  const deployment = deploymentLabel(deps.config.publicUrl);
  const tried: Placement[] = [];
  let lastError: GcpErrorClass | undefined;
  let outOfTime = false;
  while (order.length) {
    const placement = order[0]!;
    const before = deps.now();
    if (!createFits(deadline, before)) {
      // Too late for another creation: stop as a retriable failure would, so
      // the next delivery goes on from here within a deadline of its own.
      outOfTime = true;
      log.warn('No time left in this delivery for another VM placement', {
        leftMs: timeLeftMs(deadline, before),
        minCreateMs: deadline.minCreateMs,
        deadline: deadline.at.toISOString(),
        tried: tried.map((p) => `${p.zone}/${p.provisioning}`),
        next: `${placement.zone}/${placement.provisioning}`,
      });
      break;
    }
    const named = buildVmSpec({
      test: { ...current, attempts: vmAttempt },
      platform,
      platformName: current.platform,
      zone: placement.zone,
      provisioning: placement.provisioning,
      metadata,
      startupScript,
      deployment,
    });
    // A requestId of this attempt's own: one reused from an earlier insert that
    // did land would be answered with that insert's operation, whatever became of its VM.
    const spec = {
      ...named,
      requestId: requestId(current.id, current.attempts, placement.zone, placement.provisioning),
    };
    const instance: TestInstance = {
      name: spec.name,
      zone: spec.zone,
      provisioning: spec.provisioning,
    };
    // The intent first: a crash after the insert leaves a VM the next attempt adopts.
    if (!sameInstance(claimedIntent, instance) || tried.length > 0) {
      const intent = await deps.store.transition(current.id, {
        from: ['starting'],
        to: 'starting',
        at: deps.now(),
        message: STARTING_VM,
        patch: { instance, tokenHash: hashVmToken(token) },
      });
      if (!intent.ok) return done(`moved while starting (${intent.reason})`);
      current = intent.test;
    }

    const created = await deps.vms.createVm(spec, {
      budgetMs: timeLeftMs(deadline, deps.now()),
    });
    await shown;
    if (created.ok) return markRunning(deps, current, created.vm, created.adopted, deadline);
    lastError = created.error;
    log.warn('VM creation failed', {
      instance: spec.name,
      zone: spec.zone,
      provisioning: spec.provisioning,
      code: created.error.code,
      detail: created.error.detail,
    });
    if (created.error.action !== 'next_zone') break;
    tried.push(placement);
    order = remainingPlacements(order, tried, created.error.zonesAvailable);
  }
  // Out of time before any creation: nothing was started, so no VM was made.
  const error = lastError ?? outOfTimeError(timeLeftMs(deadline, deps.now()), deadline.minCreateMs);
  await shown;
  return afterFailure(deps, current, error, request, log, {
    // The operation did not finish: the VM may still come up.
    vmMayExist: error.code === GCP_ERROR_CODES.timeout,
    ...(outOfTime ? { why: 'no time left for another placement' } : {}),
  });
}

type Claim = { ok: true; test: TestRecord } | { ok: false; outcome: RunTestOutcome };

/** The VM a claim records before the insert: its first placement, and the hash of its token. */
type ClaimIntent = { instance: TestInstance; tokenHash: string };

function firstIntent(deps: RunTestDeps, test: TestRecord, platform: PlatformConfig): ClaimIntent {
  const [placement] = placementOrder(platform);
  const name = vmName(test.platform, test.id, test.attempts + 1);
  return {
    instance: { name, zone: placement!.zone, provisioning: placement!.provisioning },
    tokenHash: hashVmToken(deriveVmToken(deps.tokenSecret, test.id, name)),
  };
}

function sameInstance(a: TestInstance | undefined, b: TestInstance): boolean {
  return (
    a !== undefined && a.name === b.name && a.zone === b.zone && a.provisioning === b.provisioning
  );
}

/**
 * queued (or starting with an expired lease) → starting, with a slot, in one
 * CAS; a pending test is queued again first.
 */
async function claim(
  deps: RunTestDeps,
  read: TestRecord,
  platform: PlatformConfig,
  request: RunTestRequest,
  now: Date,
  intent?: ClaimIntent,
): Promise<Claim> {
  let test = read;
  if (test.status === 'pending') {
    // A pending test has no live task, so the table has no pending → starting;
    // this delivery is one of its tasks, though (a redelivery, one that parked
    // it, or one its enqueuer did not live to record): the test is queued
    // again, and claimed from there.
    const requeued = await deps.store.transition(test.id, {
      from: ['pending'],
      to: 'queued',
      at: now,
      message: TESTS_QUEUED,
      patch: {
        enqueueGeneration: Math.max(test.enqueueGeneration, request.generation ?? 0),
        queuedAt: now,
      },
    });
    if (!requeued.ok) return { ok: false, outcome: claimLost(requeued, test) };
    test = requeued.test;
  }
  const result = await deps.store.transition(test.id, {
    from: [test.status],
    to: 'starting',
    at: now,
    message: STARTING_VM,
    patch: {
      // Each claim is a new attempt: a new VM name and requestId, since Compute
      // answers a reused requestId with its first (failed) operation.
      attempts: test.attempts + 1,
      leaseExpiresAt: new Date(now.getTime() + deps.leaseMs),
      // Named by the attempt this claim makes: valid only if it is still the one read.
      ...(intent && test.attempts === read.attempts ? intent : {}),
    },
    // Of racing takers of the same claim (the status alone cannot tell a
    // starting test taken over from one just claimed), only the first wins.
    expect: { attempts: test.attempts },
    // A starting test taken over already holds its slot.
    ...(test.status === 'starting'
      ? {}
      : { slot: { op: 'acquire' as const, maxConcurrent: platform.maxConcurrent } }),
  });
  if (result.ok) return { ok: true, test: result.test };
  if (result.reason === 'no_capacity') {
    const parked = await deps.store.transition(test.id, {
      from: ['queued'],
      to: 'pending',
      at: now,
      message: waitingForSlot(test.platform),
    });
    if (parked.ok) await publishTestStatus(deps, parked.test);
    return { ok: false, outcome: done('no free slot: pending', parked.ok ? parked.test : test) };
  }
  return { ok: false, outcome: claimLost(result, test) };
}

/** Another writer moved the test first: retry only if it may still need this task. */
function claimLost(
  result: Exclude<TransitionResult, { ok: true }>,
  test: TestRecord,
): RunTestOutcome {
  if (result.reason === 'not_found') return done('unknown test');
  const current = 'current' in result ? result.current : test;
  // Canceled, ended or started by another delivery: nothing left for this task.
  if (isTerminal(current.status) || current.status === 'running') {
    return done(`claim lost: already ${current.status}`, current);
  }
  return retry(`claim lost (${result.reason})`, current);
}

/** DESIGN §6: what the VM reads from its metadata server. */
function vmMetadata(
  deps: RunTestDeps,
  test: TestRecord,
  platform: PlatformConfig,
  token: string,
): Record<string, string> {
  return {
    'vmci-test-id': test.id,
    'vmci-callback-url': functionUrl(deps.config, 'progress'),
    'vmci-token': token,
    'vmci-repo': test.repo,
    'vmci-sha': test.sha,
    'vmci-platform': test.platform,
    'vmci-clone-url': cloneUrlFor(deps.config, test, deps.sourceRoot),
    'vmci-test-command': platform.testCommand,
  };
}

async function markRunning(
  deps: RunTestDeps,
  test: TestRecord,
  instance: TestInstance,
  adopted: boolean,
  deadline: RunDeadline,
): Promise<RunTestOutcome> {
  const now = deps.now();
  const platform = deps.config.platforms[test.platform]!;
  const timeToStartMs = now.getTime() - test.createdAt.getTime();
  const result = await deps.store.transition(test.id, {
    from: ['starting'],
    to: 'running',
    at: now,
    message: VM_STARTED,
    stage: 'preparation',
    patch: {
      instance,
      startedAt: now,
      deadlineAt: new Date(now.getTime() + platform.maxRunMinutes * 60_000),
      leaseExpiresAt: null,
      timeToStartMs,
      tokenHash: hashVmToken(deriveVmToken(deps.tokenSecret, test.id, instance.name)),
    },
  });
  const log = deps.log.child({ testId: test.id, platform: test.platform, instance: instance.name });
  if (!result.ok) {
    log.info('Test moved while its VM started', { reason: result.reason });
    const current = 'current' in result ? result.current : undefined;
    if (current && isTerminal(current.status) && current.deletion?.name === instance.name) {
      // Canceled meanwhile: the cancel recorded this VM for deletion, but its
      // teardown may have run (and found nothing) before the VM existed. Only
      // this handler knows the VM exists now: it deletes it, done or not.
      await teardownTestVm(deps, current, {
        ...teardownOptions(deps, deadline),
        evenIfDone: true,
      });
    } else if (current && current.instance?.name !== instance.name) {
      // A takeover made the test another VM meanwhile: this one is a second
      // VM of the test (DESIGN §3.2), not left to wait for the orphan sweep.
      const deleted = await deps.vms.deleteVm(instance.name, instance.zone, {
        budgetMs: timeLeftMs(deadline, deps.now()),
      });
      log.warn('Deleted a VM its test does not use', {
        zone: instance.zone,
        testVm: current.instance?.name ?? null,
        deleted: deleted.ok,
      });
    }
    return done(`moved while starting (${result.reason})`);
  }
  log.info('VM started', {
    zone: instance.zone,
    provisioning: instance.provisioning,
    adopted,
    timeToStartMs,
  });
  await publishTestStatus(deps, result.test);
  return done(adopted ? 'running (adopted VM)' : 'running', result.test);
}

/** Ends the test `error`, as every end goes (shared/tests/end-test.ts). */
async function fail(
  deps: RunTestDeps,
  test: TestRecord,
  message: string,
  log: RunTestDeps['log'],
): Promise<RunTestOutcome> {
  const ended = await endTest(deps, test, { status: 'error', message });
  if (!ended.ended) return done(`moved meanwhile (${ended.refusal.reason})`);
  log.warn('Test could not run', { statusMessage: message });
  return done('error', ended.test);
}

async function afterFailure(
  deps: RunTestDeps,
  test: TestRecord,
  error: GcpErrorClass,
  request: RunTestRequest,
  log: RunTestDeps['log'],
  { vmMayExist, why }: { vmMayExist: boolean; why?: string },
): Promise<RunTestOutcome> {
  const retriable = error.retriable || error.action === 'adopt';
  const lastAttempt = isLastAttempt(deps, request);
  if (!retriable) return fail(deps, test, error.userMessage, log);
  if (lastAttempt) return fail(deps, test, finalRetriableMessage(error.userMessage), log);
  const now = deps.now();
  if (vmMayExist) {
    // The VM may exist or still come up: keep the claim (and the slot, so the
    // cap holds) but let the next delivery take it over at once and look for the VM.
    const held = await deps.store.transition(test.id, {
      from: ['starting'],
      to: 'starting',
      at: now,
      message: error.userMessage,
      patch: { leaseExpiresAt: now },
    });
    if (!held.ok) return done(`moved meanwhile (${held.reason})`);
    await publishTestStatus(deps, held.test);
    return retry(`${error.code}: retry, looking for the VM first${because(why)}`, held.test);
  }
  // No VM was made: give the slot back and wait in the queue for the retry.
  const back = await deps.store.transition(test.id, {
    from: ['starting'],
    to: 'queued',
    at: now,
    message: error.userMessage,
    patch: { instance: null, leaseExpiresAt: null },
    slot: { op: 'release' },
  });
  if (!back.ok) return done(`moved meanwhile (${back.reason})`);
  await publishTestStatus(deps, back.test);
  return retry(`${error.code}: retry later${because(why)}`, back.test);
}

const because = (why: string | undefined): string => (why ? ` (${why})` : '');

/**
 * Deletes an ended test's VM. A deletion still running or failed retriably
 * asks the queue to come back (503), within its attempts; after them the
 * expired sweep finishes the deletion.
 */
async function teardown(
  deps: RunTestDeps,
  test: TestRecord,
  request: RunTestRequest,
  deadline: RunDeadline,
): Promise<RunTestOutcome> {
  const outcome = await teardownTestVm(deps, test, teardownOptions(deps, deadline));
  if (outcome.outcome === 'gone' || outcome.outcome === 'nothing') return done('VM deleted', test);
  const again = outcome.outcome === 'deleting' || outcome.error.retriable;
  if (again && !isLastAttempt(deps, request)) return retry(`VM deletion ${outcome.outcome}`, test);
  deps.log
    .child({ testId: test.id, instance: outcome.deletion.name })
    .error('VM deletion not finished; left to the expired sweep', {
      attempts: outcome.deletion.attempts,
      outcome: outcome.outcome,
    });
  return done(`VM deletion ${outcome.outcome}`, test);
}

/** How runTest deletes a VM: within what is left of the delivery, backing off as configured. */
function teardownOptions(
  deps: RunTestDeps,
  deadline: RunDeadline,
): { budgetMs: number; backoffBaseMs: number } {
  return {
    budgetMs: timeLeftMs(deadline, deps.now()),
    backoffBaseMs: deps.config.sweeps.deletionBackoffSeconds * 1000,
  };
}

/** The queue will not deliver this task again after this attempt. */
function isLastAttempt(deps: RunTestDeps, request: RunTestRequest): boolean {
  return request.retryCount + 1 >= deps.config.queue.maxAttempts;
}
