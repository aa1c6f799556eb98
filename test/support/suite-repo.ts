// A local git repository for tests that boot real VMs: each commit holds a
// run-tests.sh, the test command of config/vmci.local.yaml. Made at once (its
// path goes into configurations), initialised before the file's tests and
// removed after them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { git as gitIn } from './git';

export interface SuiteRepo {
  dir: string;
  /** Commits a run-tests.sh with `script` and returns the sha. */
  commit(label: string, script: string): string;
}

export function useSuiteRepo(prefix: string): SuiteRepo {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const git = (...args: string[]) => gitIn(dir, ...args);
  beforeAll(() => git('init', '-q', '-b', 'main'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    commit(label, script) {
      writeFileSync(join(dir, 'run-tests.sh'), `# ${label}\n${script}\n`);
      git('add', 'run-tests.sh');
      git('commit', '-q', '-m', label);
      return git('rev-parse', 'HEAD');
    },
  };
}
