// The checks against the local cloud (`npm start`, DESIGN §8): everything runs
// for real, through the real Google clients pointed at the local stand-ins and
// the functions' own environment.
import { Firestore } from '@google-cloud/firestore';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { CloudTasksClient } from '@google-cloud/tasks';
import { PassThroughClient } from 'google-auth-library';
import { loadSecrets } from '../../../shared/config/load';
import { FUNCTION_NAMES, functionUrl } from '../../../shared/config/urls';
import { localClientOptions } from '../../../shared/gcp/client-options';
import { localEndpoint } from '../../../shared/runtime/env';
import { createFirestoreStore } from '../../../shared/store/firestore';
import { SWEEP_NAMES } from '../../../shared/sweeps/schedules';
import { queuePath } from '../../gcp/deploy/desired';
import { observeAll, type Clients } from '../../gcp/deploy/observe';
import type { CliContext } from '../context';
import { checkConfig } from './config-check';
import { jobResource, queueResource, RETRY_KEYS } from './expected';
import { judgeJob, jobView } from './job-check';
import { pingWebhook } from './ping';
import { judgeQueue } from './queue-check';
import { fail, firstOf, messageOf, pass, type Check } from './report';

const GRPC_NOT_FOUND = 5;
const QUEUE_STATES = ['STATE_UNSPECIFIED', 'RUNNING', 'PAUSED', 'DISABLED'];
const RESTART = 'restart the local cloud (npm start)';

function codeOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'code' in error
    ? Number((error as { code: unknown }).code)
    : undefined;
}

/** host:port of the stand-ins: VMCI_LOCAL_ENDPOINT as the functions read it, else localUrl's. */
function endpointOf(ctx: CliContext) {
  const fromEnv = localEndpoint(ctx.env);
  if (fromEnv) return fromEnv;
  if (!ctx.localUrl) return undefined;
  const url = new URL(ctx.localUrl);
  return { host: url.hostname, port: Number(url.port || 80) };
}

/** Resolves to `work`'s value, or rejects after `ms` (the Firestore client retries for minutes). */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function localChecks(ctx: CliContext, fetchFn: typeof fetch) {
  const { config } = ctx;
  const base = (ctx.localUrl ?? config.publicUrl).replace(/\/+$/, '');
  const endpoint = endpointOf(ctx);
  const options = () => {
    if (!endpoint) throw new Error('no local cloud: VMCI_LOCAL_ENDPOINT is not set');
    return localClientOptions(endpoint);
  };
  let clients: Clients | undefined;
  const client = (): Clients =>
    (clients ??= {
      tasks: new CloudTasksClient(options()),
      scheduler: new CloudSchedulerClient(options()),
    });
  const parent = `projects/${config.project}/locations/${config.region}`;

  const queue: Check = {
    progress: 'checking the queue…',
    what: `queue ${config.queue.name}`,
    fixWhenUnreadable: `${RESTART}: it serves Cloud Tasks at VMCI_LOCAL_ENDPOINT`,
    run: async () => {
      const resource = queueResource(config);
      const ports = { ...client(), gcloud: async () => ({ code: 1, stdout: '', stderr: '' }) };
      const [settings] = await observeAll([resource], {
        ...ports,
        project: config.project,
        region: config.region,
      });
      let state = '';
      if (settings) {
        const [found] = await client().tasks.getQueue({ name: queuePath(config) });
        state =
          typeof found.state === 'number'
            ? (QUEUE_STATES[found.state] ?? '?')
            : String(found.state ?? '');
      }
      // The local cloud applies the retry settings; it leaves the stand-in's rate limits.
      return judgeQueue(resource, RETRY_KEYS, { settings, state }, `the local cloud (${parent})`, {
        missing: `${RESTART}: it creates the queue ${config.queue.name} with the configuration's retry settings`,
        settings: `${RESTART} with this configuration: it creates the queue from config.queue`,
        paused: `resume it (Cloud Tasks resumeQueue ${parent}/queues/${config.queue.name}) or ${RESTART}`,
      });
    },
  };

  const secrets: Check = {
    progress: 'checking the secrets…',
    what: "the functions' secrets",
    fixWhenUnreadable: "set the functions' secrets in their environment",
    run: async () => {
      const result = loadSecrets(ctx.env);
      if (result.ok) {
        const auth = result.secrets.github.kind === 'app' ? 'a GitHub App' : 'GITHUB_TOKEN';
        return pass(
          `the functions' secrets: GITHUB_WEBHOOK_SECRET, VMCI_TOKEN_KEY and ${auth} are set`,
        );
      }
      return fail(
        "the functions' secrets",
        `${result.problems.length} missing or wrong`,
        `set each variable listed in the functions' environment (npm start sets them all)`,
        firstOf(result.problems, 5),
      );
    },
  };

  const functions: Check = {
    progress: 'checking the functions…',
    what: 'functions',
    fixWhenUnreadable: RESTART,
    run: async () => {
      const missing: string[] = [];
      for (const fn of FUNCTION_NAMES) {
        const url = `${base}/${fn}`;
        try {
          const res = await fetchFn(url, { signal: AbortSignal.timeout(5_000) });
          const text = await res.text();
          // The local server's own 404 names the path no service took.
          if (res.status === 404 && text.includes('no local service at')) missing.push(fn);
        } catch (error) {
          missing.push(`${fn} (${messageOf(error)})`);
        }
      }
      if (missing.length > 0) {
        return fail(
          'functions',
          `not served at ${base}: ${missing.join(', ')}`,
          `${RESTART}: it mounts every function whose module is in functions/`,
        );
      }
      return pass(`functions: all ${FUNCTION_NAMES.length} answer at ${base}/<function>`);
    },
  };

  const jobs: Check[] = SWEEP_NAMES.map((sweep) => {
    // The local cloud names each job after its sweep (infra/local/cloud.ts).
    const name = `${parent}/jobs/${sweep}`;
    return {
      progress: `checking the scheduler job ${sweep}…`,
      what: `scheduler job ${sweep}`,
      fixWhenUnreadable: `${RESTART}: it serves Cloud Scheduler at VMCI_LOCAL_ENDPOINT`,
      run: async () => {
        let seen;
        try {
          const [job] = await client().scheduler.getJob({ name });
          seen = jobView(job as Parameters<typeof jobView>[0]);
        } catch (error) {
          if (codeOf(error) !== GRPC_NOT_FOUND) throw error;
        }
        return judgeJob(jobResource(config, sweep), sweep, seen, {
          missing: `${RESTART}: it creates a job for each sweep`,
          settings: `${RESTART} with this configuration: it makes the job call ${functionUrl(config, sweep)} with that audience`,
          paused: `resume it (Cloud Scheduler resumeJob ${name}) or ${RESTART}`,
          lastRun: `read ${sweep}'s error in the local cloud's output (npm start)`,
        });
      },
    };
  });

  const firestore: Check = {
    progress: 'checking Firestore…',
    what: 'Firestore',
    fixWhenUnreadable: `${RESTART}: it starts the Firestore emulator`,
    run: async () => {
      const host = ctx.env.FIRESTORE_EMULATOR_HOST;
      if (!host) {
        return fail(
          'Firestore',
          "FIRESTORE_EMULATOR_HOST is not set in the functions' environment",
          `${RESTART}: it starts the emulator and sets FIRESTORE_EMULATOR_HOST`,
        );
      }
      try {
        const res = await fetchFn(`http://${host}/`, { signal: AbortSignal.timeout(5_000) });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
      } catch (error) {
        return fail(
          'Firestore',
          `the emulator at ${host} does not answer (${messageOf(error)})`,
          `${RESTART}: it starts the emulator`,
        );
      }
      const projectId = ctx.env.VMCI_FIRESTORE_PROJECT ?? config.project;
      const db = new Firestore({
        projectId,
        host,
        ssl: false,
        ignoreUndefinedProperties: true,
        authClient: new PassThroughClient(),
      });
      try {
        const store = createFirestoreStore({ db });
        await within(5_000, 'reading a delivery', store.getDelivery('vmci-doctor-probe'));
      } catch (error) {
        return fail(
          'Firestore',
          `the store cannot read project ${projectId} on ${host} (${messageOf(error)})`,
          `${RESTART}`,
        );
      } finally {
        await db.terminate();
      }
      return pass(
        `Firestore: the emulator at ${host} answers and the store reads project ${projectId} (the emulator needs no indexes)`,
      );
    },
  };

  const network: Check = {
    progress: 'checking the VM network…',
    what: 'VM network',
    fixWhenUnreadable: '',
    run: async () => pass('VM network: local VMs are processes (nothing to check)'),
  };

  const ping: Check = {
    progress: 'pinging the webhook…',
    what: 'webhook ping',
    fixWhenUnreadable: RESTART,
    run: () =>
      pingWebhook(
        {
          url: `${base}/webhook`,
          secret: ctx.env.GITHUB_WEBHOOK_SECRET?.trim() || undefined,
          secretSource: 'GITHUB_WEBHOOK_SECRET',
          wrongSecretFix:
            'set GITHUB_WEBHOOK_SECRET to the webhook secret npm start printed (and the GitHub App’s webhook secret to the same)',
          unreachableFix: `${RESTART}: it serves the webhook at ${base}/webhook`,
          logsFix: "read the webhook's error in the local cloud's output (npm start)",
        },
        fetchFn,
      ),
  };

  const config1: Check = {
    progress: 'checking the configuration…',
    what: `configuration ${ctx.configPath}`,
    fixWhenUnreadable: 'point vmci at the configuration file (--config)',
    run: async () => checkConfig(ctx.configPath),
  };

  return {
    checks: [config1, secrets, queue, functions, ...jobs, firestore, network, ping],
    close: async () => {
      if (!clients) return;
      await Promise.all([clients.tasks.close(), clients.scheduler.close()]);
    },
  };
}
