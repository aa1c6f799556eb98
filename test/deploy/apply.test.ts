// deploy against the fake gcloud and the local Tasks and Scheduler stand-ins:
// apply, idempotence, drift, --dry-run, secret hygiene, permission errors.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deploy } from '../../infra/gcp/deploy/deploy';
import { filesBucket, schedulerServiceAccount, loadConfig } from '../../shared/config';
import { functionUrl } from '../../shared/config/urls';
import {
  addSecretValue,
  changingCalls,
  EXAMPLE_CONFIG,
  fakeProject,
  type FakeProject,
  type FakeState,
} from './support';

jest.setTimeout(120_000);
const config = loadConfig({ VMCI_CONFIG: EXAMPLE_CONFIG });
const SECRET_VALUES = {
  'vmci-github-webhook-secret': 'whsec-do-not-print-1f2e3d',
  'vmci-token-key': 'tokenkey-do-not-print-0123456789abcdef0123',
  'vmci-github-token': 'ghp_doNotPrintThisToken1234567890',
};

let project: FakeProject;
const BUCKET = filesBucket(config);
const DOORS = 'serviceAccount:vmci-doors@my-ci-project.iam.gserviceaccount.com';

type Binding = { role: string; members: string[] };
const policyOf = (state: FakeState, key: string) =>
  (state.policies as Record<string, Binding[] | undefined>)[key] ?? [];
const changed = (lines: string[]) => lines.filter((l) => /^[+~!] /.test(l));

function addAllValues() {
  for (const [secret, value] of Object.entries(SECRET_VALUES)) {
    addSecretValue(project, secret, value);
  }
}

/** Applies once: stops for the secret values, then finishes after a person adds them. */
async function applyFully() {
  const first = await project.run();
  expect(first.outcome).toEqual({
    result: 'failed',
    lines: [
      ...Object.keys(SECRET_VALUES).map((s) => expect.stringContaining(`versions add ${s}`)),
      'webhook needs a value in vmci-github-webhook-secret, vmci-github-token first (see above)',
    ],
  });
  addAllValues();
  const second = await project.run();
  expect(second.outcome.result).toBe('applied');
  return [...first.lines, ...second.lines];
}

describe('npm run deploy, against an empty fake project', () => {
  beforeEach(async () => {
    project = await fakeProject();
  });
  afterEach(async () => {
    await project.close();
  });

  it("refuses a publicUrl other than the services' URLs, with the exact value to write", async () => {
    const path = join(project.dir, 'other-url.yaml');
    const text = readFileSync(EXAMPLE_CONFIG, 'utf8').replace(
      /^publicUrl: .*$/m,
      'publicUrl: https://ci.example.com',
    );
    writeFileSync(path, text);
    const lines: string[] = [];
    const outcome = await deploy({
      configPath: path,
      bundleRoot: project.bundleRoot,
      dryRun: true,
      gcloud: project.gcloud,
      clients: project.clients,
      out: (line) => lines.push(line),
      confirm: async () => true,
    });
    expect(outcome).toEqual({
      result: 'failed',
      lines: [
        `publicUrl is https://ci.example.com, but the services deploy makes are served at https://vmci-{function}-123456789012.us-central1.run.app: set "publicUrl: https://vmci-{function}-123456789012.us-central1.run.app" in ${path}`,
      ],
    });
    expect(lines).toEqual([]);
  });

  it('a secret vmci-github-app-id chooses GitHub App authentication', async () => {
    project.setState((state) => {
      state.secrets = { 'vmci-github-app-id': { versions: [] } };
    });
    const { lines } = await project.run({ dryRun: true });
    const secrets = lines.filter((l) => /^[+=] \w+ secret /.test(l));
    expect(secrets).toEqual([
      '+ create secret vmci-github-webhook-secret',
      '+ create secret vmci-token-key',
      '= unchanged secret vmci-github-app-id',
      '+ create secret vmci-github-app-private-key',
    ]);
  });

  it('--dry-run makes no changing call', async () => {
    const { outcome } = await project.run({ dryRun: true });
    expect(outcome.result).toBe('planned');
    expect(changingCalls(project.calls())).toEqual([]);
    expect(project.tasks.queues()).toEqual([]);
    expect(project.scheduler.jobs()).toEqual([]);
  });
});

// One apply shared by the tests below, in order (the secret check reads every call
// of the apply before the second run clears them; the drift test changes it last).
describe('npm run deploy, applied to an empty fake project', () => {
  let applyLines: string[];
  beforeAll(async () => {
    project = await fakeProject();
    applyLines = await applyFully();
  });
  afterAll(async () => {
    await project.close();
  });

  it('creates everything, stopping first for the secret values', () => {
    const state = project.state();
    expect(Object.keys(state.run as object).sort()).toEqual([
      'vmci-progress',
      'vmci-runtest',
      'vmci-status',
      'vmci-sweepexpired',
      'vmci-sweeppending',
      'vmci-webhook',
    ]);
    expect(project.tasks.queues()).toEqual([
      expect.objectContaining({
        id: 'test-runs',
        settings: expect.objectContaining({
          retryConfig: expect.objectContaining({ maxAttempts: 10, minBackoffMs: 10_000 }),
          rateLimits: expect.objectContaining({
            maxDispatchesPerSecond: 5,
            maxConcurrentDispatches: 20,
          }),
        }),
      }),
    ]);
    expect(applyLines).toContain(`Webhook URL: ${functionUrl(config, 'webhook')}`);
    expect(applyLines.some((l) => l.includes('gcloud logging read'))).toBe(true);
  });

  it('creates the files bucket: private, in the region, no versioning, its lifecycle rule; objectUser for vmci-doors on it only', () => {
    const state = project.state();
    expect((state.buckets as Record<string, unknown>)[BUCKET]).toEqual({
      location: 'us-central1',
      uniform: true,
      pap: 'enforced',
      versioning: false,
      lifecycle: { rule: [{ action: { type: 'Delete' }, condition: { age: 30 } }] },
    });
    expect(policyOf(state, `bucket:${BUCKET}`)).toContainEqual({
      role: 'roles/storage.objectUser',
      members: [DOORS],
    });
    const storageRoles = policyOf(state, `bucket:${BUCKET}`).filter((b) =>
      b.role.startsWith('roles/storage.object'),
    );
    expect(storageRoles).toHaveLength(1);
    expect(policyOf(state, 'project').filter((b) => b.role.startsWith('roles/storage.'))).toEqual(
      [],
    );
    expect(state.services).toContain('storage.googleapis.com');
    expect(existsSync(join(project.bundleRoot, 'files-lifecycle.json'))).toBe(true);
  });

  it('the scheduler jobs carry OIDC audiences equal to functionUrl', () => {
    const jobs = project.scheduler.jobs();
    expect(jobs.map((job) => [job.httpTarget?.uri, job.httpTarget?.oidcToken]).sort()).toEqual(
      (['sweepExpired', 'sweepPending'] as const).map((sweep) => [
        functionUrl(config, sweep),
        {
          serviceAccountEmail: schedulerServiceAccount(config),
          audience: functionUrl(config, sweep),
        },
      ]),
    );
  });

  it('no argv and no output line holds a secret value', () => {
    const argv = project.calls().flatMap((call) => call.args);
    for (const value of Object.values(SECRET_VALUES)) {
      expect(argv.filter((arg) => arg.includes(value))).toEqual([]);
      expect(applyLines.filter((line) => line.includes(value))).toEqual([]);
    }
    expect(project.calls().some((call) => call.args.includes('access'))).toBe(false);
    const deployed = Object.values(project.state().run as Record<string, { args: string[] }>);
    const setSecrets = deployed
      .flatMap((s) => s.args)
      .filter((a) => a.startsWith('--set-secrets='));
    expect(setSecrets).toContain(
      '--set-secrets=GITHUB_WEBHOOK_SECRET=vmci-github-webhook-secret:1,GITHUB_TOKEN=vmci-github-token:1',
    );
  });

  it('a second run right after an apply makes no changing call', async () => {
    project.clearCalls();
    const again = await project.run();
    expect(again.outcome.result).toBe('unchanged');
    expect(changingCalls(project.calls())).toEqual([]);
    expect(again.lines.filter((l) => /^[+~!] /.test(l))).toEqual([]);
    expect(again.lines).toContain(`= unchanged bucket gs://${BUCKET}`);
    expect(again.lines).toContain('= unchanged service invokers vmci-runtest');
    expect(again.lines.filter((l) => l.includes('warning'))).toEqual([]);
  });

  it('drift: maxAttempts changed by hand in the queue gives exactly one update', async () => {
    const name = project.tasks.queues()[0]!.name;
    await project.clients.tasks.updateQueue({
      queue: { name, retryConfig: { maxAttempts: 3 } },
      updateMask: { paths: ['retry_config.max_attempts'] },
    });
    const plan = await project.run({ dryRun: true });
    const changed = plan.lines.filter((l) => /^[+~!] /.test(l));
    expect(changed).toEqual(['~ update queue test-runs']);
    expect(plan.lines).toContain('    maxAttempts: 3 → 10');
    const applied = await project.run();
    expect(applied.outcome.result).toBe('applied');
    expect(project.tasks.queues()[0]!.settings.retryConfig.maxAttempts).toBe(10);
  });

  it('an internal service made public by hand: the plan removes it, --dry-run leaves it, apply removes it', async () => {
    project.setState((state) => {
      const runTest = policyOf(state, 'run:vmci-runtest');
      runTest.find((b) => b.role === 'roles/run.invoker')!.members.push('allUsers');
    });
    project.clearCalls();
    const plan = await project.run({ dryRun: true });
    expect(changed(plan.lines)).toEqual(['~ update service invokers vmci-runtest']);
    expect(plan.lines).toContain('    allUsers: yes → no');
    expect(plan.lines.filter((l) => l.startsWith('    why: '))).toHaveLength(1);
    expect(changingCalls(project.calls())).toEqual([]);
    const invokersOf = () =>
      policyOf(project.state(), 'run:vmci-runtest').flatMap((b) =>
        b.role === 'roles/run.invoker' ? b.members : [],
      );
    expect(invokersOf()).toContain('allUsers');

    const applied = await project.run();
    expect(applied.outcome.result).toBe('applied');
    expect(invokersOf()).toEqual([`serviceAccount:${config.queue.serviceAccount}`]);
    project.clearCalls();
    expect((await project.run()).outcome.result).toBe('unchanged');
    expect(changingCalls(project.calls())).toEqual([]);
  });

  it('a public service with another invoker is a warning in the plan; nothing changes', async () => {
    project.setState((state) => {
      const status = policyOf(state, 'run:vmci-status');
      status.find((b) => b.role === 'roles/run.invoker')!.members.push('user:someone@example.com');
    });
    project.clearCalls();
    const again = await project.run();
    expect(again.outcome.result).toBe('unchanged');
    expect(changingCalls(project.calls())).toEqual([]);
    expect(again.lines.filter((l) => l.includes('warning:'))).toEqual([
      expect.stringMatching(
        /^ {4}warning: roles\/run\.invoker on vmci-status is also held by user:someone@example\.com /,
      ),
    ]);
    expect(again.lines).toContainEqual(expect.stringMatching(/, 1 warning\.$/));
  });

  it('a new files.retentionDays: ~ update of the lifecycle rule, --dry-run leaves it, apply changes it', async () => {
    const path = join(project.dir, 'retention.yaml');
    writeFileSync(path, `${readFileSync(EXAMPLE_CONFIG, 'utf8')}\nfiles:\n  retentionDays: 7\n`);
    const lifecycleOf = () =>
      (project.state().buckets as Record<string, { lifecycle: unknown }>)[BUCKET]!.lifecycle;
    project.clearCalls();
    const plan = await project.run({ dryRun: true, configPath: path });
    expect(changed(plan.lines)).toEqual([`~ update bucket gs://${BUCKET}`]);
    expect(plan.lines).toContain('    lifecycle: Delete after 30 days → Delete after 7 days');
    expect(changingCalls(project.calls())).toEqual([]);
    expect(lifecycleOf()).toEqual({
      rule: [{ action: { type: 'Delete' }, condition: { age: 30 } }],
    });

    expect((await project.run({ configPath: path })).outcome.result).toBe('applied');
    expect(lifecycleOf()).toEqual({
      rule: [{ action: { type: 'Delete' }, condition: { age: 7 } }],
    });
    project.clearCalls();
    expect((await project.run({ configPath: path })).outcome.result).toBe('unchanged');
    expect(changingCalls(project.calls())).toEqual([]);
  });
});
