// npm run bench --short --only webhook,start,burst, in-process: it writes its JSON,
// prints a line per figure, and the burst creates no VM twice. No figure is
// timed against a target here: only that each is a finite number.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setModuleIsolation } from '../../infra/bench/cloud';
import { runBench } from '../../infra/bench/cli';
import type { BenchRecord } from '../../infra/bench/results';

jest.setTimeout(180_000);

const dir = mkdtempSync(join(tmpdir(), 'vmci-bench-test-'));

beforeAll(() => {
  // Each scenario's cloud loads the functions afresh: in Jest's registry, with its isolation.
  setModuleIsolation(async (load) => {
    let value: Awaited<ReturnType<typeof load>> | undefined;
    await jest.isolateModulesAsync(async () => {
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
    only: ['webhook', 'start', 'burst'],
    resultsDir: dir,
    out: (line) => printed.push(line),
    err,
  });

  const record = JSON.parse(readFileSync(run.file, 'utf8')) as BenchRecord;
  expect(run.file.startsWith(dir)).toBe(true);
  expect(record).toMatchObject({ short: true, node: process.version });
  expect(record.cpus).toBeGreaterThan(0);
  expect(record.commit).toMatch(/\S/);
  expect(record.results.map((r) => r.scenario)).toEqual(['webhook', 'start', 'burst']);
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

  const burst = record.results.find((r) => r.scenario === 'burst')!;
  expect(burst.figures.find((f) => f.name === 'duplicate inserts')?.value).toBe(0);
  // Not a terminal: progress comes as lines.
  expect(progress.join('')).toContain('burst: pushes');
});
