// vmci doctor against a whole local cloud (all six functions, the Tasks and
// Scheduler stand-ins, the Firestore emulator): a healthy one passes every
// check; one broken through the real Google clients (a deleted queue, a paused
// job, a job whose OIDC audience is another URL) or a wrong webhook secret is
// found, by name, with its fix.
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { CloudTasksClient } from '@google-cloud/tasks';
import { runDoctor } from '../../infra/cli/doctor';
import type { CliContext, Output } from '../../infra/cli/context';
import { functionUrl } from '../../shared/config/urls';
import { localClientOptions } from '../../shared/gcp/client-options';
import { useLocalCloud } from '../support/local-cloud';

jest.setTimeout(60_000);

// A real minute per cron minute: the sweeps run when a test asks (runNow).
const local = useLocalCloud({ timeScale: 1 });

/** The variables the local cloud gave the functions (infra/local/cloud.ts), as vmci reads them. */
const FUNCTION_ENV = [
  'VMCI_CONFIG',
  'GITHUB_WEBHOOK_SECRET',
  'VMCI_TOKEN_KEY',
  'GITHUB_TOKEN',
  'VMCI_LOCAL_ENDPOINT',
  'VMCI_LOCAL_TOKEN_SECRET',
  'FIRESTORE_EMULATOR_HOST',
  'VMCI_FIRESTORE_PROJECT',
];

function context(env: Record<string, string | undefined> = {}): CliContext {
  const { cloud } = local;
  return {
    mode: 'local',
    env: {
      ...Object.fromEntries(FUNCTION_ENV.map((name) => [name, process.env[name]])),
      ...env,
    },
    configPath: process.env.VMCI_CONFIG!,
    config: cloud.config,
    localUrl: cloud.url,
    gcloud: 'gcloud',
    who: 'doctor-test',
  };
}

async function doctor(ctx: CliContext = context()) {
  const lines: string[] = [];
  const progress: string[] = [];
  const out: Output = { out: (l) => lines.push(l), err: (l) => progress.push(l), columns: 80 };
  const { ok } = await runDoctor(ctx, out);
  return { ok, lines, progress };
}

/** The ✘ lines, each with the fix line that must follow it. */
function failures(lines: string[]) {
  return lines.flatMap((line, i) =>
    line.startsWith('✘ ') ? [{ line, fix: lines[i + 1] ?? '' }] : [],
  );
}

let tasks: CloudTasksClient;
let scheduler: CloudSchedulerClient;
beforeAll(() => {
  const endpoint = { host: '127.0.0.1', port: local.cloud.port };
  tasks = new CloudTasksClient(localClientOptions(endpoint));
  scheduler = new CloudSchedulerClient(localClientOptions(endpoint));
});
afterAll(async () => {
  await tasks.close();
  await scheduler.close();
});

const jobName = (sweep: string) =>
  `projects/${local.cloud.config.project}/locations/${local.cloud.config.region}/jobs/${sweep}`;

it('a healthy local cloud passes every check, each on one line, progress on stderr', async () => {
  await local.cloud.scheduler.runNow('sweepPending');

  const { ok, lines, progress } = await doctor();

  expect(failures(lines)).toEqual([]);
  expect(ok).toBe(true);
  const { config, url } = local.cloud;
  expect(lines).toEqual([
    `✔ configuration ${process.env.VMCI_CONFIG} is valid`,
    "✔ the functions' secrets: GITHUB_WEBHOOK_SECRET, VMCI_TOKEN_KEY and GITHUB_TOKEN are set",
    `✔ queue test-runs: running, maxAttempts 5, backoff 1s–10s, 4 doublings`,
    `✔ functions: all 6 answer at ${url}/<function>`,
    `✔ scheduler job sweepPending: enabled, * * * * * calls ${url}/sweepPending as ${config.queue.serviceAccount} (OIDC audience: that URL), last run succeeded`,
    `✔ scheduler job sweepExpired: enabled, */5 * * * * calls ${url}/sweepExpired as ${config.queue.serviceAccount} (OIDC audience: that URL), no run yet`,
    `✔ Firestore: the emulator at ${process.env.FIRESTORE_EMULATOR_HOST} answers and the store reads project ${process.env.VMCI_FIRESTORE_PROJECT} (the emulator needs no indexes)`,
    '✔ VM network: local VMs are processes (nothing to check)',
    expect.stringMatching(/^✔ webhook received a signed ping \(delivery [0-9a-f-]{36}\): 200$/),
    '9 checks passed, 0 failed',
  ]);
  expect(progress).toContain('checking the queue…');
  expect(progress).toContain('pinging the webhook…');
  // No secret value is ever printed.
  const printed = [...lines, ...progress].join('\n');
  for (const name of ['GITHUB_WEBHOOK_SECRET', 'VMCI_TOKEN_KEY', 'GITHUB_TOKEN']) {
    expect(printed).not.toContain(process.env[name]!);
  }
});

it('a deleted queue is found, and only it, with its fix', async () => {
  const { config } = local.cloud;
  await tasks.deleteQueue({
    name: `projects/${config.project}/locations/${config.region}/queues/${config.queue.name}`,
  });

  const { ok, lines } = await doctor();

  expect(ok).toBe(false);
  expect(failures(lines)).toEqual([
    {
      line: `✘ queue test-runs: not found in the local cloud (projects/${config.project}/locations/${config.region})`,
      fix: "  fix: restart the local cloud (npm start): it creates the queue test-runs with the configuration's retry settings",
    },
  ]);
  expect(lines.at(-1)).toBe('8 checks passed, 1 failed');
});

it('a paused scheduler job is found with the way to resume it', async () => {
  await scheduler.pauseJob({ name: jobName('sweepExpired') });

  const { ok, lines } = await doctor();

  expect(ok).toBe(false);
  expect(failures(lines)).toEqual([
    {
      line: '✘ scheduler job sweepExpired: paused: the sweep never runs',
      fix: `  fix: resume it (Cloud Scheduler resumeJob ${jobName('sweepExpired')}) or restart the local cloud (npm start)`,
    },
  ]);
});

it("a job whose OIDC audience is not its sweep's URL is found, old and new values named", async () => {
  const { config } = local.cloud;
  const url = functionUrl(config, 'sweepPending');
  await scheduler.updateJob({
    job: {
      name: jobName('sweepPending'),
      httpTarget: {
        uri: url,
        httpMethod: 'POST',
        oidcToken: {
          serviceAccountEmail: config.queue.serviceAccount,
          audience: 'https://elsewhere.example.com/sweepPending',
        },
      },
    },
    updateMask: { paths: ['http_target.oidc_token.audience'] },
  });

  const { ok, lines } = await doctor();

  expect(ok).toBe(false);
  expect(failures(lines)).toEqual([
    {
      line: `✘ scheduler job sweepPending: audience is https://elsewhere.example.com/sweepPending, not ${url}`,
      fix: `  fix: restart the local cloud (npm start) with this configuration: it makes the job call ${url} with that audience`,
    },
  ]);
});

it('a webhook secret other than the functions’ fails the ping with its fix, and prints neither', async () => {
  const { ok, lines } = await doctor(context({ GITHUB_WEBHOOK_SECRET: 'not-the-secret-0123' }));

  expect(ok).toBe(false);
  const found = failures(lines);
  expect(found).toEqual([
    {
      line: expect.stringMatching(
        /^✘ webhook ping to http:\/\/127\.0\.0\.1:\d+\/webhook: 401: the webhook refused the signature made with GITHUB_WEBHOOK_SECRET/,
      ),
      fix: '  fix: set GITHUB_WEBHOOK_SECRET to the webhook secret npm start printed (and the GitHub App’s webhook secret to the same)',
    },
  ]);
  expect(lines.join('\n')).not.toContain('not-the-secret-0123');
  expect(lines.join('\n')).not.toContain(process.env.GITHUB_WEBHOOK_SECRET!);
});

it('each check runs even when others fail: no emulator and no secrets', async () => {
  const { ok, lines } = await doctor(
    context({
      FIRESTORE_EMULATOR_HOST: undefined,
      GITHUB_WEBHOOK_SECRET: undefined,
      VMCI_TOKEN_KEY: undefined,
    }),
  );

  expect(ok).toBe(false);
  expect(failures(lines).map((f) => f.line)).toEqual([
    "✘ the functions' secrets: 2 missing or wrong",
    "✘ Firestore: FIRESTORE_EMULATOR_HOST is not set in the functions' environment",
    '✘ webhook ping to ' +
      `${local.cloud.url}/webhook: no webhook secret to sign with (GITHUB_WEBHOOK_SECRET is not set)`,
  ]);
  expect(lines).toContain('    GITHUB_WEBHOOK_SECRET: required: the secret of the GitHub webhook');
  expect(lines.at(-1)).toBe('6 checks passed, 3 failed');
});
