// vmci doctor against a deployed project, through the fake gcloud of the
// deploy tests (test/deploy/support.ts) extended with the reads doctor makes
// (./doctor-fake-gcloud). The project is made by a real `npm run deploy` run
// against it; then each case breaks things (through the real Tasks and
// Scheduler clients, or the fake's state) and doctor must name each, with its
// fix, while the other checks still pass. The deployed services' URLs
// (*.run.app) are answered in this process: the webhook as far as a ping goes,
// the sweeps the Scheduler stand-in calls.
import { join } from 'node:path';
import { runDoctor } from '../../infra/cli/doctor';
import { runCall } from '../../infra/gcp/deploy/apply';
import firestoreIndexes from '../../infra/gcp/firestore.indexes.json';
import { jobResource, queueResource } from '../../infra/cli/doctor/expected';
import type { CliContext, Output } from '../../infra/cli/context';
import { signature } from '../../infra/cli/doctor/ping';
import { loadConfig, schedulerServiceAccount } from '../../shared/config';
import { functionUrl } from '../../shared/config/urls';
import {
  addSecretValue,
  changingCalls,
  EXAMPLE_CONFIG,
  fakeProject,
  PROJECT,
  REGION,
  type FakeProject,
  type FakeState,
} from '../deploy/support';

jest.setTimeout(180_000);

const FAKE_GCLOUD = join(__dirname, 'doctor-fake-gcloud', 'gcloud');
const config = loadConfig({ VMCI_CONFIG: EXAMPLE_CONFIG });
const WEBHOOK_SECRET = 'whsec-do-not-print-1f2e3d';
const SECRET_VALUES = {
  'vmci-github-webhook-secret': WEBHOOK_SECRET,
  'vmci-token-key': 'tokenkey-do-not-print-0123456789abcdef0123',
  'vmci-github-token': 'ghp_doNotPrintThisToken1234567890',
};
const DEPLOY_FIX = `  fix: npm run deploy -- --config ${EXAMPLE_CONFIG}`;
const jobPath = (id: string) => `projects/${PROJECT}/locations/${REGION}/jobs/${id}`;

let project: FakeProject;
let deployed: FakeState;
/** The secret the deployed webhook checks (the version deploy pinned). */
let webhookChecks = WEBHOOK_SECRET;
/** What the deployed sweeps answer the Scheduler stand-in. */
let sweepStatus = 200;
const pings: string[] = [];
const realFetch = globalThis.fetch;

/** The deployed services at Cloud Run's URLs; anything else goes out as usual. */
const cloudRun: typeof fetch = async (input, init) => {
  const url = input instanceof Request ? input.url : String(input);
  if (!/^https:\/\/vmci-[a-z]+-\d+\.[a-z0-9-]+\.run\.app/.test(url)) return realFetch(input, init);
  if (url === functionUrl(config, 'sweepPending') || url === functionUrl(config, 'sweepExpired')) {
    return Response.json({}, { status: sweepStatus });
  }
  if (url !== functionUrl(config, 'webhook')) return new Response('not found', { status: 404 });
  const headers = new Headers(init?.headers);
  const body = String(init?.body);
  pings.push(headers.get('x-github-event') ?? '');
  if (headers.get('x-hub-signature-256') !== signature(webhookChecks, body)) {
    return Response.json({ error: 'Signature does not match' }, { status: 401 });
  }
  return Response.json({ delivery: headers.get('x-github-delivery'), ok: true }, { status: 200 });
};

function context(): CliContext {
  return {
    mode: 'gcp',
    env: {
      FAKE_GCLOUD_STATE: project.env.FAKE_GCLOUD_STATE,
      FAKE_GCLOUD_LOG: project.env.FAKE_GCLOUD_LOG,
      FAKE_GCLOUD_GOOGLE: project.endpoint,
    },
    configPath: EXAMPLE_CONFIG,
    config,
    gcloud: FAKE_GCLOUD,
    who: 'doctor-test',
  };
}

async function doctor() {
  const lines: string[] = [];
  const progress: string[] = [];
  const out: Output = { out: (l) => lines.push(l), err: (l) => progress.push(l), columns: 80 };
  const { ok } = await runDoctor(context(), out);
  return { ok, lines, progress };
}

function failures(lines: string[]) {
  return lines.flatMap((line, i) =>
    line.startsWith('✘ ') ? [{ line, fix: lines[i + 1] ?? '' }] : [],
  );
}

/** Both jobs run now (as a forced run does), so each has a last run to judge. */
async function runJobs() {
  for (const id of JOB_IDS) await project.scheduler.runNow(jobPath(id));
}

const JOB_IDS = ['vmci-sweep-pending', 'vmci-sweep-expired'];

beforeAll(async () => {
  // Before the stand-ins exist: the Scheduler stand-in calls targets with the fetch it found.
  globalThis.fetch = cloudRun;
  project = await fakeProject();
  for (const [secret, value] of Object.entries(SECRET_VALUES)) {
    addSecretValue(project, secret, value);
  }
  const { outcome } = await project.run();
  expect(outcome.result).toBe('applied');
  deployed = project.state();
});

afterAll(async () => {
  await project?.close();
  globalThis.fetch = realFetch;
});

// Each case starts from the deployed project: the fake's state as deploy left
// it, and the queue and jobs put back with deploy's own calls.
beforeEach(async () => {
  webhookChecks = WEBHOOK_SECRET;
  sweepStatus = 200;
  project.setState((state) => {
    for (const key of Object.keys(state)) delete state[key];
    Object.assign(state, structuredClone(deployed));
  });
  const ports = { ...project.clients, gcloud: project.gcloud, project: PROJECT };
  const queue = queueResource(config);
  const calls = [
    queue.update!(Object.keys(queue.want))[0]!,
    ...(['sweepPending', 'sweepExpired'] as const).map(
      (s) => jobResource(config, s).update!([])[0]!,
    ),
  ];
  for (const call of calls) expect(await runCall(call, ports)).toBeUndefined();
  for (const id of JOB_IDS) await project.clients.scheduler.resumeJob({ name: jobPath(id) });
  await runJobs();
});

it('a healthy project passes every check, reading only, and prints no secret', async () => {
  project.clearCalls();
  pings.length = 0;

  const { ok, lines, progress } = await doctor();

  expect(failures(lines)).toEqual([]);
  expect(ok).toBe(true);
  const account = schedulerServiceAccount(config);
  expect(lines).toEqual([
    `✔ configuration ${EXAMPLE_CONFIG} is valid`,
    '✔ secrets in Secret Manager: vmci-github-webhook-secret, vmci-token-key, vmci-github-token each have an enabled version',
    '✔ queue test-runs: running, maxAttempts 10, backoff 10s–300s, 4 doublings, 5/s, 20 at once',
    '✔ functions: all 6 deployed with their service accounts and timeouts; invokers and roles as deploy sets them',
    `✔ scheduler job vmci-sweep-pending: enabled, * * * * * calls ${functionUrl(config, 'sweepPending')} as ${account} (OIDC audience: that URL), last run succeeded`,
    `✔ scheduler job vmci-sweep-expired: enabled, */5 * * * * calls ${functionUrl(config, 'sweepExpired')} as ${account} (OIDC audience: that URL), last run succeeded`,
    `✔ Firestore indexes: all ${firestoreIndexes.indexes.length} READY`,
    '✔ VM network vmci-vms: subnets, routers, NAT and firewall rules as deploy makes them (no inbound, no private ranges)',
    expect.stringMatching(/^✔ webhook received a signed ping \(delivery [0-9a-f-]{36}\): 200$/),
    '9 checks passed, 0 failed',
  ]);
  expect(pings).toEqual(['ping']);
  expect(progress[0]).toBe('checking the configuration…');
  expect(progress).toContain('checking the queue…');
  // Reads only (a secret's value is read to sign the ping, never printed).
  const calls = project.calls();
  expect(calls.length).toBeGreaterThan(0);
  expect(changingCalls(calls).map((c) => c.args.slice(0, 3).join(' '))).toEqual([
    'secrets versions access',
  ]);
  const printed = [...lines, ...progress].join('\n');
  for (const value of Object.values(SECRET_VALUES)) expect(printed).not.toContain(value);
});

it('a missing queue, a disabled job and a wrong audience are each found with their fix', async () => {
  await project.clients.tasks.deleteQueue({
    name: `projects/${PROJECT}/locations/${REGION}/queues/test-runs`,
  });
  await project.clients.scheduler.pauseJob({ name: jobPath('vmci-sweep-pending') });
  const url = functionUrl(config, 'sweepExpired');
  await project.clients.scheduler.updateJob({
    job: {
      name: jobPath('vmci-sweep-expired'),
      httpTarget: {
        uri: url,
        httpMethod: 'POST',
        oidcToken: {
          serviceAccountEmail: schedulerServiceAccount(config),
          audience: 'https://ci.example.com/sweepExpired',
        },
      },
    },
    updateMask: { paths: ['http_target.oidc_token.audience'] },
  });

  const { ok, lines } = await doctor();

  expect(ok).toBe(false);
  expect(failures(lines)).toEqual([
    {
      line: `✘ queue test-runs: not found in projects/${PROJECT}/locations/${REGION}/queues/test-runs`,
      fix: `${DEPLOY_FIX} (it creates the queue)`,
    },
    {
      line: '✘ scheduler job vmci-sweep-pending: paused: the sweep never runs',
      fix: `  fix: gcloud scheduler jobs resume vmci-sweep-pending --location=${REGION} --project=${PROJECT}`,
    },
    {
      line: `✘ scheduler job vmci-sweep-expired: audience is https://ci.example.com/sweepExpired, not ${url}`,
      fix: `${DEPLOY_FIX} (it sets the job's URL, audience and account to ${url})`,
    },
  ]);
  expect(lines.at(-1)).toBe('6 checks passed, 3 failed');
});

it("deploy's plan finds a missing invoker and a wrong timeout; retry settings, a failed run, an index, a secret and an unreadable one", async () => {
  project.setState((state) => {
    delete (state.policies as Record<string, unknown>)['run:vmci-runtest'];
    const run = state.run as Record<string, { args: string[] }>;
    run['vmci-sweepexpired']!.args = run['vmci-sweepexpired']!.args.map((a) =>
      a.startsWith('--timeout=') ? '--timeout=60' : a,
    );
    (state.indexes as Array<{ state: string }>)[1]!.state = 'CREATING';
    const secrets = state.secrets as Record<string, { versions: Array<{ state: string }> }>;
    for (const v of secrets['vmci-token-key']!.versions) v.state = 'DISABLED';
    state.failures = [
      {
        match: 'secrets versions access latest --secret=vmci-github-webhook-secret',
        stderr: `ERROR: (gcloud.secrets.versions.access) PERMISSION_DENIED: Permission 'secretmanager.versions.access' denied for resource 'projects/${PROJECT}/secrets/vmci-github-webhook-secret/versions/latest'.`,
      },
    ];
  });
  await project.clients.tasks.updateQueue({
    queue: {
      name: `projects/${PROJECT}/locations/${REGION}/queues/test-runs`,
      retryConfig: { maxAttempts: 100 },
    },
    updateMask: { paths: ['retry_config.max_attempts'] },
  });
  sweepStatus = 500;
  await project.scheduler.runNow(jobPath('vmci-sweep-pending'));

  const { lines } = await doctor();

  const logs = `gcloud logging read 'resource.labels.service_name="vmci-sweeppending" AND severity>=WARNING' --limit=20 --project=${PROJECT}`;
  expect(failures(lines)).toEqual([
    {
      line: '✘ secrets in Secret Manager: vmci-token-key (VMCI_TOKEN_KEY) has no enabled version',
      fix: `  fix: printf %s "$VALUE" | gcloud secrets versions add vmci-token-key --data-file=- --project=${PROJECT}`,
    },
    {
      line: '✘ queue test-runs: maxAttempts is 100, not 10',
      fix: `${DEPLOY_FIX} (it updates the queue)`,
    },
    {
      line:
        `✘ functions: 1 to create, 1 to update: iam binding roles/run.invoker for ${config.queue.serviceAccount} on service vmci-runtest missing; ` +
        'function sweepExpired (vmci-sweepexpired) (timeoutSeconds 60 → 540)',
      fix: DEPLOY_FIX,
    },
    {
      line: expect.stringMatching(
        /^✘ scheduler job vmci-sweep-pending: its last run failed \(code \d+: .+\)$/,
      ),
      fix: `  fix: read why: ${logs}`,
    },
    {
      line: expect.stringMatching(/^✘ Firestore indexes: tests\(.*\) is CREATING$/),
      fix: `  fix: wait: an index takes minutes to build (gcloud firestore indexes composite list --project=${PROJECT} shows its state)`,
    },
    {
      line:
        '✘ webhook ping: cannot read vmci-github-webhook-secret to sign with (ERROR: (gcloud.secrets.versions.access) ' +
        `PERMISSION_DENIED: Permission 'secretmanager.versions.access' denied for resource 'projects/${PROJECT}/secrets/vmci-github-webhook-secret/versions/latest'.)`,
      fix: `  fix: grant yourself roles/secretmanager.secretAccessor on it: gcloud secrets add-iam-policy-binding vmci-github-webhook-secret --member=user:<you> --role=roles/secretmanager.secretAccessor --project=${PROJECT}`,
    },
  ]);
});

it("a webhook that checks another secret than Secret Manager's newest fails the ping", async () => {
  addSecretValue(project, 'vmci-github-webhook-secret', 'whsec-newer-not-deployed');

  const { ok, lines } = await doctor();

  expect(ok).toBe(false);
  expect(failures(lines)).toEqual([
    {
      line:
        '✘ webhook ping to https://vmci-webhook-123456789012.us-central1.run.app: ' +
        "401: the webhook refused the signature made with Secret Manager's vmci-github-webhook-secret (Signature does not match)",
      fix: `${DEPLOY_FIX} (it gives webhook the newest version of vmci-github-webhook-secret), and set the GitHub App's webhook secret to the one in Secret Manager`,
    },
  ]);
  expect(lines.join('\n')).not.toContain('whsec-newer-not-deployed');
});
