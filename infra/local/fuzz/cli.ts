// `npm run fuzz -- [--requests N] [--seed S] [--concurrency C]`: sends N
// generated requests (default 10,000) to the doors of a local cloud of its own,
// prints one table of what came back and what changed, and writes the same
// figures as JSON under .local/fuzz/. Exits 1 when a goal is missed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runFuzz, type FuzzReport } from './run';

interface Args {
  requests: number;
  seed: number;
  concurrency: number;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { requests: 10_000, seed: Date.now() % 100_000, concurrency: 16 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = Number(argv[i + 1]);
    const flags: Record<string, keyof Args> = {
      '--requests': 'requests',
      '--seed': 'seed',
      '--concurrency': 'concurrency',
    };
    const key = flags[flag];
    if (!key || !Number.isInteger(value) || value < (key === 'seed' ? 0 : 1)) {
      throw new Error(
        `usage: npm run fuzz -- [--requests N] [--seed S] [--concurrency C] (bad: ${flag} ${argv[i + 1] ?? ''})`,
      );
    }
    args[key] = value;
    i += 1;
  }
  return args;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const count = (n: number) => n.toLocaleString('en-US');

function progress(sent: number, total: number): void {
  if (!process.stderr.isTTY) return;
  const width = 30;
  const filled = Math.round((sent / total) * width);
  process.stderr.write(
    `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${count(sent)}/${count(total)}`,
  );
  if (sent === total) process.stderr.write('\n');
}

export function fuzzTable(report: FuzzReport): string {
  const statuses = Object.entries(report.byStatus)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, n]) => `${status}: ${count(n)}`)
    .join(' · ');
  const rows: [string, string, string][] = [
    ['requests sent', count(report.requests), '10,000'],
    ['answers by status', statuses, ''],
    ['answers 5xx', count(report.fiveXx), '0'],
    ['HTML answers', count(report.html), '0'],
    ['answers not JSON', count(report.nonJson), '0'],
    ['connections ended without an answer', count(report.noAnswer), '0'],
    [
      'state changes by invalid requests',
      `${count(report.invalid.changes)} (of ${count(report.invalid.sent)} invalid requests)`,
      '0',
    ],
    [
      'signed payloads accepted',
      `${count(report.accepted.answered2xx)} of ${count(report.accepted.sent)}`,
      '',
    ],
    [
      'server memory (RSS)',
      `${mib(report.memory.startRss)} after start, ${mib(report.memory.endRss)} at the end, peak ${mib(report.memory.peakRss)}`,
      'bounded',
    ],
  ];
  const lines = [
    '| figure | value | goal |',
    '|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
  return lines.join('\n');
}

export function fuzzPassed(report: FuzzReport): boolean {
  return (
    report.fiveXx === 0 &&
    report.html === 0 &&
    report.nonJson === 0 &&
    report.noAnswer === 0 &&
    report.invalid.changes === 0
  );
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  process.stderr.write(
    `fuzz: ${count(args.requests)} requests, seed ${args.seed}; starting a local cloud…\n`,
  );
  const report = await runFuzz({ ...args, onProgress: progress });
  const seconds = (report.durationMs / 1000).toFixed(0);
  console.log(
    `\nvm-ci fuzz: seed ${report.seed}, ${count(report.requests)} requests in ${seconds} s\n`,
  );
  console.log(fuzzTable(report));
  for (const problem of report.problems) console.log(`  problem: ${JSON.stringify(problem)}`);
  for (const change of report.invalid.changed)
    console.log(`  changed by an invalid request: ${change}`);
  const dir = join(__dirname, '..', '..', '..', '.local', 'fuzz');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `fuzz-seed${report.seed}-${report.requests}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nfigures: ${file}`);
  process.exitCode = fuzzPassed(report) ? 0 : 1;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
