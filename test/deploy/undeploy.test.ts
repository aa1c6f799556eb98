// npm run undeploy against the fake project: removes what deploy made, keeps
// the data unless --delete-data, and a second run finds nothing to remove.
import { undeploy } from '../../infra/gcp/deploy/undeploy';
import {
  addSecretValue,
  changingCalls,
  EXAMPLE_CONFIG,
  fakeProject,
  type FakeProject,
} from './support';

jest.setTimeout(120_000);

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
    expect(dry.outcome).toEqual({ result: 'planned', toRemove: 2 + 6 + 1 + 7 + 5 + 6 });
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

    project.clearCalls();
    const again = await runUndeploy();
    expect(again.outcome).toEqual({ result: 'unchanged', toRemove: 0 });
    expect(changingCalls(project.calls())).toEqual([]);
  });

  it('--delete-data also deletes the secrets and the Firestore database', async () => {
    const { outcome } = await runUndeploy({ deleteData: true });
    expect(outcome.result).toBe('removed');
    const state = project.state();
    expect(state.secrets).toEqual({});
    expect(state.database).toBeNull();
  });
});
