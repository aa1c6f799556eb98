// npm run bench:cold-start [-- --runs 5]: how long a function takes from
// process start to its first answer, run from source as today (`node -r
// @swc-node/register functions/<name>/index.ts`) and as built (`node index.js`
// in its bundle from `npm run build`). Each start is timed to the first HTTP
// answer to an unsigned POST (a 401: the door answers before any Google call),
// one process at a time; the table shows the median of the runs.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { FunctionName } from '../local/functions';
import { buildFunctions, BUNDLE_CONFIG, DEFAULT_CONFIG, ROOT } from './build-functions';
import { freePort } from '../local/firestore-emulator';

const FUNCTIONS: readonly FunctionName[] = ['webhook', 'runTest'];

interface Variant {
  label: string;
  args: string[];
  cwd: string;
  config: string;
}

/** Milliseconds from spawn to the first answer. */
async function coldStart(variant: Variant): Promise<number> {
  const port = await freePort();
  let output = '';
  const started = performance.now();
  const child = spawn(process.execPath, variant.args, {
    cwd: variant.cwd,
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      VMCI_CONFIG: variant.config,
      GITHUB_WEBHOOK_SECRET: 'cold-start-secret',
      GITHUB_TOKEN: 'cold-start-token',
      VMCI_TOKEN_KEY: 'cold-start-token-key-0123456789abcdef',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${variant.label} exited: ${output}`);
      try {
        await fetch(`http://127.0.0.1:${port}/`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        return performance.now() - started;
      } catch {
        if (performance.now() - started > 60_000) throw new Error(`${variant.label}: no answer`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  } finally {
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface ColdStartTimes {
  label: string;
  function: FunctionName;
  how: 'source' | 'bundle';
  /** Milliseconds of each run, in order. */
  runs: number[];
  median: number;
}

/**
 * Cold starts of webhook and runTest, `runs` times each, round-robin; from
 * source only, or also as built (`npm run build`'s bundles, built here first).
 */
export async function measureColdStarts(
  options: { runs?: number; bundles?: boolean; onRun?: (done: number, total: number) => void } = {},
): Promise<ColdStartTimes[]> {
  const runs = options.runs ?? 5;
  const bundles = options.bundles ?? true;
  const out = mkdtempSync(join(tmpdir(), 'vmci-cold-start-'));
  try {
    if (bundles)
      await buildFunctions({ outDir: out, config: DEFAULT_CONFIG, functions: FUNCTIONS });
    const variants = FUNCTIONS.flatMap(
      (name): (Variant & { name: FunctionName; how: 'source' | 'bundle' })[] => {
        const source = {
          name,
          how: 'source' as const,
          label: `${name}, from source (swc-node)`,
          args: ['-r', '@swc-node/register', join('functions', name, 'index.ts')],
          cwd: ROOT,
          config: DEFAULT_CONFIG,
        };
        if (!bundles) return [source];
        symlinkSync(join(ROOT, 'node_modules'), join(out, name, 'node_modules'), 'dir');
        return [
          source,
          {
            name,
            how: 'bundle' as const,
            label: `${name}, bundle (node index.js)`,
            args: ['index.js'],
            cwd: join(out, name),
            config: BUNDLE_CONFIG,
          },
        ];
      },
    );
    const times = new Map<Variant, number[]>(variants.map((v) => [v, []]));
    const total = runs * variants.length;
    let done = 0;
    // Round-robin, so that a busy moment of the machine falls on every variant alike.
    for (let run = 0; run < runs; run += 1) {
      for (const variant of variants) {
        times.get(variant)!.push(await coldStart(variant));
        done += 1;
        options.onRun?.(done, total);
      }
    }
    return variants.map((variant) => {
      const ms = times.get(variant)!;
      return {
        label: variant.label,
        function: variant.name,
        how: variant.how,
        runs: ms,
        median: median(ms),
      };
    });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
  const runs = Number(values.runs);
  const results = await measureColdStarts({ runs });
  console.log(`Cold start, process start to first answer (node ${process.version}, ${runs} runs)`);
  console.log('');
  console.log('| function, how it runs | median | min | max |');
  console.log('|---|---:|---:|---:|');
  for (const result of results) {
    const ms = result.runs;
    const cells = [result.median, Math.min(...ms), Math.max(...ms)].map(
      (t) => `${Math.round(t)} ms`,
    );
    console.log(`| ${result.label} | ${cells.join(' | ')} |`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
