// A local git repository for tests that boot real VMs: each commit holds a
// run-tests.sh, the test command of config/vmci.local.yaml. Made at once (its
// path goes into configurations), initialised before the file's tests and
// removed after them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SuiteRepo {
  dir: string;
  /** Commits a run-tests.sh with `script` and returns the sha. */
  commit(label: string, script: string): string;
}

export function useSuiteRepo(prefix: string): SuiteRepo {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: dir,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: dir,
        GIT_AUTHOR_NAME: 'Test',
        GIT_AUTHOR_EMAIL: 'test@example.com',
        GIT_COMMITTER_NAME: 'Test',
        GIT_COMMITTER_EMAIL: 'test@example.com',
      },
    }).trim();
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
