// The real gcloud (SDK 528 here; it parses arguments offline) is given every
// changing command the plan for an empty project issues, the updates of a
// drifted one (the files bucket, a public internal service), undeploy's, and
// the reads of the bucket and the services' invokers, with no account: each
// must fail only for the missing credentials, never for an argument, so the
// fake gcloud cannot drift from the real CLI's flags. Two at a time.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadConfig } from '../../shared/config';
import { FUNCTION_NAMES, type FunctionName } from '../../shared/config/urls';
import { desiredResources } from '../../infra/gcp/deploy/desired';
import { planSteps, type Step } from '../../infra/gcp/deploy/plan';
import type { Observed, Resource } from '../../infra/gcp/deploy/resources';
import { removals } from '../../infra/gcp/deploy/undeploy';
import { EXAMPLE_CONFIG, PROJECT_NUMBER } from './support';

const GCLOUD = '/usr/bin/gcloud';
const PARALLEL = 2;
jest.setTimeout(240_000);

const describeIfGcloud = existsSync(GCLOUD) ? describe : describe.skip;

interface Outcome {
  args: string[];
  code: number;
  stderr: string;
}

function runGcloud(args: string[], env: NodeJS.ProcessEnv): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(GCLOUD, args, { env, timeout: 60_000 }, (error, _stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ args, code, stderr });
    });
  });
}

async function inPairs<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return results;
}

/**
 * Commands that differ only in the member or role of a binding, in the API
 * enabled, or in the name of a vm-ci service, secret or account (vmci-…), parse
 * alike: one of each keeps the test under a minute or two.
 */
function oneOfEachShape(commands: readonly string[][]): string[][] {
  const shapes = new Map<string, string[]>();
  for (const args of commands) {
    const shape = args
      .map((a) =>
        a
          .replace(/^(--member|--role)=.*/, '$1=')
          .replace(/^[a-z]+\.googleapis\.com$/, 'API')
          .replace(/^vmci-[a-z-]+(@[a-z0-9.-]+)?$/, 'NAME'),
      )
      .join(' ');
    if (!shapes.has(shape)) shapes.set(shape, args);
  }
  return [...shapes.values()];
}

/** The gcloud calls of steps; the files they read are written where they say. */
function gcloudCommands(steps: readonly Step[]): string[][] {
  return steps.flatMap((step) =>
    step.calls.flatMap((call) => {
      if (call.via !== 'gcloud') return [];
      if (call.file) {
        mkdirSync(dirname(call.file.path), { recursive: true });
        writeFileSync(call.file.path, call.file.content);
      }
      return [call.args];
    }),
  );
}

/** What a drifted project shows: a bucket made by hand, every internal service public. */
function drifted(resource: Resource): Observed {
  if (resource.kind === 'bucket') {
    return {
      location: 'us',
      uniformAccess: 'off',
      publicAccessPrevention: 'inherited',
      versioning: 'on',
      lifecycle: 'none',
    };
  }
  if (resource.kind === 'service invokers') {
    return {
      allUsers: 'yes',
      allAuthenticatedUsers: 'yes',
      members: 'allAuthenticatedUsers,allUsers',
    };
  }
  return resource.want;
}

/** The reads deploy added for the bucket and the services' invokers. */
function newReads(resources: readonly Resource[]): string[][] {
  return resources.flatMap(({ probe }) => {
    if (probe.type === 'bucket') return [probe.args];
    if (probe.type === 'invokers') return [probe.target.getPolicy];
    if (probe.type === 'binding' && probe.target.getPolicy[0] === 'storage') {
      return [probe.target.getPolicy];
    }
    return [];
  });
}

describeIfGcloud('the real gcloud accepts every changing command of deploy and undeploy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmci-real-gcloud-'));
  const configDir = join(dir, 'config');
  const bundleRoot = join(dir, 'bundles');
  mkdirSync(configDir);
  for (const fn of FUNCTION_NAMES) mkdirSync(join(bundleRoot, fn), { recursive: true });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fails each only for the missing account, never for an argument', async () => {
    const config = loadConfig({ VMCI_CONFIG: EXAMPLE_CONFIG });
    const resources = desiredResources(config, {
      projectNumber: PROJECT_NUMBER,
      bundleHashes: Object.fromEntries(FUNCTION_NAMES.map((fn) => [fn, 'h'])) as Record<
        FunctionName,
        string
      >,
      bundleRoot,
      // versions, so that the functions are planned, not blocked
      secretVersions: {
        'vmci-github-webhook-secret': 1,
        'vmci-token-key': 1,
        'vmci-github-token': 1,
      },
      githubAuth: 'token',
    });
    const steps = planSteps(
      resources,
      resources.map(() => undefined),
    );
    const commands = gcloudCommands(steps);
    const updates = gcloudCommands(planSteps(resources, resources.map(drifted)));
    expect(updates.map((args) => args.slice(0, 3).join(' ')).sort()).toEqual([
      'run services remove-iam-policy-binding',
      'run services remove-iam-policy-binding',
      'run services remove-iam-policy-binding',
      'run services remove-iam-policy-binding',
      'run services remove-iam-policy-binding',
      'run services remove-iam-policy-binding',
      'storage buckets update',
    ]);
    commands.push(...updates, ...newReads(resources));
    const removing = removals(config, true).flatMap((r) =>
      r.calls.flatMap((call) => (call.via === 'gcloud' ? [call.args] : [])),
    );
    commands.push(...removing);
    expect(removing.length).toBeGreaterThan(10);
    expect(commands.length).toBeGreaterThan(60);
    const env = {
      ...process.env,
      CLOUDSDK_CONFIG: configDir,
      CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
    };
    const started = Date.now();
    const outcomes = await inPairs(oneOfEachShape(commands), (args) => runGcloud(args, env));
    const badArguments = outcomes.filter((o) =>
      /unrecognized arguments|argument .* invalid|Invalid value|invalid choice|must be specified|expected one argument/i.test(
        o.stderr,
      ),
    );
    expect(badArguments.map((o) => `${o.args.join(' ')}\n  ${o.stderr}`)).toEqual([]);
    const notForCredentials = outcomes.filter(
      (o) =>
        o.code === 0 || !/credentialed accounts|gcloud auth login|active account/i.test(o.stderr),
    );
    expect(notForCredentials.map((o) => `${o.args.join(' ')}\n  ${o.stderr}`)).toEqual([]);
    console.log(
      `${outcomes.length} of ${commands.length} gcloud commands (one of each shape) in ${Date.now() - started} ms, ${PARALLEL} at a time`,
    );
  });
});
