// The JSON record of a run under bench/results/, and reading one back (--compare).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, platform } from 'node:os';
import { join } from 'node:path';
import type { ScenarioResult } from './scenario';

export const ROOT = join(__dirname, '..', '..');
export const RESULTS_DIR = join(ROOT, 'bench', 'results');

export interface BenchRecord {
  /** The short commit the run measured ('unknown' outside a checkout); '+dirty' when the tree had changes. */
  commit: string;
  node: string;
  cpus: number;
  cpuModel: string;
  platform: string;
  startedAt: string;
  short: boolean;
  results: ScenarioResult[];
}

export function currentCommit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${sha}+dirty` : sha;
  } catch {
    return 'unknown';
  }
}

export function newRecord(short: boolean, startedAt: Date): BenchRecord {
  const cpuList = cpus();
  return {
    commit: currentCommit(),
    node: process.version,
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    platform: `${platform()} ${process.arch}`,
    startedAt: startedAt.toISOString(),
    short,
    results: [],
  };
}

/** Writes the record as `<ISO time>-<short commit>.json` in `dir`; returns the path. */
export function writeRecord(record: BenchRecord, dir: string = RESULTS_DIR): string {
  mkdirSync(dir, { recursive: true });
  const stamp = record.startedAt.replace(/[:.]/g, '-');
  const file = join(dir, `${stamp}-${record.commit.replace(/[^0-9a-z]+/gi, '-')}.json`);
  writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
  return file;
}

export function readRecord(path: string): BenchRecord {
  const record = JSON.parse(readFileSync(path, 'utf8')) as BenchRecord;
  if (!Array.isArray(record.results)) throw new Error(`${path}: not a bench record (no results)`);
  return record;
}
