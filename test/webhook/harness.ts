// handleWebhookEvent on in-memory doubles: the store, the queue, the commit
// status port and the GitHub lookup port, with pull_request events built from
// the real example payloads.
import { createMemoryCommentPort } from '../../shared/github/memory-comments';
import { createMemoryLookupPort } from '../../shared/github/memory-lookups';
import { createMemoryStatusPort } from '../../shared/github/memory-statuses';
import { createMemoryQueue } from '../../shared/queue/memory';
import { createMemoryStore } from '../../shared/store/memory';
import type { HandleEventDeps } from '../../shared/webhook/handle-event';
import type { WebhookEvent } from '../../shared/webhook/events';
import type { Change } from '../config/fixtures';
import { captureLog } from '../support/capture-log';
import { configWith, eventOf, example, NOW, REPO } from './fixtures';

export function harness(...changes: readonly Change[]) {
  const store = createMemoryStore();
  const queue = createMemoryQueue();
  const statuses = createMemoryStatusPort();
  const github = createMemoryLookupPort();
  const comments = createMemoryCommentPort();
  const capture = captureLog();
  const deps: HandleEventDeps = {
    store,
    queue,
    statuses,
    github,
    comments,
    log: capture.log,
    now: () => NOW,
    statusContext: 'ci/{platform}',
    publicUrl: 'https://ci.example.com',
    config: configWith(['repositories', [REPO]], ['sweeps.deliveryTtlHours', 5], ...changes),
  };
  return { deps, store, queue, statuses, github, comments, capture };
}

export type Harness = ReturnType<typeof harness>;

/** The pull_request examples' number. */
export const PR = 2;

let deliveries = 0;

export interface PrOptions {
  /** pull_request.updated_at; default the example's. */
  updatedAt?: string;
  /** The PR author's association; default CONTRIBUTOR (a fork's author). */
  association?: string;
  labels?: string[];
  /** labeled: the label just added. */
  label?: string;
  sender?: string;
  senderType?: string;
  delivery?: string;
}

/** A pull_request event of `action` for head `sha`, by `contributor` from a fork. */
export function prEvent(action: string, sha: string, options: PrOptions = {}): WebhookEvent {
  const changes: Change[] = [
    ['action', action],
    ['pull_request.head.sha', sha],
    ['pull_request.user.login', 'contributor'],
    ['pull_request.author_association', options.association ?? 'CONTRIBUTOR'],
    ['pull_request.head.repo.full_name', 'contributor/Hello-World'],
    ['pull_request.head.repo.clone_url', 'https://github.com/contributor/Hello-World.git'],
    ['pull_request.labels', (options.labels ?? []).map((name) => ({ name }))],
  ];
  if (options.updatedAt !== undefined) {
    changes.push(['pull_request.updated_at', options.updatedAt]);
  }
  if (options.label !== undefined) changes.push(['label', { name: options.label }]);
  if (options.sender !== undefined) changes.push(['sender.login', options.sender]);
  if (options.senderType !== undefined) changes.push(['sender.type', options.senderType]);
  const payload = example('pull_request', 'opened', ...changes);
  return eventOf('pull_request', payload, options.delivery ?? `delivery-${++deliveries}`);
}

/** The status, wait reason and message of each of the commit's PR tests, by platform. */
export async function shown(h: Harness, sha: string) {
  const tests = await h.store.listBySha(REPO, sha);
  return Object.fromEntries(
    tests.map((t) => [
      t.platform,
      { status: t.status, waitReason: t.waitReason, message: t.message },
    ]),
  );
}

/** Tasks in the queue, by test id. */
export const taskIds = (h: Harness) => h.queue.tasks().map((task) => task.testId);

/**
 * Holds the next createTests call that writes tests until `release()`:
 * `reached` resolves when it is held. Lets a test run another event in between.
 */
export function holdCreates(h: Harness): { reached: Promise<void>; release(): void } {
  const store = h.deps.store;
  let reach!: () => void;
  let release!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  let held = false;
  const hold = async (count: number) => {
    if (!held && count > 0) {
      held = true;
      reach();
      await released;
    }
  };
  h.deps.store = {
    ...store,
    async createTests(tests) {
      await hold(tests.length);
      return store.createTests(tests);
    },
    // A push's tests are written with its delivery's answer.
    async createTestsForDelivery(tests, deliveries) {
      await hold(tests.length);
      return store.createTestsForDelivery(tests, deliveries);
    },
  };
  return { reached, release };
}
