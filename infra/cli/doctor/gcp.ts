// The checks against a deployed project: every read goes through gcloud (the
// context's binary), and what deploy manages is judged with deploy's own
// desired resources, reads and plan (infra/gcp/deploy): a plan that would
// create or update something is a ✘ whose fix is `npm run deploy`.
import { functionUrl } from '../../../shared/config/urls';
import { SWEEP_NAMES } from '../../../shared/sweeps/schedules';
import firestoreIndexes from '../../gcp/firestore.indexes.json';
import {
  deployArgs,
  desiredResources,
  expectedPublicUrl,
  jobId,
  queuePath,
  serviceName,
  type Facts,
} from '../../gcp/deploy/desired';
import { explainFailure } from '../../gcp/deploy/errors';
import { gatherFacts } from '../../gcp/deploy/facts';
import { isNotFound, spawnGcloud } from '../../gcp/deploy/gcloud';
import { networkResources, platformsOffNetwork, VM_NETWORK } from '../../gcp/deploy/network';
import {
  cachedGcloud,
  indexSignatureOf,
  newestEnabledVersion,
  observeAll,
  readJson,
  type ReadPorts,
} from '../../gcp/deploy/observe';
import { planSteps, type Step } from '../../gcp/deploy/plan';
import type { Resource } from '../../gcp/deploy/resources';
import {
  addValueCommand,
  allSecrets,
  APP_MARKER_SECRET,
  GITHUB_APP,
  WEBHOOK_SECRET,
} from '../../gcp/deploy/secrets';
import type { CliContext } from '../context';
import { checkConfig } from './config-check';
import { placeholderFacts, queueResource, jobResource } from './expected';
import { judgeJob, jobView } from './job-check';
import { pingWebhook } from './ping';
import { judgeQueue } from './queue-check';
import { fail, firstOf, pass, type Check, type CheckResult } from './report';

/** The kinds of the deploy's plan that make the functions run, as whom, and who may call them. */
const FUNCTION_KINDS = ['service account', 'iam binding', 'service invokers', 'function'];

/** Where the readers never go: doctor reads the queue and jobs through gcloud. */
const NO_CLIENTS = {
  tasks: undefined as never,
  scheduler: undefined as never,
};

function flagValue(args: readonly string[], flag: string): string {
  return args.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1) ?? '';
}

/** What a plan would do, in one line: "2 to create, 1 to update: a, b (x: old → new)". */
function planProblem(steps: readonly Step[]): string {
  const count = (action: Step['action']) => steps.filter((s) => s.action === action).length;
  const parts = (['create', 'update', 'blocked'] as const)
    .filter((a) => count(a) > 0)
    .map((a) => `${count(a)} ${a === 'blocked' ? 'blocked' : `to ${a}`}`);
  const names = steps.map((s) => {
    const { kind, name } = s.resource;
    if (s.action !== 'update')
      return `${kind} ${name} ${s.action === 'create' ? 'missing' : 'blocked'}`;
    const changes = s.changes.map((c) => `${c.what} ${c.old || '(unset)'} → ${c.new}`);
    return `${kind} ${name} (${changes.join(', ')})`;
  });
  return `${parts.join(', ')}: ${firstOf(names, 3).join('; ')}`;
}

export function gcpChecks(ctx: CliContext, fetchFn: typeof fetch) {
  const { config } = ctx;
  const project = config.project;
  const p = `--project=${project}`;
  const region = config.region;
  const deployFix = `npm run deploy -- --config ${ctx.configPath}`;
  const ports: ReadPorts = {
    gcloud: cachedGcloud(spawnGcloud({ binary: ctx.gcloud, env: { ...process.env, ...ctx.env } })),
    project,
    region,
    ...NO_CLIENTS,
  };
  let facts: Promise<Facts> | undefined;
  const factsOnce = () =>
    (facts ??= gatherFacts(ports, {
      root: '.deploy',
      hashes: placeholderFacts().bundleHashes,
    }));

  const configCheck: Check = {
    progress: 'checking the configuration…',
    what: `configuration ${ctx.configPath}`,
    fixWhenUnreadable: 'point vmci at the configuration file (--config)',
    run: async () => checkConfig(ctx.configPath),
  };

  const secrets: Check = {
    progress: 'checking the secrets in Secret Manager…',
    what: 'secrets in Secret Manager',
    fixWhenUnreadable: `gcloud auth login, with a role that may read ${project}'s secrets (roles/secretmanager.viewer)`,
    run: async () => {
      const app = (await newestEnabledVersion(ports, APP_MARKER_SECRET)) !== null;
      const optional = GITHUB_APP.filter((s) => s.optional).map((s) => s.secret);
      const problems: Array<{ text: string; fix: string }> = [];
      const checked: string[] = [];
      for (const spec of allSecrets(app ? 'app' : 'token')) {
        const version = await newestEnabledVersion(ports, spec.secret);
        if (version === null && optional.includes(spec.secret)) continue;
        checked.push(spec.secret);
        if (version === null) {
          problems.push({
            text: `${spec.secret} (${spec.variable}) does not exist`,
            fix: `${deployFix} (it creates the secret), then ${addValueCommand(spec.secret, project)}`,
          });
        } else if (version === undefined) {
          problems.push({
            text: `${spec.secret} (${spec.variable}) has no enabled version`,
            fix: addValueCommand(spec.secret, project),
          });
        }
      }
      if (problems.length === 0) {
        return pass(
          `secrets in Secret Manager: ${checked.join(', ')} each have an enabled version`,
        );
      }
      const more = problems.length > 1 ? ' (and likewise for each secret listed)' : '';
      return fail(
        'secrets in Secret Manager',
        problems.map((x) => x.text).join('; '),
        `${problems[0]!.fix}${more}`,
      );
    },
  };

  const queue: Check = {
    progress: 'checking the queue…',
    what: `queue ${config.queue.name}`,
    fixWhenUnreadable: `gcloud auth login, with a role that may read ${project}'s queues (roles/cloudtasks.viewer)`,
    run: async () => {
      const resource = queueResource(config);
      const fields = {
        maxAttempts: 'retryConfig.maxAttempts',
        minBackoff: 'retryConfig.minBackoff',
        maxBackoff: 'retryConfig.maxBackoff',
        maxDoublings: 'retryConfig.maxDoublings',
        maxDispatchesPerSecond: 'rateLimits.maxDispatchesPerSecond',
        maxConcurrentDispatches: 'rateLimits.maxConcurrentDispatches',
        state: 'state',
      };
      const args = ['tasks', 'queues', 'describe', config.queue.name, `--location=${region}`];
      const described: Resource = {
        ...resource,
        probe: { type: 'describe', args: [...args, '--format=json', p], fields },
      };
      const [seen] = await observeAll([described], ports);
      const { state = '', ...settings } = seen ?? {};
      return judgeQueue(
        resource,
        Object.keys(resource.want),
        { settings: seen && settings, state },
        queuePath(config),
        {
          missing: `${deployFix} (it creates the queue)`,
          settings: `${deployFix} (it updates the queue)`,
          paused: `gcloud tasks queues resume ${config.queue.name} --location=${region} ${p}`,
        },
      );
    },
  };

  const functions: Check = {
    progress: 'checking the functions, their accounts and who may call them…',
    what: 'functions',
    fixWhenUnreadable: `gcloud auth login, with a role that may read ${project} (roles/viewer)`,
    run: async () => {
      const known = await factsOnce();
      const expected = expectedPublicUrl(config, known.projectNumber);
      if (config.publicUrl !== expected) {
        return fail(
          'functions',
          `publicUrl is ${config.publicUrl}, but the services are served at ${expected}`,
          `set "publicUrl: ${expected}" in ${ctx.configPath}`,
        );
      }
      // Each function as deploy reads it, but judged on what doctor can know
      // without its bundle: the service exists, runs as its account, with its timeout.
      const resources = desiredResources(config, known)
        .filter((r) => FUNCTION_KINDS.includes(r.kind))
        .map((r): Resource => {
          if (r.kind !== 'function' || r.probe.type !== 'service') return r;
          const fn = (Object.keys(known.bundleHashes) as Array<keyof Facts['bundleHashes']>).find(
            (name) => serviceName(name) === (r.probe as { service: string }).service,
          )!;
          const { args } = deployArgs(config, known, fn);
          return {
            ...r,
            probe: {
              type: 'describe',
              args: [
                'run',
                'services',
                'describe',
                serviceName(fn),
                `--region=${region}`,
                '--format=json',
                p,
              ],
              fields: {
                serviceAccount: 'spec.template.spec.serviceAccountName',
                timeoutSeconds: 'spec.template.spec.timeoutSeconds',
              },
            },
            want: {
              serviceAccount: flagValue(args, '--service-account'),
              timeoutSeconds: flagValue(args, '--timeout'),
            },
          };
        });
      const steps = planSteps(resources, await observeAll(resources, ports));
      const warnings = steps.flatMap((s) => (s.warning ? [`warning: ${s.warning}`] : []));
      const pending = steps.filter((s) => s.action !== 'unchanged');
      if (pending.length === 0) {
        const count = steps.filter((s) => s.resource.kind === 'function').length;
        return pass(
          `functions: all ${count} deployed with their service accounts and timeouts; invokers and roles as deploy sets them`,
          warnings,
        );
      }
      const blocked = pending.find((s) => s.action === 'blocked');
      return fail(
        'functions',
        planProblem(pending),
        blocked?.resource.blocked && !pending.some((s) => s.action !== 'blocked')
          ? blocked.resource.blocked
          : deployFix,
        warnings,
      );
    },
  };

  const jobs: Check[] = SWEEP_NAMES.map((sweep) => ({
    progress: `checking the scheduler job ${jobId(sweep)}…`,
    what: `scheduler job ${jobId(sweep)}`,
    fixWhenUnreadable: `gcloud auth login, with a role that may read ${project}'s jobs (roles/cloudscheduler.viewer)`,
    run: async () => {
      const where = [`--location=${region}`, '--format=json', p];
      const job = await readJson<Parameters<typeof jobView>[0]>(ports, [
        ...['scheduler', 'jobs', 'describe', jobId(sweep)],
        ...where,
      ]);
      return judgeJob(jobResource(config, sweep), jobId(sweep), job && jobView(job), {
        missing: `${deployFix} (it creates the job)`,
        settings: `${deployFix} (it sets the job's URL, audience and account to ${functionUrl(config, sweep)})`,
        paused: `gcloud scheduler jobs resume ${jobId(sweep)} --location=${region} ${p}`,
        lastRun: `read why: gcloud logging read 'resource.labels.service_name="${serviceName(sweep)}" AND severity>=WARNING' --limit=20 ${p}`,
      });
    },
  }));

  const indexes: Check = {
    progress: 'checking the Firestore indexes…',
    what: 'Firestore indexes',
    fixWhenUnreadable: `gcloud auth login, with a role that may read ${project}'s Firestore (roles/datastore.viewer)`,
    run: async (): Promise<CheckResult> => {
      const list = await readJson<
        Array<Parameters<typeof indexSignatureOf>[0] & { state?: string }>
      >(ports, [
        ...['firestore', 'indexes', 'composite', 'list', '--database=(default)', '--format=json'],
        p,
      ]);
      if (list === undefined) {
        return fail(
          'Firestore indexes',
          'no Firestore database (default)',
          `${deployFix} (it creates the database and its indexes)`,
        );
      }
      const wanted = desiredResources(config, placeholderFacts()).filter(
        (r) => r.kind === 'firestore index',
      );
      const missing: string[] = [];
      const building: string[] = [];
      for (const index of wanted) {
        const found = list.find((i) => indexSignatureOf(i) === index.name);
        if (!found) missing.push(index.name);
        else if (found.state !== 'READY')
          building.push(`${index.name} is ${found.state ?? 'not ready'}`);
      }
      if (missing.length > 0) {
        return fail(
          'Firestore indexes',
          `${missing.length} of ${wanted.length} missing: ${firstOf(missing, 3).join('; ')}`,
          `${deployFix} (it creates them)`,
        );
      }
      if (building.length > 0) {
        return fail(
          'Firestore indexes',
          firstOf(building, 3).join('; '),
          `wait: an index takes minutes to build (gcloud firestore indexes composite list ${p} shows its state)`,
        );
      }
      return pass(`Firestore indexes: all ${firestoreIndexes.indexes.length} READY`);
    },
  };

  const network: Check = {
    progress: 'checking the VM network…',
    what: `VM network ${VM_NETWORK}`,
    fixWhenUnreadable: `gcloud auth login, with a role that may read ${project}'s network (roles/compute.networkViewer)`,
    run: async () => {
      const resources = networkResources(config);
      const steps = planSteps(resources, await observeAll(resources, ports));
      const pending = steps.filter((s) => s.action !== 'unchanged');
      const notes = platformsOffNetwork(config);
      if (pending.length > 0) {
        return fail(
          `VM network ${VM_NETWORK}`,
          planProblem(pending),
          `${deployFix} (it makes the network)`,
          notes,
        );
      }
      return pass(
        `VM network ${VM_NETWORK}: subnets, routers, NAT and firewall rules as deploy makes them (no inbound, no private ranges)`,
        notes,
      );
    },
  };

  const ping: Check = {
    progress: 'pinging the webhook…',
    what: 'webhook ping',
    fixWhenUnreadable: deployFix,
    run: async () => {
      const secret = WEBHOOK_SECRET.secret;
      const read = await ports.gcloud([
        ...['secrets', 'versions', 'access', 'latest', `--secret=${secret}`],
        p,
      ]);
      if (read.code !== 0 && !isNotFound(read)) {
        const said = read.stderr.split('\n').find((l) => l.startsWith('ERROR:')) ?? read.stderr;
        const denied = /PERMISSION_DENIED|denied/i.test(read.stderr);
        return fail(
          'webhook ping',
          `cannot read ${secret} to sign with (${said.trim() || `exit ${read.code}`})`,
          denied
            ? `grant yourself roles/secretmanager.secretAccessor on it: gcloud secrets add-iam-policy-binding ${secret} --member=user:<you> --role=roles/secretmanager.secretAccessor ${p}`
            : explainFailure(`reading ${secret}`, read.stderr, project),
        );
      }
      return pingWebhook(
        {
          url: functionUrl(config, 'webhook'),
          secret: read.code === 0 && read.stdout.trim() ? read.stdout.trim() : undefined,
          secretSource: `Secret Manager's ${secret}`,
          wrongSecretFix:
            read.code === 0
              ? `${deployFix} (it gives webhook the newest version of ${secret}), and set the GitHub App's webhook secret to the one in Secret Manager`
              : addValueCommand(secret, project),
          unreachableFix: `${deployFix} (it deploys webhook at ${functionUrl(config, 'webhook')})`,
          logsFix: `read why: gcloud logging read 'resource.labels.service_name="${serviceName('webhook')}" AND severity>=WARNING' --limit=20 ${p}`,
        },
        fetchFn,
      );
    },
  };

  return {
    checks: [configCheck, secrets, queue, functions, ...jobs, indexes, network, ping],
    close: async () => {},
  };
}
