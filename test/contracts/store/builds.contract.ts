// Contract: what is known of a build workflow on a commit (issue 14, item 1).
import type { BuildRecord } from '../../../shared/builds/record';
import { at, useStore, type MakeStore } from './fixtures';

const SHA = 'c'.repeat(40);

function build(overrides: Partial<BuildRecord> = {}): BuildRecord {
  return {
    repo: 'ccextractor/ccextractor',
    sha: SHA,
    workflow: 'build.yml',
    outcome: 'success',
    runId: 100,
    runAttempt: 1,
    conclusion: 'success',
    source: 'event',
    at: at(1),
    ...overrides,
  };
}

export function defineBuildContractTests(makeStore: MakeStore): void {
  describe('builds', () => {
    const current = useStore(makeStore);

    it('records a build of one workflow on one commit, and reads it back equal', async () => {
      const { store } = current();
      const record = build();

      expect(await store.recordBuild(record)).toEqual(record);

      const stored = await store.getBuild(record.repo, record.sha, record.workflow);
      expect(stored).toEqual(record);
      expect(stored?.at).toBeInstanceOf(Date);
    });

    it('keeps builds of other commits, workflows and repositories apart', async () => {
      const { store } = current();
      await store.recordBuild(build());

      expect(
        await store.getBuild('ccextractor/ccextractor', 'd'.repeat(40), 'build.yml'),
      ).toBeNull();
      expect(await store.getBuild('ccextractor/ccextractor', SHA, 'other.yml')).toBeNull();
      expect(await store.getBuild('other/repo', SHA, 'build.yml')).toBeNull();
    });

    it('never undoes a success: a later failed run is not kept', async () => {
      const { store } = current();
      const success = build();
      await store.recordBuild(success);

      const kept = await store.recordBuild(
        build({ outcome: 'failure', conclusion: 'failure', runId: 200, at: at(5) }),
      );

      expect(kept).toEqual(success);
      expect(await store.getBuild(success.repo, success.sha, success.workflow)).toEqual(success);
    });

    it('a success replaces a failure, and a completed run replaces one in progress', async () => {
      const { store } = current();
      await store.recordBuild(build({ outcome: 'running', conclusion: null, source: 'api' }));
      const failure = build({ outcome: 'failure', conclusion: 'timed_out', at: at(2) });
      expect(await store.recordBuild(failure)).toEqual(failure);

      const rerun = build({ runAttempt: 2, at: at(3) });
      expect(await store.recordBuild(rerun)).toEqual(rerun);
      expect(await store.getBuild(rerun.repo, rerun.sha, rerun.workflow)).toEqual(rerun);
    });

    it('racing records of one build end at the best of them, whatever their order', async () => {
      const { store, peer } = current();
      const records = [
        build({ outcome: 'none', runId: null, runAttempt: null, conclusion: null, source: 'api' }),
        build({ outcome: 'running', runId: 7, conclusion: null, source: 'api' }),
        build({ outcome: 'failure', runId: 8, conclusion: 'failure' }),
        build({ outcome: 'success', runId: 9 }),
        build({ outcome: 'failure', runId: 10, conclusion: 'cancelled' }),
      ];

      await Promise.all(records.map((r, i) => (i % 2 === 0 ? store : peer()).recordBuild(r)));

      expect(await store.getBuild(records[0]!.repo, SHA, 'build.yml')).toEqual(records[3]);
    });

    it('refuses a record that names no commit or workflow', async () => {
      const { store } = current();
      await expect(store.recordBuild(build({ sha: '' }))).rejects.toThrow(RangeError);
      await expect(store.recordBuild(build({ workflow: '' }))).rejects.toThrow(RangeError);
    });
  });
}
