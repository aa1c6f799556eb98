// A permission error stops deploy with the role named; a rerun finishes. And
// the CLI itself: --dry-run through npm's entry point, no TTY without --yes.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { explainFailure } from '../../infra/gcp/deploy/errors';
import {
  addSecretValue,
  changingCalls,
  EXAMPLE_CONFIG,
  fakeProject,
  type FakeProject,
} from './support';

jest.setTimeout(120_000);
const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

let project: FakeProject;
beforeEach(async () => {
  project = await fakeProject();
  addSecretValue(project, 'vmci-github-webhook-secret', 'whsec-1');
  addSecretValue(project, 'vmci-token-key', 'k'.repeat(40));
  addSecretValue(project, 'vmci-github-token', 'ghp_x');
});
afterEach(async () => {
  await project.close();
});

const ACT_AS_DENIED =
  "ERROR: (gcloud.run.deploy) PERMISSION_DENIED: Permission 'iam.serviceAccounts.actAs' denied on service account vmci-runner@my-ci-project.iam.gserviceaccount.com (or it may not exist).";
const TASKS_DISABLED = `ERROR: (gcloud.tasks.queues.add-iam-policy-binding) PERMISSION_DENIED: Cloud Tasks API has not been used in project 123456789012 before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/cloudtasks.googleapis.com/overview?project=123456789012 then retry.
- '@type': type.googleapis.com/google.rpc.ErrorInfo
  domain: googleapis.com
  metadata:
    service: cloudtasks.googleapis.com
  reason: SERVICE_DISABLED`;

describe('a failure stops deploy with one line; a rerun carries on', () => {
  it('PERMISSION_DENIED names the role; the rerun finishes', async () => {
    project.setState((state) => {
      state.failures = [{ match: 'run deploy vmci-runtest', stderr: ACT_AS_DENIED, times: 1 }];
    });
    const failed = await project.run();
    expect(failed.outcome).toEqual({
      result: 'failed',
      lines: [
        expect.stringMatching(
          /^create function runTest .*iam\.serviceAccounts\.actAs denied; grant the deploying account roles\/iam\.serviceAccountUser/,
        ),
      ],
    });
    expect((failed.outcome as { lines: string[] }).lines[0]).not.toContain('\n');
    expect(Object.keys(project.state().run as object)).toEqual(['vmci-webhook']);
    project.clearCalls();
    const rerun = await project.run();
    expect(rerun.outcome.result).toBe('applied');
    const deployed = changingCalls(project.calls())
      .filter((call) => call.args[1] === 'deploy')
      .map((call) => call.args[2]);
    expect(deployed).toEqual([
      'vmci-runtest',
      'vmci-sweeppending',
      'vmci-sweepexpired',
      'vmci-progress',
      'vmci-status',
    ]);
  });

  it('SERVICE_DISABLED names the API to enable', () => {
    expect(explainFailure('create iam binding x', TASKS_DISABLED, 'my-ci-project')).toBe(
      'create iam binding x failed: the cloudtasks.googleapis.com API is not enabled; run: gcloud services enable cloudtasks.googleapis.com --project=my-ci-project',
    );
  });
});

describe('the CLI', () => {
  const cli = (...args: string[]) =>
    run(
      process.execPath,
      [
        '-r',
        '@swc-node/register',
        'infra/gcp/deploy/cli.ts',
        '--config',
        EXAMPLE_CONFIG,
        '--prebuilt',
        '--out',
        project.bundleRoot,
        ...args,
      ],
      { cwd: ROOT, env: { ...project.env, VMCI_DEPLOY_LOCAL_ENDPOINT: project.endpoint } },
    );

  it('--dry-run prints the whole plan and changes nothing', async () => {
    const { stdout } = await cli('--dry-run');
    expect(stdout).toContain('+ create api run.googleapis.com');
    expect(stdout).toContain('+ create scheduler job vmci-sweep-expired');
    // the three secrets and their values, and the six services' invokers (no service yet)
    expect(stdout).toMatch(/Plan: \d+ to create, 0 to update, 12 unchanged, 0 blocked\./);
    expect(changingCalls(project.calls())).toEqual([]);
  });

  it('without a terminal and without --yes it refuses to apply', async () => {
    const failed = await cli().then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('rerun with --yes');
    expect(changingCalls(project.calls())).toEqual([]);
  });
});
