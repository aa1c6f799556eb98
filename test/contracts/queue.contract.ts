// The TaskQueue contract: one suite every adapter must pass
// (test/queue/queue.test.ts runs it on the in-memory double and on Cloud
// Tasks through the real client against the local stand-in).
import { taskId } from '../../shared/domain/naming';
import type { TaskQueue } from '../../shared/queue/port';

export interface QueueUnderTest {
  queue: TaskQueue;
  /** projects/P/locations/L/queues/Q: task names are `${queuePath}/tasks/${taskId}`. */
  queuePath: string;
  /** Names of the tasks alive in the queue now. */
  taskNames(): Promise<string[]>;
  /** Every task in the queue runs, its handler answers 2xx, and it is gone. */
  dispatchAll(): Promise<void>;
  /** The task is removed without running (deleted, or given up on). */
  remove(taskName: string): Promise<void>;
  /** The adapter's per-call timeout. */
  timeoutMs: number;
  cleanup(): Promise<void>;
}

/** `working`: a queue that accepts tasks and holds them until dispatchAll. */
export type QueueKind = 'working' | 'unknown_queue' | 'unreachable';
export type MakeQueue = (kind: QueueKind) => Promise<QueueUnderTest>;

const TEST_ID = 'ccextractor-ccextractor-0123abc-linux-push-r1-3f9c0a1b2c3d4e5f';
const OTHER_ID = 'ccextractor-ccextractor-0123abc-windows-push-r1-0011223344556677';

export function defineQueueContractTests(name: string, makeQueue: MakeQueue): void {
  describe(`TaskQueue contract (${name})`, () => {
    const open: QueueUnderTest[] = [];
    const use = async (kind: QueueKind = 'working'): Promise<QueueUnderTest> => {
      const q = await makeQueue(kind);
      open.push(q);
      return q;
    };
    afterEach(async () => {
      for (const q of open.splice(0)) await q.cleanup();
    });

    it('creates the task under the name derived from the test id and generation', async () => {
      const q = await use();
      const result = await q.queue.enqueue({ testId: TEST_ID, generation: 1 });
      const expected = `${q.queuePath}/tasks/${taskId(TEST_ID, 1)}`;
      expect(result).toEqual({ ok: true, taskName: expected, created: true });
      expect(await q.taskNames()).toEqual([expected]);
    });

    it('makes one task of the same request twice: the second answers created: false', async () => {
      const q = await use();
      const first = await q.queue.enqueue({ testId: TEST_ID, generation: 1 });
      const second = await q.queue.enqueue({ testId: TEST_ID, generation: 1 });
      expect(first).toMatchObject({ ok: true, created: true });
      expect(second).toEqual({ ...first, created: false });
      expect(await q.taskNames()).toHaveLength(1);
    });

    it('makes one task of racing identical requests', async () => {
      const q = await use();
      const results = await Promise.all(
        Array.from({ length: 5 }, () => q.queue.enqueue({ testId: TEST_ID, generation: 1 })),
      );
      expect(results.every((r) => r.ok)).toBe(true);
      expect(results.filter((r) => r.ok && r.created)).toHaveLength(1);
      expect(await q.taskNames()).toHaveLength(1);
    });

    it('makes a second, different task for a new generation or another test', async () => {
      const q = await use();
      const g1 = await q.queue.enqueue({ testId: TEST_ID, generation: 1 });
      const g2 = await q.queue.enqueue({ testId: TEST_ID, generation: 2 });
      const other = await q.queue.enqueue({ testId: OTHER_ID, generation: 1 });
      const names = [g1, g2, other].map((r) => (r.ok ? r.taskName : r.code));
      expect([g1, g2, other].every((r) => r.ok && r.created)).toBe(true);
      expect(new Set(names).size).toBe(3);
      expect((await q.taskNames()).sort()).toEqual([...names].sort());
    });

    it('tells whether a generation has a task: exists, then missing once it ran', async () => {
      const q = await use();
      await q.queue.enqueue({ testId: TEST_ID, generation: 1 });
      expect(await q.queue.taskState({ testId: TEST_ID, generation: 1 })).toBe('exists');
      expect(await q.queue.taskState({ testId: TEST_ID, generation: 2 })).toBe('missing');
      expect(await q.queue.taskState({ testId: OTHER_ID, generation: 1 })).toBe('missing');

      await q.dispatchAll();
      expect(await q.taskNames()).toEqual([]);
      expect(await q.queue.taskState({ testId: TEST_ID, generation: 1 })).toBe('missing');
    });

    it('keeps a finished task name taken: enqueueing it again creates nothing', async () => {
      const q = await use();
      await q.queue.enqueue({ testId: TEST_ID, generation: 1 });
      await q.dispatchAll();
      const again = await q.queue.enqueue({ testId: TEST_ID, generation: 1 });
      expect(again).toMatchObject({ ok: true, created: false });
      expect(await q.taskNames()).toEqual([]);
    });

    it('answers missing for a removed task and keeps its name taken', async () => {
      const q = await use();
      const created = await q.queue.enqueue({ testId: TEST_ID, generation: 1 });
      if (!created.ok) throw new Error(`enqueue failed: ${created.detail}`);
      await q.remove(created.taskName);
      expect(await q.queue.taskState({ testId: TEST_ID, generation: 1 })).toBe('missing');
      expect(await q.queue.enqueue({ testId: TEST_ID, generation: 1 })).toMatchObject({
        ok: true,
        created: false,
      });
      // The next generation is a new name, so it is created.
      expect(await q.queue.enqueue({ testId: TEST_ID, generation: 2 })).toMatchObject({
        ok: true,
        created: true,
      });
    });

    it('throws for a generation that names no task (0) or a test id unfit for a name', async () => {
      const q = await use();
      await expect(q.queue.enqueue({ testId: TEST_ID, generation: 0 })).rejects.toThrow(RangeError);
      await expect(q.queue.taskState({ testId: 'a/b', generation: 1 })).rejects.toThrow(RangeError);
    });

    it('reports an unknown queue as a failure that retrying will not fix', async () => {
      const q = await use('unknown_queue');
      const result = await q.queue.enqueue({ testId: TEST_ID, generation: 1 });
      expect(result).toMatchObject({ ok: false, retriable: false, code: 'NOT_FOUND' });
      expect(result.ok === false && result.detail.length > 0).toBe(true);
      expect(await q.taskNames()).toEqual([]);
      // Cloud Tasks answers NOT_FOUND for the task of a missing queue as well.
      expect(await q.queue.taskState({ testId: TEST_ID, generation: 1 })).toBe('missing');
    });

    it('reports an unreachable queue as retriable, within the call timeout', async () => {
      const q = await use('unreachable');
      const started = Date.now();
      const result = await q.queue.enqueue({ testId: TEST_ID, generation: 1 });
      expect(result).toMatchObject({ ok: false, retriable: true });
      expect(await q.taskNames()).toEqual([]);
      expect(await q.queue.taskState({ testId: TEST_ID, generation: 1 })).toBe('unknown');
      // Two calls, each bounded by the timeout; the slack is for a busy machine.
      expect(Date.now() - started).toBeLessThan(2 * q.timeoutMs + 3_000);
    });
  });
}
