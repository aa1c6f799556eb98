// npm run bench [-- --short] [-- --only webhook,start] [-- --compare earlier.json]
//
// Runs the scenarios of issue 16 against the local cloud, prints a table of
// figures (with each target and whether it was met), shows progress on stderr,
// and writes the figures as JSON to bench/results/<time>-<commit>.json.
// --compare prints this run beside an earlier one, as ratios new/old.
import { parseArgs } from 'node:util';
import { ensureFirestoreEmulator } from '../local/firestore-emulator';
import { burstScenario } from './burst';
import { coldStartScenario } from './cold-start';
import { costScenario } from './cost';
import { newRecord, readRecord, writeRecord, type BenchRecord } from './results';
import type { BenchContext, Scenario } from './scenario';
import { startScenario } from './start';
import { sweepsScenario } from './sweeps';
import { compareTable, resultsTable } from './table';
import { webhookScenario } from './webhook';

export const SCENARIOS: readonly Scenario[] = [
  webhookScenario,
  startScenario,
  burstScenario,
  coldStartScenario,
  costScenario,
  sweepsScenario,
];

export interface BenchOptions {
  short?: boolean;
  /** Scenario names; default all. */
  only?: readonly string[];
  /** An earlier run's JSON to print beside this one. */
  compare?: string;
  /** Where the JSON goes; default bench/results/. */
  resultsDir?: string;
  /** The table and messages (default stdout). */
  out?: (line: string) => void;
  /** Progress (default stderr: a bar on a TTY, else a line per step). */
  err?: NodeJS.WriteStream;
  /** Scenarios to choose from (default SCENARIOS; others may add theirs). */
  scenarios?: readonly Scenario[];
}

export interface BenchRun {
  record: BenchRecord;
  file: string;
  /** The table's lines, as printed. */
  table: string[];
}

function progressReporter(err: NodeJS.WriteStream): Pick<BenchContext, 'progress' | 'log'> & {
  end(): void;
} {
  const tty = Boolean(err.isTTY);
  let lastLine = '';
  let barShown = false;
  const clear = () => {
    if (barShown) err.write('\r\x1b[2K');
    barShown = false;
  };
  return {
    progress(label, done, total) {
      const fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
      if (tty) {
        const width = 24;
        const filled = Math.round(fraction * width);
        const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
        const text = `${bar} ${String(Math.round(fraction * 100)).padStart(3)}% ${label} (${done}/${total})`;
        err.write(`\r\x1b[2K${text.slice(0, (err.columns || 100) - 1)}`);
        barShown = true;
        return;
      }
      // Not a terminal: a line per step, and only when the step or a quarter changes.
      const line = `${label}: ${Math.floor(fraction * 4) * 25}%`;
      if (line !== lastLine) err.write(`${line}\n`);
      lastLine = line;
    },
    log(line) {
      clear();
      err.write(`${line}\n`);
    },
    end: clear,
  };
}

export async function runBench(options: BenchOptions = {}): Promise<BenchRun> {
  const short = options.short ?? false;
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = options.err ?? process.stderr;
  const available = options.scenarios ?? SCENARIOS;
  const chosen = options.only?.length
    ? options.only.map((name) => {
        const scenario = available.find((s) => s.name === name);
        if (!scenario) {
          throw new Error(
            `no scenario ${name}; there are: ${available.map((s) => s.name).join(', ')}`,
          );
        }
        return scenario;
      })
    : available;
  const older = options.compare ? readRecord(options.compare) : undefined;
  const record = newRecord(short, new Date());
  const reporter = progressReporter(err);
  // One Firestore emulator for every scenario's cloud (each uses a project of its own).
  const emulator = await ensureFirestoreEmulator({});
  const hadHost = process.env.FIRESTORE_EMULATOR_HOST;
  process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
  try {
    for (const [i, scenario] of chosen.entries()) {
      reporter.log(`[${i + 1}/${chosen.length}] ${scenario.name}${short ? ' (short)' : ''}`);
      const ctx: BenchContext = { short, log: reporter.log, progress: reporter.progress };
      const started = performance.now();
      record.results.push(...(await scenario.run(ctx)));
      reporter.log(`    ${scenario.name}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
  } finally {
    reporter.end();
    await emulator.stop();
    if (hadHost === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
    else process.env.FIRESTORE_EMULATOR_HOST = hadHost;
  }
  const file = writeRecord(record, options.resultsDir);
  const table = resultsTable(record.results);
  out(
    `vm-ci bench, commit ${record.commit}, node ${record.node}, ${record.cpus} × ${record.cpuModel}${short ? ', short' : ''}`,
  );
  out('');
  for (const line of table) out(line);
  if (older) {
    out('');
    out(`Compared with ${options.compare} (commit ${older.commit}, ${older.startedAt}):`);
    for (const line of compareTable(older.results, record.results)) out(line);
  }
  out('');
  out(`Figures written to ${file}`);
  return { record, file, table };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      short: { type: 'boolean', default: false },
      only: { type: 'string' },
      compare: { type: 'string' },
    },
  });
  await runBench({
    short: values.short,
    ...(values.only
      ? {
          only: values.only
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        }
      : {}),
    ...(values.compare ? { compare: values.compare } : {}),
  });
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : error);
      process.exit(1);
    },
  );
}
