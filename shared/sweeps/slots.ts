// Puts each platform's capacity slots right (DESIGN §3.5): a slot held for a
// test that is not starting or running is given back, and a starting or
// running test without its slot gets it back, so the count the cap is checked
// against is the count of VMs in use. The store decides each one in a
// transaction with the test and every shard of the platform's slots, so a
// claim racing this sweep is never undone. A lowered maxConcurrent evicts no
// holder: after a decrease the platform may hold more than it until holders end.
// The shards' caps sum to maxConcurrent, so fewer holders than maxConcurrent
// means some shard has room: `freed` below is room a claim can take.
import { MAX_LIST_LIMIT } from '../store/port';
import { startNextPending } from '../tests/after-end';
import { addCounts, noCounts, type StepCounts, type SweepExpiredDeps } from './deps';

export async function reconcileSlots(deps: SweepExpiredDeps): Promise<StepCounts> {
  let total = noCounts();
  for (const platform of Object.keys(deps.config.platforms)) {
    total = addCounts(total, await reconcilePlatform(deps, platform));
  }
  return total;
}

async function reconcilePlatform(deps: SweepExpiredDeps, platform: string): Promise<StepCounts> {
  const counts = noCounts();
  const { maxConcurrent } = deps.config.platforms[platform]!;
  const limit = Math.min(MAX_LIST_LIMIT, maxConcurrent + deps.config.sweeps.expiredBatch);
  const holders = new Set(await deps.store.slotHolders(platform));
  const live = new Set<string>();
  for (const status of ['starting', 'running'] as const) {
    const tests = await deps.store.listByStatus(status, { platform, limit });
    counts.more ||= tests.length >= limit;
    for (const test of tests) live.add(test.id);
  }
  const suspects = [
    ...[...holders].filter((id) => !live.has(id)),
    ...[...live].filter((id) => !holders.has(id)),
  ];
  counts.found = suspects.length;
  let released = 0;
  let holdersAfter = holders.size;
  for (const testId of suspects) {
    try {
      const fixed = await deps.store.reconcileSlot(platform, testId, deps.now());
      if (fixed.change === 'none') {
        counts.skipped += 1;
        continue;
      }
      counts.done += 1;
      holdersAfter = fixed.holders;
      if (fixed.change === 'released') released += 1;
      deps.log.child({ testId, platform }).warn('Capacity slot corrected', {
        change: fixed.change,
        holders: fixed.holders,
        maxConcurrent,
      });
    } catch (error) {
      counts.errors += 1;
      deps.log.error('Could not correct a capacity slot', { platform, testId, error });
    }
  }
  // A slot given back here is free now, not at the next pending sweep; one
  // given back while another was restored frees nothing.
  const freed = Math.min(released, maxConcurrent - holdersAfter);
  for (let i = 0; i < freed; i += 1) {
    if (!(await startNextPending(deps, platform))) break;
  }
  return counts;
}
