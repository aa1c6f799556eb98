// npm run undeploy: removes what deploy made, newest first: the Scheduler jobs,
// the services, the queue, the duties' roles on the project and on the files
// bucket, the service accounts, the network. The Firestore database, the files
// bucket (people's logs and results) and the secrets (data a person put there)
// stay unless deleteData. APIs stay enabled. The VMs' network goes last (it
// cannot while a VM still uses it). A rerun finds less to remove.
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../../shared/config/load';
import { FUNCTION_NAMES } from '../../../shared/config/urls';
import { SWEEP_NAMES } from '../../../shared/sweeps/schedules';
import type { VmciConfig } from '../../../shared/config';
import { accountsToCreate } from './accounts';
import { runCall, type ApplyPorts } from './apply';
import {
  bucketProbe,
  bucketRoles,
  bucketTarget,
  bucketUrl,
  jobPath,
  projectRoles,
  queuePath,
  serviceName,
} from './desired';
import { explainFailure } from './errors';
import { cachedGcloud, observeAll, ReadError } from './observe';
import { networkDeletions } from './network';
import { formatCall } from './plan';
import type { Call, Probe } from './resources';
import { allSecrets, GITHUB_APP } from './secrets';

export interface Removal {
  kind: string;
  name: string;
  probe: Probe;
  calls: Call[];
}

export function removals(config: VmciConfig, deleteData: boolean): Removal[] {
  const p = `--project=${config.project}`;
  const jobs = SWEEP_NAMES.map((sweep): Removal => {
    const name = jobPath(config, sweep);
    return {
      kind: 'scheduler job',
      name: name.split('/').pop()!,
      probe: { type: 'job', name },
      calls: [{ via: 'scheduler', method: 'deleteJob', job: { name } }],
    };
  });
  const services = FUNCTION_NAMES.map((fn): Removal => {
    const service = serviceName(fn);
    return {
      kind: 'function',
      name: `${fn} (${service})`,
      probe: { type: 'service', service },
      calls: [
        {
          via: 'gcloud',
          args: ['run', 'services', 'delete', service, `--region=${config.region}`, p, '--quiet'],
        },
      ],
    };
  });
  const queue: Removal = {
    kind: 'queue',
    name: config.queue.name,
    probe: { type: 'queue', name: queuePath(config) },
    calls: [{ via: 'tasks', method: 'deleteQueue', queue: { name: queuePath(config) } }],
  };
  const roles = projectRoles(config).map((r): Removal => {
    const probe = r.probe as Extract<Probe, { type: 'binding' }>;
    return {
      kind: 'iam binding',
      name: r.name,
      probe,
      calls: [
        {
          via: 'gcloud',
          args: [
            ...['projects', 'remove-iam-policy-binding', config.project],
            ...[`--member=${probe.member}`, `--role=${probe.role}`, '--condition=None'],
            '--format=none',
          ],
        },
      ],
    };
  });
  const bucketBindings = bucketRoles(config).map((r): Removal => {
    const probe = r.probe as Extract<Probe, { type: 'binding' }>;
    const args = bucketTarget(config).removeBinding!(probe.member, probe.role);
    return { kind: 'iam binding', name: r.name, probe, calls: [{ via: 'gcloud', args }] };
  });
  const accounts = accountsToCreate(config).map((email): Removal => ({
    kind: 'service account',
    name: email,
    probe: { type: 'account', email },
    calls: [{ via: 'gcloud', args: ['iam', 'service-accounts', 'delete', email, p, '--quiet'] }],
  }));
  const secretNames = [...new Set([...allSecrets('token'), ...GITHUB_APP].map((s) => s.secret))];
  const data: Removal[] = deleteData
    ? [
        ...secretNames.map((secret): Removal => ({
          kind: 'secret',
          name: secret,
          probe: { type: 'secret', secret },
          calls: [{ via: 'gcloud', args: ['secrets', 'delete', secret, p, '--quiet'] }],
        })),
        {
          kind: 'bucket',
          name: bucketUrl(config),
          probe: bucketProbe(config),
          // Every object (each version), then the bucket.
          calls: [{ via: 'gcloud', args: ['storage', 'rm', '--recursive', bucketUrl(config), p] }],
        },
        {
          kind: 'firestore database',
          name: '(default)',
          probe: { type: 'database' },
          calls: [
            {
              via: 'gcloud',
              args: ['firestore', 'databases', 'delete', '--database=(default)', p, '--quiet'],
            },
          ],
        },
      ]
    : [];
  const network = networkDeletions(config).map(({ resource, args }): Removal => ({
    kind: resource.kind,
    name: resource.name,
    probe: resource.probe,
    calls: [{ via: 'gcloud', args }],
  }));
  return [
    ...jobs,
    ...services,
    queue,
    ...roles,
    ...bucketBindings,
    ...accounts,
    ...network,
    ...data,
  ];
}

export interface UndeployOptions {
  configPath: string;
  deleteData: boolean;
  dryRun: boolean;
  ports: Omit<ApplyPorts, 'project'>;
  out: (line: string) => void;
  confirm: () => Promise<boolean>;
}

export type UndeployOutcome =
  | { result: 'planned' | 'unchanged' | 'removed' | 'declined'; toRemove: number }
  | { result: 'failed'; lines: string[] };

export async function undeploy(options: UndeployOptions): Promise<UndeployOutcome> {
  const path = options.configPath;
  const parsed = parseConfig(readFileSync(path, 'utf8'), path);
  if (!parsed.ok)
    return { result: 'failed', lines: [`Invalid configuration ${path}:`, ...parsed.problems] };
  const config = parsed.config;
  const ports = { ...options.ports, project: config.project };
  const all = removals(config, options.deleteData);
  let present: Removal[];
  try {
    const observed = await observeAll(all, {
      ...ports,
      gcloud: cachedGcloud(ports.gcloud),
      region: config.region,
    });
    present = all.filter((_, index) => observed[index] !== undefined);
  } catch (error) {
    if (error instanceof ReadError) return { result: 'failed', lines: [error.message] };
    throw error;
  }
  for (const r of all) {
    if (!present.includes(r)) {
      options.out(`= absent ${r.kind} ${r.name}`);
      continue;
    }
    options.out(`- delete ${r.kind} ${r.name}`);
    for (const call of r.calls) options.out(`    $ ${formatCall(call)}`);
  }
  const kept = options.deleteData
    ? ''
    : " (the Firestore database, the files bucket with the tests' logs and results, and the secrets stay: --delete-data removes them)";
  options.out(`Plan: ${present.length} to delete, ${all.length - present.length} absent${kept}.`);
  if (options.dryRun) return { result: 'planned', toRemove: present.length };
  if (present.length === 0) return { result: 'unchanged', toRemove: 0 };
  if (!(await options.confirm())) return { result: 'declined', toRemove: present.length };
  for (const r of present) {
    for (const call of r.calls) {
      const failure = await runCall(call, ports);
      if (failure !== undefined && !/NOT_FOUND|not found|Cannot find/i.test(failure)) {
        return {
          result: 'failed',
          lines: [explainFailure(`delete ${r.kind} ${r.name}`, failure, config.project)],
        };
      }
    }
  }
  options.out(`Removed ${present.length}.`);
  return { result: 'removed', toRemove: present.length };
}
