// The Compute stand-in's timer mode (boot: 'timer'): a VM runs no process and
// reports its stages to its callback URL on timers, with retries, then powers
// off. Through the whole local cloud, a push reaches `passed`.
import childProcess from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Firestore } from '@google-cloud/firestore';
import { examplePayload, sendWebhook } from '../../infra/local/send-webhook';
import { emulatorFirestore } from '../../infra/local/emulator-client';
import { createFirestoreStore } from '../../shared/store/firestore';
import type { TestRecord } from '../../shared/domain/test';
import { useLocalCloud } from '../support/local-cloud';
import { startCompute, type ComputeHarness } from './compute-setup';

jest.setTimeout(60_000);

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// --- the stand-in alone, against a callback server that records the reports -------------

interface Received {
  auth: string | undefined;
  body: { testId: string; stage: string; result?: unknown };
}

describe('timer VMs against a callback server', () => {
  let server: Server;
  let callback: string;
  const received: Received[] = [];
  /** Answers per request, in order; 200 once they run out. */
  let answers: number[] = [];
  let harness: ComputeHarness | undefined;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({
          auth: req.headers.authorization,
          body: JSON.parse(Buffer.concat(chunks).toString()) as Received['body'],
        });
        res.writeHead(answers.shift() ?? 200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    callback = `http://127.0.0.1:${(server.address() as AddressInfo).port}/progress`;
  });
  beforeEach(() => {
    received.length = 0;
    answers = [];
  });
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const vm = (name: string) => ({
    name,
    metadata: {
      items: [
        { key: 'vmci-test-id', value: `test-${name}` },
        { key: 'vmci-callback-url', value: callback },
        { key: 'vmci-token', value: 'the-token' },
        { key: 'startup-script', value: 'echo never run' },
      ],
    },
  });

  it('reports preparation, testing, completed in order with its token, then powers off', async () => {
    harness = await startCompute({ boot: 'timer', timerVm: { reportDelayMs: 5 } });
    await harness.create(vm('timer-a'));
    const end = await harness.compute.whenTerminated('timer-a');
    expect(end).toEqual({ status: 'TERMINATED', exitCode: 0, signal: null });
    expect(received.map((r) => r.body.stage)).toEqual(['preparation', 'testing', 'completed']);
    expect(received.every((r) => r.auth === 'Bearer the-token')).toBe(true);
    expect(received.every((r) => r.body.testId === 'test-timer-a')).toBe(true);
    expect(received[2]!.body.result).toEqual({
      exitCode: 0,
      passed: 1,
      failed: 0,
      summary: '1 passed, 0 failed',
    });
    // Still listed, TERMINATED, with no process, until deleted.
    expect(harness.compute.instances()).toMatchObject([
      { name: 'timer-a', status: 'TERMINATED', pid: null },
    ]);
    expect(harness.compute.consoleOutput('timer-a')).not.toContain('never run');
  });

  it('retries a report on 5xx and 429, and reports the configured result', async () => {
    answers = [503, 429, 200, 500, 200];
    const result = { exitCode: 1, passed: 3, failed: 2, summary: '3 passed, 2 failed' };
    harness = await startCompute({
      boot: 'timer',
      timerVm: { reportDelayMs: 5, retryDelayMs: 5, attempts: 3, result },
    });
    await harness.create(vm('timer-b'));
    await harness.compute.whenTerminated('timer-b');
    expect(received.map((r) => r.body.stage)).toEqual([
      'preparation',
      'preparation',
      'preparation',
      'testing',
      'testing',
      'completed',
    ]);
    expect(received[5]!.body.result).toEqual(result);
    expect(harness.compute.consoleOutput('timer-b')).toContain('HTTP 503, retrying');
  });

  it('powers off at once on a 409, as the script does', async () => {
    answers = [409];
    harness = await startCompute({ boot: 'timer', timerVm: { reportDelayMs: 5 } });
    await harness.create(vm('timer-c'));
    const end = await harness.compute.whenTerminated('timer-c');
    expect(end.status).toBe('TERMINATED');
    expect(received.map((r) => r.body.stage)).toEqual(['preparation']);
  });

  it('stops reporting once the VM is deleted', async () => {
    harness = await startCompute({ boot: 'timer', timerVm: { reportDelayMs: 200 } });
    await harness.create(vm('timer-d'));
    await harness.waitDone(await harness.del('timer-d'));
    expect((await harness.compute.whenTerminated('timer-d')).status).toBe('DELETED');
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(received).toEqual([]);
  });
});

// --- through the local cloud ----------------------------------------------------------------

describe('a push through the local cloud with timer VMs', () => {
  const handle = useLocalCloud({ bootVms: 'timer' });
  let db: Firestore | undefined;
  afterAll(async () => {
    await db?.terminate();
  });

  it('reaches passed on every platform, with the reports in order and no process spawned', async () => {
    const { cloud } = handle;
    db = emulatorFirestore(cloud.firestore);
    const store = createFirestoreStore({ db });
    const spawn = jest.spyOn(childProcess, 'spawn');
    try {
      const { event, payload } = examplePayload('push');
      const answer = await sendWebhook({
        url: `${cloud.url}/webhook`,
        secret: cloud.webhookSecret,
        event,
        payload: { ...payload, after: 'a1'.repeat(20) },
      });
      expect(answer.status).toBe(202);
      const ids = (JSON.parse(answer.body) as { tests: string[] }).tests;
      expect(ids).toHaveLength(2);
      const tests = await Promise.all(
        ids.map((id) =>
          until(`test ${id} to end`, async () => {
            const test = await store.getTest(id);
            return test?.finishedAt ? test : undefined;
          }),
        ),
      );
      for (const test of tests as TestRecord[]) {
        expect(test.status).toBe('passed');
        expect(test.result).toMatchObject({ exitCode: 0, passed: 1, failed: 0 });
        const steps: string[] = test.timeline.map((t) => t.stage ?? t.status);
        const order = ['preparation', 'testing', 'passed'].map((s) => steps.indexOf(s));
        expect(order.every((i) => i >= 0)).toBe(true);
        expect([...order].sort((a, b) => a - b)).toEqual(order);
        const console = cloud.compute.consoleOutput(test.instance!.name);
        expect(console).toMatch(/report preparation\n.*report testing\n.*report completed/s);
      }
      // The VMs are gone (progress deletes a finished test's VM).
      await until('every VM to be deleted', () =>
        cloud.compute.instances().length === 0 ? true : undefined,
      );
      expect(spawn).not.toHaveBeenCalled();
    } finally {
      spawn.mockRestore();
    }
  });
});
