// The deploy tests' fake gcloud (test/deploy/fake-gcloud), plus the reads
// `vmci doctor` makes that deploy does not:
//   tasks queues describe, scheduler jobs describe: answered from the local
//     Tasks and Scheduler stand-ins at $FAKE_GCLOUD_GOOGLE (host:port), where
//     deploy made the queue and the jobs through the real clients; printed in
//     the REST shape, as gcloud prints them;
//   run services describe: the service with its spec (account, timeout), as
//     the `gcloud run deploy` that made it set them;
//   secrets versions access latest --secret=S: the newest enabled value.
// Every other call, and any call the state's `failures` match, goes to the
// deploy's fake, unchanged.
const { appendFileSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const argv = process.argv.slice(2);
const words = argv.filter((a) => !a.startsWith('--'));
const flags = Object.fromEntries(
  argv
    .filter((a) => a.startsWith('--'))
    .map((a) => {
      const eq = a.indexOf('=');
      return eq < 0 ? [a.slice(2), true] : [a.slice(2, eq), a.slice(eq + 1)];
    }),
);
const [a, b, c, d] = words;
const command = `gcloud.${words.slice(0, 3).join('.')}`;

function log() {
  if (process.env.FAKE_GCLOUD_LOG) {
    appendFileSync(process.env.FAKE_GCLOUD_LOG, `${JSON.stringify({ args: argv })}\n`);
  }
}
function out(value) {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  process.exit(0);
}
function fail(message) {
  process.stderr.write(`ERROR: (${command}) ${message}\n`);
  process.exit(1);
}
const state = () => JSON.parse(readFileSync(process.env.FAKE_GCLOUD_STATE, 'utf8'));

async function describe(path) {
  const res = await fetch(`http://${process.env.FAKE_GCLOUD_GOOGLE}/${path}`);
  const body = await res.json();
  if (res.status === 404) fail(`NOT_FOUND: Requested entity was not found.`);
  if (!res.ok) fail(`${body.error?.status ?? res.status}: ${body.error?.message ?? ''}`);
  out(body);
}

const DEPLOY_FAKE = join(__dirname, '..', '..', 'deploy', 'fake-gcloud', 'fake-gcloud.js');

async function main() {
  // A scripted failure ({match, stderr} in the state's `failures`) is the deploy fake's to give.
  const line = argv.join(' ');
  if ((state().failures ?? []).some((f) => line.includes(f.match))) return require(DEPLOY_FAKE);
  const where = `projects/${flags.project}/locations/${flags.location}`;
  if (a === 'tasks' && b === 'queues' && c === 'describe') {
    log();
    return describe(`v2/${where}/queues/${d}`);
  }
  if (a === 'scheduler' && b === 'jobs' && c === 'describe') {
    log();
    return describe(`v1/${where}/jobs/${d}`);
  }
  if (a === 'run' && b === 'services' && c === 'describe' && state().run?.[d]) {
    log();
    const service = state().run[d];
    const flag = (name) =>
      service.args.find((x) => x.startsWith(`--${name}=`))?.slice(name.length + 3);
    out({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name: d, labels: service.labels },
      spec: {
        template: {
          spec: {
            containerConcurrency: Number(flag('concurrency')),
            serviceAccountName: flag('service-account'),
            timeoutSeconds: Number(flag('timeout')),
          },
        },
      },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    });
  }
  if (a === 'secrets' && b === 'versions' && c === 'access') {
    log();
    const secret = state().secrets?.[flags.secret];
    const enabled = (secret?.versions ?? []).filter((v) => v.state === 'ENABLED');
    if (!secret || enabled.length === 0 || d !== 'latest') {
      fail(`NOT_FOUND: Secret Version [${flags.secret}/${d}] not found or has no versions.`);
    }
    process.stdout.write(enabled[enabled.length - 1].value ?? '');
    process.exit(0);
  }
  require(DEPLOY_FAKE);
}

main().catch((error) => fail(String(error)));
