// The plan for an empty project, from config/vmci.example.yaml, as a golden
// file (UPDATE_GOLDEN=1 rewrites it), and what the pure parts decide.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, schedulerServiceAccount } from '../../shared/config';
import { FUNCTION_NAMES, functionUrl, type FunctionName } from '../../shared/config/urls';
import { SWEEP_SCHEDULES } from '../../shared/sweeps/schedules';
import { desiredResources, expectedPublicUrl, type Facts } from '../../infra/gcp/deploy/desired';
import type { VmciConfig } from '../../shared/config';
import { platformsOffNetwork } from '../../infra/gcp/deploy/network';
import { formatPlan, planSteps } from '../../infra/gcp/deploy/plan';
import type { Resource } from '../../infra/gcp/deploy/resources';
import { EXAMPLE_CONFIG, PROJECT_NUMBER } from './support';

const GOLDEN = join(__dirname, 'golden', 'example-plan.txt');
const config = loadConfig({ VMCI_CONFIG: EXAMPLE_CONFIG });

function facts(change: Partial<Facts> = {}): Facts {
  const bundleHashes = Object.fromEntries(
    FUNCTION_NAMES.map((fn) => [fn, `bundle-of-${fn}`]),
  ) as Record<FunctionName, string>;
  return {
    projectNumber: PROJECT_NUMBER,
    bundleHashes,
    bundleRoot: '.deploy',
    secretVersions: {},
    githubAuth: 'token',
    ...change,
  };
}

const absent = (resources: Resource[]) => resources.map(() => undefined);

describe('the plan for an empty project', () => {
  it('matches the golden file', () => {
    const resources = desiredResources(config, facts());
    const text = `${formatPlan(planSteps(resources, absent(resources))).join('\n')}\n`;
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(GOLDEN)) writeFileSync(GOLDEN, text);
    expect(text).toBe(readFileSync(GOLDEN, 'utf8'));
  });

  it('the example publicUrl is the one deploy expects for its project number', () => {
    expect(config.publicUrl).toBe(expectedPublicUrl(config, PROJECT_NUMBER));
  });
});

describe('desired resources', () => {
  it('the scheduler jobs call each sweep with an OIDC audience equal to functionUrl', () => {
    const jobs = desiredResources(config, facts()).filter((r) => r.kind === 'scheduler job');
    expect(jobs.map((job) => job.create[0])).toEqual(
      (['sweepPending', 'sweepExpired'] as const).map((sweep) =>
        expect.objectContaining({
          job: expect.objectContaining({
            schedule: SWEEP_SCHEDULES[sweep],
            httpTarget: {
              uri: functionUrl(config, sweep),
              httpMethod: 'POST',
              oidcToken: {
                serviceAccountEmail: schedulerServiceAccount(config),
                audience: functionUrl(config, sweep),
              },
            },
          }),
        }),
      ),
    );
  });

  it('pins the newest enabled secret versions, and a new bundle changes only its function', () => {
    const versions = {
      'vmci-github-webhook-secret': 3,
      'vmci-token-key': 1,
      'vmci-github-token': 7,
    };
    const before = desiredResources(config, facts({ secretVersions: versions }));
    const webhook = before.find((r) => r.name.startsWith('webhook '))!;
    const args = (webhook.create[0] as { args: string[] }).args;
    expect(args).toContain(
      '--set-secrets=GITHUB_WEBHOOK_SECRET=vmci-github-webhook-secret:3,GITHUB_TOKEN=vmci-github-token:7',
    );
    expect(webhook.blocked).toBeUndefined();
    const hashes = { ...facts().bundleHashes, runTest: 'changed' };
    const after = desiredResources(
      config,
      facts({ secretVersions: versions, bundleHashes: hashes }),
    );
    const differing = after.filter(
      (r, i) => JSON.stringify(r.want) !== JSON.stringify(before[i]!.want),
    );
    expect(differing.map((r) => r.name)).toEqual(['runTest (vmci-runtest)']);
  });

  it('runTest and the sweeps are private, each with one invoker; the doors public', () => {
    const resources = desiredResources(config, facts());
    const invokers = resources.filter((r) => r.name.startsWith('roles/run.invoker'));
    expect(invokers.map((r) => r.name)).toEqual([
      `roles/run.invoker for ${config.queue.serviceAccount} on service vmci-runtest`,
      `roles/run.invoker for ${schedulerServiceAccount(config)} on service vmci-sweeppending`,
      `roles/run.invoker for ${schedulerServiceAccount(config)} on service vmci-sweepexpired`,
    ]);
    const deployOf = (fn: string) =>
      (resources.find((r) => r.name.startsWith(`${fn} `))!.create[0] as { args: string[] }).args;
    for (const fn of ['webhook', 'progress', 'status']) {
      expect(deployOf(fn)).toContain('--allow-unauthenticated');
    }
    for (const fn of ['runTest', 'sweepPending', 'sweepExpired']) {
      expect(deployOf(fn)).toContain('--no-allow-unauthenticated');
    }
    expect(deployOf('status').some((a) => a.startsWith('--set-secrets'))).toBe(false);
  });
});

describe('planning against what exists', () => {
  it('a Firestore database elsewhere is blocked, not changed: it cannot move', () => {
    const resources = desiredResources(config, facts());
    const observed = resources.map((r) =>
      r.kind === 'firestore database'
        ? { location: 'europe-west1', type: 'FIRESTORE_NATIVE' }
        : r.want,
    );
    const steps = planSteps(resources, observed).filter((s) => s.action !== 'unchanged');
    expect(steps.map((s) => [s.action, s.resource.kind, s.calls])).toEqual([
      ['blocked', 'firestore database', []],
    ]);
    expect(formatPlan(steps)).toContain(
      "    the Firestore database (default) cannot move or change type: it must be a FIRESTORE_NATIVE database in us-central1 (the configuration's region)",
    );
  });
});

describe('the files bucket', () => {
  const bucketOf = (c: VmciConfig) =>
    desiredResources(c, facts()).find((r) => r.kind === 'bucket')!;
  const asBuilt = (c: VmciConfig) => ({ location: c.region, ...bucketOf(c).want });

  it('gives progress and status (vmci-doors) objectUser on the bucket only, no storage role on the project', () => {
    const resources = desiredResources(config, facts());
    const storage = resources.filter((r) => r.name.startsWith('roles/storage.'));
    expect(storage.map((r) => r.name)).toEqual([
      'roles/storage.objectUser for vmci-doors@my-ci-project.iam.gserviceaccount.com on bucket gs://my-ci-project-vmci-files',
    ]);
    expect(
      resources.filter((r) => r.name.includes('storage.') && r.name.includes('on project')),
    ).toEqual([]);
  });

  it('a new retentionDays is one update of the lifecycle rule, with the file it reads', () => {
    const longer = { ...config, files: { ...config.files, retentionDays: 90 } };
    const resources = desiredResources(longer, facts());
    const observed = resources.map((r) => (r.kind === 'bucket' ? asBuilt(config) : r.want));
    const steps = planSteps(resources, observed).filter((s) => s.action !== 'unchanged');
    expect(formatPlan(steps)).toEqual([
      '~ update bucket gs://my-ci-project-vmci-files',
      '    lifecycle: Delete after 30 days → Delete after 90 days',
      `    $ printf %s '{"rule":[{"action":{"type":"Delete"},"condition":{"age":90}}]}' > .deploy/files-lifecycle.json && gcloud storage buckets update gs://my-ci-project-vmci-files --lifecycle-file=.deploy/files-lifecycle.json --project=my-ci-project`,
      'Plan: 0 to create, 1 to update, 0 unchanged, 0 blocked.',
    ]);
  });

  it('a bucket made by hand is made private, its versioning off; one elsewhere is a warning', () => {
    const resources = desiredResources(config, facts());
    const byHand = {
      location: 'us',
      uniformAccess: 'off',
      publicAccessPrevention: 'inherited',
      versioning: 'on',
      lifecycle: 'none',
    };
    const observed = resources.map((r) => (r.kind === 'bucket' ? byHand : r.want));
    const [step] = planSteps(resources, observed).filter((s) => s.action !== 'unchanged');
    expect(step!.calls).toEqual([
      {
        via: 'gcloud',
        args: [
          ...['storage', 'buckets', 'update', 'gs://my-ci-project-vmci-files'],
          '--uniform-bucket-level-access',
          '--public-access-prevention',
          '--no-versioning',
          '--lifecycle-file=.deploy/files-lifecycle.json',
          '--project=my-ci-project',
        ],
        file: {
          path: '.deploy/files-lifecycle.json',
          content: '{"rule":[{"action":{"type":"Delete"},"condition":{"age":30}}]}',
        },
      },
    ]);
    expect(formatPlan([step!])).toContain(
      "    warning: gs://my-ci-project-vmci-files is in us, not us-central1 (the configuration's region); a bucket cannot move: to have it there, set another files.bucket",
    );
  });
});

describe('who may call the services', () => {
  const invokers = (members: string[]) => ({
    allUsers: members.includes('allUsers') ? 'yes' : 'no',
    allAuthenticatedUsers: members.includes('allAuthenticatedUsers') ? 'yes' : 'no',
    members: [...members].sort().join(','),
  });

  it('an internal service made public by hand loses allUsers and allAuthenticatedUsers, saying why', () => {
    const resources = desiredResources(config, facts());
    const observed = resources.map((r) =>
      r.kind === 'service invokers' && r.name === 'vmci-sweeppending'
        ? invokers([
            'allAuthenticatedUsers',
            'allUsers',
            `serviceAccount:${schedulerServiceAccount(config)}`,
          ])
        : r.want,
    );
    const steps = planSteps(resources, observed).filter((s) => s.action !== 'unchanged');
    const where = '--region=us-central1 --project=my-ci-project --format=none';
    expect(formatPlan(steps)).toEqual([
      '~ update service invokers vmci-sweeppending',
      '    allUsers: yes → no',
      '    allAuthenticatedUsers: yes → no',
      "    why: sweepPending is internal: on Cloud Run vm-ci accepts a caller's token only as Cloud Run verified it, and Cloud Run verifies none for a public service, so anyone can call vmci-sweeppending",
      `    $ gcloud run services remove-iam-policy-binding vmci-sweeppending --member=allUsers --role=roles/run.invoker --all ${where}`,
      `    $ gcloud run services remove-iam-policy-binding vmci-sweeppending --member=allAuthenticatedUsers --role=roles/run.invoker --all ${where}`,
      'Plan: 0 to create, 1 to update, 0 unchanged, 0 blocked.',
    ]);
  });

  it('a public service with other invokers is a warning, not a change; a missing service is unchanged', () => {
    const resources = desiredResources(config, facts());
    const observed = resources.map((r) =>
      r.kind === 'service invokers' && r.name === 'vmci-status'
        ? invokers(['allUsers', 'user:someone@example.com'])
        : r.kind === 'service invokers'
          ? undefined
          : r.want,
    );
    const steps = planSteps(resources, observed);
    expect(steps.filter((s) => s.action !== 'unchanged')).toEqual([]);
    const lines = formatPlan(steps.filter((s) => s.resource.kind === 'service invokers'));
    expect(lines).toEqual([
      '= unchanged service invokers vmci-webhook',
      '= unchanged service invokers vmci-runtest',
      '= unchanged service invokers vmci-sweeppending',
      '= unchanged service invokers vmci-sweepexpired',
      '= unchanged service invokers vmci-progress',
      '= unchanged service invokers vmci-status',
      '    warning: roles/run.invoker on vmci-status is also held by user:someone@example.com (a public service needs allUsers only); deploy leaves it: if not meant, gcloud run services remove-iam-policy-binding vmci-status --member=<member> --role=roles/run.invoker --region=us-central1 --project=my-ci-project',
      'Plan: 0 to create, 0 to update, 6 unchanged, 0 blocked, 1 warning.',
    ]);
  });
});

describe('the VMs network', () => {
  it('the example platforms run on it; a platform elsewhere gets a note with what to write', () => {
    expect(platformsOffNetwork(config)).toEqual([]);
    const linux = { ...config.platforms.linux!, network: 'global/networks/default' };
    expect(platformsOffNetwork({ ...config, platforms: { linux } })).toEqual([
      'note: platforms.linux runs on global/networks/default; for the network deploy makes (no inbound, no private ranges) set network: global/networks/vmci-vms and subnetwork: regions/us-central1/subnetworks/vmci-vms',
    ]);
  });
});

describe('GitHub App authentication', () => {
  const deployArgsOf = (resources: Resource[], fn: string) =>
    (resources.find((r) => r.name.startsWith(`${fn} `))!.create[0] as { args: string[] }).args;

  it('gives the App secrets instead of the token; the installation id only when it has a value', () => {
    const versions = {
      'vmci-github-webhook-secret': 1,
      'vmci-token-key': 1,
      'vmci-github-app-id': 2,
      'vmci-github-app-private-key': 3,
    };
    const withoutId = desiredResources(
      config,
      facts({ githubAuth: 'app', secretVersions: versions }),
    );
    expect(deployArgsOf(withoutId, 'sweepPending')).toContain(
      '--set-secrets=GITHUB_APP_ID=vmci-github-app-id:2,GITHUB_APP_PRIVATE_KEY=vmci-github-app-private-key:3',
    );
    expect(withoutId.filter((r) => r.name.includes('vmci-github-token'))).toEqual([]);
    const withId = desiredResources(
      config,
      facts({
        githubAuth: 'app',
        secretVersions: { ...versions, 'vmci-github-app-installation-id': 1 },
      }),
    );
    expect(deployArgsOf(withId, 'progress')).toContain(
      '--set-secrets=GITHUB_APP_ID=vmci-github-app-id:2,GITHUB_APP_PRIVATE_KEY=vmci-github-app-private-key:3,GITHUB_APP_INSTALLATION_ID=vmci-github-app-installation-id:1',
    );
    expect(deployArgsOf(withId, 'status').some((a) => a.startsWith('--set-secrets'))).toBe(false);
  });
});
