// npm run undeploy against the fake project: removes what deploy made, keeps
// the data (Firestore, the files bucket, the secrets) unless --delete-data, and
// a second run finds nothing to remove.
import { undeploy } from '../../infra/gcp/deploy/undeploy';
import {
  addSecretValue,
  changingCalls,
  EXAMPLE_CONFIG,
  fakeProject,
  type FakeProject,
} from './support';

jest.setTimeout(120_000);
const BUCKET = 'my-ci-project-vmci-files';

let project: FakeProject;
beforeEach(async () => {
  project = await fakeProject();
  addSecretValue(project, 'vmci-github-webhook-secret', 'whsec-1');
  addSecretValue(project, 'vmci-token-key', 'k'.repeat(40));
  addSecretValue(project, 'vmci-github-token', 'ghp_x');
  expect((await project.run()).outcome.result).toBe('applied');
  project.clearCalls();
});
afterEach(async () => {
  await project.close();
});

async function runUndeploy(options: { deleteData?: boolean; dryRun?: boolean } = {}) {
  const lines: string[] = [];
  const outcome = await undeploy({
    configPath: EXAMPLE_CONFIG,
    deleteData: options.deleteData ?? false,
    dryRun: options.dryRun ?? false,
    ports: { ...project.clients, gcloud: project.gcloud },
    out: (line) => lines.push(line),
    confirm: async () => true,
  });
  return { outcome, lines };
}

const vmciBindings = (state: ReturnType<FakeProject['state']>) =>
  ((state.policies as Record<string, Array<{ members: string[] }>>).project ?? []).flatMap((b) =>
    b.members.filter((m) => m.includes('vmci-')),
  );

describe('npm run undeploy', () => {
  it('removes the jobs, services, queue, roles, accounts and network; keeps data; a rerun removes nothing', async () => {
    const dry = await runUndeploy({ dryRun: true });
    // jobs, services, queue, project roles, the bucket role, accounts, network
    expect(dry.outcome).toEqual({ result: 'planned', toRemove: 2 + 6 + 1 + 7 + 1 + 5 + 6 });
    expect(dry.lines).toContain(
      "Plan: 28 to delete, 0 absent (the Firestore database, the files bucket with the tests' logs and results, and the secrets stay: --delete-data removes them).",
    );
    expect(changingCalls(project.calls())).toEqual([]);

    const { outcome } = await runUndeploy();
    expect(outcome.result).toBe('removed');
    const state = project.state();
    expect(state.run).toEqual({});
    expect(state.accounts).toEqual([]);
    expect(vmciBindings(state)).toEqual([]);
    expect(project.tasks.queues()).toEqual([]);
    expect(project.scheduler.jobs()).toEqual([]);
    expect(state.compute).toEqual({});
    expect(Object.keys(state.secrets ?? {})).toHaveLength(3);
    expect(state.database).toBeTruthy();
    // The bucket stays, without vmci-doors's role on it.
    expect(Object.keys(state.buckets as object)).toEqual([BUCKET]);
    const bucketPolicy = (state.policies as Record<string, unknown>)[`bucket:${BUCKET}`];
    expect(JSON.stringify(bucketPolicy)).not.toContain('vmci-doors');

    project.clearCalls();
    const again = await runUndeploy();
    expect(again.outcome).toEqual({ result: 'unchanged', toRemove: 0 });
    expect(changingCalls(project.calls())).toEqual([]);
  });

  it('--delete-data also deletes the secrets, the files bucket and the Firestore database', async () => {
    const { outcome, lines } = await runUndeploy({ deleteData: true });
    expect(outcome.result).toBe('removed');
    expect(lines).toContain(
      `    $ gcloud storage rm --recursive gs://${BUCKET} --project=my-ci-project`,
    );
    const state = project.state();
    expect(state.secrets).toEqual({});
    expect(state.buckets).toEqual({});
    expect(state.database).toBeNull();
  });
});
