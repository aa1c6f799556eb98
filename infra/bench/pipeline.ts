// What the start and burst scenarios share: a cloud whose queue runs and whose
// platforms take many tests at once, and the tests of a set of pushes with the
// moments their VM insert was requested and they became `running`.
import type { VmciConfig } from '../../shared/config';
import type { TestRecord } from '../../shared/domain/test';
import type { TestStore } from '../../shared/store/port';
import type { ComputeCall } from '../local/compute/calls';
import { startBenchCloud, type BenchCloud } from './cloud';
import { PUSH_REPO } from './pushes';

/** Every platform's maxConcurrent raised, so that no test waits for a slot. */
export function manySlots(maxConcurrent: number) {
  return (config: VmciConfig): VmciConfig => ({
    ...config,
    platforms: Object.fromEntries(
      Object.entries(config.platforms).map(([name, platform]) => [
        name,
        { ...platform, maxConcurrent },
      ]),
    ),
  });
}

/** A cloud with every function, the queue running, VMs that "boot" at once (no script). */
export function startPipelineCloud(maxConcurrent: number): Promise<BenchCloud> {
  return startBenchCloud({ bootVms: false, configure: manySlots(maxConcurrent) });
}

export interface TestTimes {
  test: TestRecord;
  /** Epoch ms of the first accepted insert of the test's VM; undefined when none yet. */
  insertAt?: number;
  /** Epoch ms of the test's move to `running` (its timeline); undefined when not yet. */
  runningAt?: number;
}

/** The tests of the pushed shas (all platforms). */
export async function testsOf(store: TestStore, shas: readonly string[]): Promise<TestRecord[]> {
  const lists = await Promise.all(
    shas.map((sha) => store.listBySha(PUSH_REPO, sha, { limit: 50 })),
  );
  return lists.flat();
}

/** Accepted inserts (new operations), by instance name. */
export function insertsByName(calls: readonly ComputeCall[]): Map<string, ComputeCall[]> {
  const byName = new Map<string, ComputeCall[]>();
  for (const call of calls) {
    if (call.method !== 'insert' || call.outcome !== 'new_operation') continue;
    byName.set(call.name, [...(byName.get(call.name) ?? []), call]);
  }
  return byName;
}

export function timesOf(tests: readonly TestRecord[], calls: readonly ComputeCall[]): TestTimes[] {
  const inserts = insertsByName(calls);
  return tests.map((test) => {
    const insert = test.instance ? inserts.get(test.instance.name)?.[0] : undefined;
    const running = test.timeline.find((entry) => entry.status === 'running');
    return {
      test,
      ...(insert ? { insertAt: insert.at.getTime() } : {}),
      ...(running ? { runningAt: running.at.getTime() } : {}),
    };
  });
}
