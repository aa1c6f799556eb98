// The expired sweep's look at Compute: every VM labelled `vmci` in the
// configured zones, matched with the test its metadata names (classify-vm.ts),
// and every long-running test matched with its VM. The reads grow with the
// VMs that exist, not with the tests ever run.
import type { VmInfo } from '../compute/port';
import { VM_GONE_WITHOUT_RESULT, VM_STOPPED_WITHOUT_RESULT } from '../domain/messages';
import { deletionRequestId, deploymentLabel } from '../domain/naming';
import type { TestRecord } from '../domain/test';
import { endTest } from '../tests/end-test';
import { classifyVm } from './classify-vm';
import {
  addCounts,
  COMPUTE_CONCURRENCY,
  eachCandidate,
  forEachLimited,
  noCounts,
  type StepCounts,
  type SweepExpiredDeps,
} from './deps';

/** Most VMs one run looks at. */
export const VM_LIST_LIMIT = 500;
/** Sweeps within one window name their deletion of a VM alike: one Compute operation. */
export const ORPHAN_WINDOW_MS = 5 * 60_000;

export interface VmSweepSummary {
  /** VMs listed (labelled vmci, in the configured zones). */
  listed: number;
  /** VMs that no live test owns: deleted. */
  orphans: StepCounts;
  /** Running tests whose VM powered off or vanished without a result: ended `error`. */
  lost: StepCounts;
}

export async function sweepVms(deps: SweepExpiredDeps): Promise<VmSweepSummary> {
  const summary: VmSweepSummary = { listed: 0, orphans: noCounts(), lost: noCounts() };
  const zones = [...new Set(Object.values(deps.config.platforms).flatMap((p) => p.zones))];
  const deployment = deploymentLabel(deps.config.publicUrl);
  const listedAt = deps.now();
  const listed = await deps.vms.listVms({ zones, limit: VM_LIST_LIMIT });
  if (!listed.ok) {
    deps.log.warn('Could not list the VMs; orphans wait for the next run', {
      code: listed.error.code,
      detail: listed.error.detail,
    });
    summary.orphans.errors = 1;
    return summary;
  }
  summary.listed = listed.vms.length;
  const graceMs = deps.config.sweeps.orphanGraceMinutes * 60_000;
  await forEachLimited(listed.vms, COMPUTE_CONCURRENCY, async (vm) => {
    try {
      const test = vm.testId ? await deps.store.getTest(vm.testId) : null;
      const verdict = classifyVm(vm, test, listedAt, graceMs, deployment);
      if (verdict.action === 'keep') return;
      const counts = verdict.action === 'delete' ? summary.orphans : summary.lost;
      counts.found += 1;
      const outcome =
        verdict.action === 'delete'
          ? await deleteOrphan(deps, vm, verdict.why, listedAt)
          : await endLostTest(deps, test!, VM_STOPPED_WITHOUT_RESULT, vm);
      counts[outcome === 'failed' ? 'errors' : outcome] += 1;
    } catch (error) {
      summary.orphans.errors += 1;
      deps.log.error('Sweep step vms failed for one VM', { instance: vm.name, error });
    }
  });
  summary.orphans.more = listed.vms.length >= VM_LIST_LIMIT;
  // Only a complete list can tell that a VM is missing from it.
  if (!summary.orphans.more) {
    const vanished = await endVanished(deps, new Set(listed.vms.map(vmKey)), graceMs);
    summary.lost = addCounts(summary.lost, vanished);
  }
  return summary;
}

const vmKey = (vm: { name: string; zone: string }) => `${vm.zone}/${vm.name}`;

async function deleteOrphan(
  deps: SweepExpiredDeps,
  vm: VmInfo,
  why: string,
  now: Date,
): Promise<'done' | 'failed'> {
  const window = String(Math.floor(now.getTime() / ORPHAN_WINDOW_MS));
  const deleted = await deps.vms.deleteVm(vm.name, vm.zone, {
    requestId: deletionRequestId(vm.name, vm.zone, `orphan/${window}`),
    budgetMs: deps.deleteBudgetMs,
  });
  const log = deps.log.child({ instance: vm.name, ...(vm.testId ? { testId: vm.testId } : {}) });
  if (!deleted.ok) {
    log.warn('Orphan VM not deleted; the next run tries again', {
      zone: vm.zone,
      why,
      code: deleted.error.code,
      detail: deleted.error.detail,
    });
    return 'failed';
  }
  log.warn('Orphan VM deleted', { zone: vm.zone, why, vmStatus: vm.status, gone: deleted.gone });
  return 'done';
}

async function endLostTest(
  deps: SweepExpiredDeps,
  test: TestRecord,
  message: string,
  vm: { name: string; status?: string },
): Promise<'done' | 'skipped'> {
  // Only the state read: a report that lands meanwhile wins, and this end loses.
  const ended = await endTest(deps, test, { status: 'error', message }, { stage: test.stage });
  if (!ended.ended) return 'skipped';
  deps.log
    .child({ testId: test.id, platform: test.platform, instance: vm.name })
    .warn('Test VM ended without a result', {
      vmStatus: vm.status ?? 'gone',
      statusMessage: message,
    });
  return 'done';
}

/**
 * Running tests not heard from for the grace period whose VM is not among the
 * listed ones: asked for once more, and ended if Compute has no such VM.
 */
async function endVanished(
  deps: SweepExpiredDeps,
  listed: ReadonlySet<string>,
  graceMs: number,
): Promise<StepCounts> {
  const limit = deps.config.sweeps.expiredBatch;
  const updatedBefore = new Date(deps.now().getTime() - graceMs);
  const running = await deps.store.listByStatus('running', { limit, updatedBefore });
  const missing = running.filter((t) => t.instance && !listed.has(vmKey(t.instance)));
  const counts = await eachCandidate(
    deps.log,
    'vanished',
    missing,
    limit,
    async (test) => {
      const found = await deps.vms.getVm(test.instance!.name, test.instance!.zone);
      if ('error' in found) return 'failed';
      if (found.found) return 'skipped';
      return endLostTest(deps, test, VM_GONE_WITHOUT_RESULT, test.instance!);
    },
    COMPUTE_CONCURRENCY,
  );
  return { ...counts, more: running.length >= limit };
}
