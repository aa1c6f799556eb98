// `vmci queue`: per platform, what waits and what runs (platformSummaries),
// and how many tasks the Cloud Tasks queue holds.
import { CloudTasksClient } from '@google-cloud/tasks';
import type { Runtime } from '../../../shared/runtime/env';
import { platformSummaries, type PlatformSummary } from '../../../shared/tests/platform-summary';
import type { Command } from '../command';
import { oneLine, UsageError } from '../errors';
import { age, table } from '../format';
import { openStore } from '../services';

/** Tasks counted before the depth is shown as "at least". */
const DEPTH_LIMIT = 10_000;

export const queueCommand: Command = {
  name: 'queue',
  summary: 'per platform: waiting, pending, queued, starting, running, slots, maintenance',
  usage: `vmci queue [--json]

Per platform: how many tests wait (waiting), are ready without a task
(pending), have a task (queued), are starting or running, the slots in use of
maxConcurrent, whether the platform is in maintenance (its switch, else the
configuration's flag) and how long the oldest test not yet started has waited;
then the depth of the Cloud Tasks queue (runs and VM deletions).`,
  options: { json: { type: 'boolean' } },
  check({ positionals }) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  },
  async run({ values }, ctx, output, cli) {
    const services = openStore(ctx, output, cli);
    try {
      const [summaries, depth] = await Promise.all([
        platformSummaries({ store: services.store, config: services.config }),
        queueDepth(services.runtime),
      ]);
      const queue = services.config.queue.name;
      if (values.json) {
        output.out(
          JSON.stringify(
            {
              platforms: summaries.map((s) => ({
                ...s,
                oldestWaitingAt: s.oldestWaitingAt?.toISOString() ?? null,
              })),
              queue: { name: queue, ...depth },
            },
            null,
            2,
          ),
        );
        return 0;
      }
      const now = services.now();
      const rows = summaries.map((s: PlatformSummary) => [
        s.platform,
        String(s.counts.waiting),
        String(s.counts.pending),
        String(s.counts.queued),
        String(s.counts.starting),
        String(s.counts.running),
        `${s.slotsInUse}/${s.maxConcurrent}`,
        s.maintenance ? 'on' : 'off',
        s.oldestWaitingAt ? age(s.oldestWaitingAt, now) : '-',
      ]);
      const header = [
        'PLATFORM',
        'WAITING',
        'PENDING',
        'QUEUED',
        'STARTING',
        'RUNNING',
        'SLOTS',
        'MAINTENANCE',
        'OLDEST WAIT',
      ];
      for (const line of table(header, rows, output.columns)) output.out(line);
      const tasks =
        depth.tasks === null
          ? `unknown (${depth.error})`
          : `${depth.complete ? '' : 'at least '}${depth.tasks}`;
      output.out(`Cloud Tasks queue ${queue}: ${tasks} task${depth.tasks === 1 ? '' : 's'}`);
      return 0;
    } finally {
      await services.close();
    }
  },
};

export interface QueueDepth {
  /** null: the queue could not be listed. */
  tasks: number | null;
  /** false: more than DEPTH_LIMIT, not all counted. */
  complete: boolean;
  error?: string;
}

/** The queue's tasks, counted with listTasks through the functions' client options. */
async function queueDepth(runtime: Runtime): Promise<QueueDepth> {
  const { config } = runtime;
  const client = new CloudTasksClient(runtime.googleClientOptions());
  try {
    const parent = client.queuePath(config.project, config.region, config.queue.name);
    let tasks = 0;
    for await (const task of client.listTasksAsync(
      { parent, pageSize: 1000 },
      { autoPaginate: false },
    )) {
      void task;
      tasks += 1;
      if (tasks >= DEPTH_LIMIT) return { tasks, complete: false };
    }
    return { tasks, complete: true };
  } catch (error) {
    const message = oneLine(error);
    return { tasks: null, complete: false, error: message };
  } finally {
    await client.close().catch(() => {});
  }
}
