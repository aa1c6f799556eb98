// npm run bench --short --only webhook,start,burst,cost, in-process: it writes its
// JSON, prints a line per figure, the burst creates no VM twice, the peer
// yardstick and the Firestore counts are there and sane. No figure is timed
// against a target here: only that each is a finite number.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setModuleIsolation } from '../../infra/bench/cloud';
import { addFirestoreModule } from '../../infra/bench/firestore-ops';
import { runBench } from '../../infra/bench/cli';
import type { BenchRecord } from '../../infra/bench/results';
import type * as FirestoreModule from '@google-cloud/firestore';

jest.setTimeout(300_000);

const dir = mkdtempSync(join(tmpdir(), 'vmci-bench-test-'));

beforeAll(() => {
  // Each scenario's cloud loads the functions afresh: in Jest's registry, with its isolation.
  // That registry has its own copy of the Firestore client: the counter is told of it.
  setModuleIsolation(async (load) => {
    let value: Awaited<ReturnType<typeof load>> | undefined;
    await jest.isolateModulesAsync(async () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- this registry's copy
      addFirestoreModule(require('@google-cloud/firestore') as typeof FirestoreModule);
      value = await load();
    });
    return value as Awaited<ReturnType<typeof load>>;
  });
});
afterAll(() => {
  setModuleIsolation(undefined);
  rmSync(dir, { recursive: true, force: true });
});

test('the short bench writes every figure as a finite number, prints each, and makes no duplicate VM', async () => {
  const printed: string[] = [];
  const progress: string[] = [];
  const err = {
    isTTY: false,
    write: (text: string) => progress.push(text),
  } as unknown as NodeJS.WriteStream;
  const run = await runBench({
    short: true,
    only: ['webhook', 'start', 'burst', 'cost'],
    resultsDir: dir,
    out: (line) => printed.push(line),
    err,
  });

  const record = JSON.parse(readFileSync(run.file, 'utf8')) as BenchRecord;
  expect(run.file.startsWith(dir)).toBe(true);
  expect(record).toMatchObject({ short: true, node: process.version });
  expect(record.cpus).toBeGreaterThan(0);
  expect(record.commit).toMatch(/\S/);
  expect(record.results.map((r) => r.scenario)).toEqual([
    'webhook',
    'start',
    'burst',
    'cost',
    'cost',
  ]);
  const figures = record.results.flatMap((r) =>
    r.figures.map((f) => ({ scenario: r.scenario, ...f })),
  );
  expect(figures.length).toBeGreaterThan(10);
  for (const figure of figures) {
    expect({ ...figure, finite: Number.isFinite(figure.value) }).toMatchObject({ finite: true });
    // The table has a line for it: scenario, then figure name.
    const line = printed.find(
      (l) => l.startsWith(figure.scenario) && l.includes(`  ${figure.name}  `),
    );
    expect({ figure: figure.name, line }).toEqual({
      figure: figure.name,
      line: expect.any(String),
    });
  }

  const value = (scenario: string, name: string, mode?: string) =>
    record.results
      .find((r) => r.scenario === scenario && (mode === undefined || r.mode === mode))
      ?.figures.find((f) => f.name === name)?.value;

  expect(value('burst', 'duplicate inserts')).toBe(0);
  // The hottest document took at least one write, and the notes say which it was.
  expect(value('burst', 'highest writes per second on one document')).toBeGreaterThanOrEqual(1);
  const burst = record.results.find((r) => r.scenario === 'burst')!;
  expect(burst.figures.find((f) => f.name.startsWith('highest writes'))?.target).toEqual({
    op: '<=',
    value: 1,
  });
  expect(burst.notes?.join('\n')).toMatch(/hottest document: (tests|capacity)\//);

  // The peer answered every request, and both ratios are there with issue 16's targets.
  expect(value('webhook', 'peer: errors (non-2xx)')).toBe(0);
  expect(value('webhook', 'peer: sequential p50')).toBeGreaterThan(0);
  expect(value('webhook', 'vm-ci / peer: sequential p50')).toBeGreaterThan(0);
  expect(value('webhook', 'vm-ci / peer: answers per second at 50 in flight')).toBeGreaterThan(0);

  // Firestore operations per test: every test is read and written, the webhook
  // alone writes something, the whole way at least as much as the webhook.
  for (const mode of ['VMs without script, to running', 'timer VMs, to the end']) {
    const reads = value('cost', 'Firestore reads per test', mode)!;
    const writes = value('cost', 'Firestore writes per test', mode)!;
    expect({ mode, reads, writes }).toEqual({
      mode,
      reads: expect.any(Number),
      writes: expect.any(Number),
    });
    expect(writes).toBeGreaterThan(0);
    expect(reads).toBeGreaterThan(0);
    expect(value('cost', 'writes per test: tests', mode)).toBeGreaterThan(0);
    const webhookWrites = value('cost', 'webhook: Firestore writes per test', mode)!;
    expect(webhookWrites).toBeGreaterThan(0);
    expect(webhookWrites).toBeLessThanOrEqual(writes);
    expect(value('cost', 'Firestore commits per test', mode)).toBeLessThanOrEqual(writes);
    // A few dozen at most: not the bench's own polling.
    expect(reads).toBeLessThan(100);
  }
  // Ended tests took more than running ones.
  expect(value('cost', 'Firestore writes per test', 'timer VMs, to the end')).toBeGreaterThan(
    value('cost', 'Firestore writes per test', 'VMs without script, to running')!,
  );
  // Not a terminal: progress comes as lines.
  expect(progress.join('')).toContain('burst: pushes');
});
