// Per platform, what is in flight and what waits (the status page and
// `vmci queue`): counts per live status, slots in use of maxConcurrent, the
// maintenance in force (switches over the file), and since when the oldest
// test not yet started has been waiting.
import { applySwitches } from '../config/switches';
import type { VmciConfig } from '../config/schema';
import type { TestStatus } from '../domain/test';
import type { TestStore } from '../store/port';

export const SUMMARY_STATUSES = [
  'waiting',
  'pending',
  'queued',
  'starting',
  'running',
] as const satisfies readonly TestStatus[];
export type SummaryStatus = (typeof SUMMARY_STATUSES)[number];

export interface PlatformSummary {
  platform: string;
  maintenance: boolean;
  maxConcurrent: number;
  /** Tests holding one of the platform's slots. */
  slotsInUse: number;
  counts: Record<SummaryStatus, number>;
  /** When the longest-waiting test that has not started (waiting, pending or queued) last changed; null: none. */
  oldestWaitingAt: Date | null;
}

type SummaryStore = Pick<
  TestStore,
  'countByStatus' | 'slotHolders' | 'listByStatus' | 'listPlatformSwitches'
>;

export async function platformSummaries(deps: {
  store: SummaryStore;
  config: VmciConfig;
}): Promise<PlatformSummary[]> {
  const config = applySwitches(deps.config, await deps.store.listPlatformSwitches());
  return Promise.all(
    Object.entries(config.platforms).map(([platform, settings]) =>
      summaryOf(deps.store, platform, settings),
    ),
  );
}

async function summaryOf(
  store: SummaryStore,
  platform: string,
  settings: VmciConfig['platforms'][string],
): Promise<PlatformSummary> {
  const [counts, holders, oldest] = await Promise.all([
    Promise.all(SUMMARY_STATUSES.map((status) => store.countByStatus(platform, status))),
    store.slotHolders(platform),
    Promise.all(
      (['waiting', 'pending', 'queued'] as const).map((status) =>
        store.listByStatus(status, { platform, limit: 1 }),
      ),
    ),
  ]);
  const since = oldest
    .flat()
    .map((test) => test.updatedAt.getTime())
    .sort((a, b) => a - b)[0];
  return {
    platform,
    maintenance: settings.maintenance,
    maxConcurrent: settings.maxConcurrent,
    slotsInUse: holders.length,
    counts: Object.fromEntries(
      SUMMARY_STATUSES.map((status, i) => [status, counts[i] ?? 0]),
    ) as Record<SummaryStatus, number>,
    oldestWaitingAt: since === undefined ? null : new Date(since),
  };
}
