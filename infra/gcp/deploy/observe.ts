// Reads what exists, through gcloud (`--format=json`) and the Tasks and
// Scheduler clients. Nothing here changes anything. A read that fails for a
// reason other than "not found" stops the run with one actionable line.
import type { CloudSchedulerClient } from '@google-cloud/scheduler';
import type { CloudTasksClient } from '@google-cloud/tasks';
import { explainFailure } from './errors';
import { isNotFound, type Gcloud, type GcloudResult } from './gcloud';
import {
  BOUND,
  EXISTS,
  PUBLIC_MEMBERS,
  type Observed,
  type Probe,
  type Resource,
} from './resources';

export interface Clients {
  tasks: CloudTasksClient;
  scheduler: CloudSchedulerClient;
}

export interface ReadPorts extends Clients {
  gcloud: Gcloud;
  project: string;
  region: string;
}

export class ReadError extends Error {
  override name = 'ReadError';
}

/** gRPC NOT_FOUND, as the client libraries report it. */
const GRPC_NOT_FOUND = 5;

/** One pass of reads: each distinct gcloud command runs once, at most `parallel` at a time. */
export function cachedGcloud(gcloud: Gcloud, parallel = 4): Gcloud {
  const cache = new Map<string, Promise<GcloudResult>>();
  let running = 0;
  const waiting: Array<() => void> = [];
  const slot = async () => {
    if (running >= parallel) await new Promise<void>((r) => waiting.push(r));
    running += 1;
  };
  const release = () => {
    running -= 1;
    waiting.shift()?.();
  };
  return (args) => {
    const key = JSON.stringify(args);
    let result = cache.get(key);
    if (!result) {
      result = slot().then(() => gcloud(args).finally(release));
      cache.set(key, result);
    }
    return result;
  };
}

/** Runs a read; undefined when the thing is not there; throws ReadError otherwise. */
export async function readJson<T>(
  ports: Pick<ReadPorts, 'gcloud' | 'project'>,
  args: string[],
): Promise<T | undefined> {
  const result = await ports.gcloud(args);
  if (result.code === 0) return (JSON.parse(result.stdout || 'null') ?? undefined) as T;
  if (isNotFound(result)) return undefined;
  throw new ReadError(
    explainFailure(`reading (gcloud ${args.join(' ')})`, result.stderr, ports.project),
  );
}

interface Policy {
  bindings?: Array<{ role: string; members?: string[] }>;
}

/** What `gcloud storage buckets describe --raw` prints: the JSON API's bucket. */
interface BucketJson {
  location?: string;
  iamConfiguration?: {
    uniformBucketLevelAccess?: { enabled?: boolean };
    publicAccessPrevention?: string;
  };
  versioning?: { enabled?: boolean };
  lifecycle?: { rule?: LifecycleRule[] };
}

interface LifecycleRule {
  action?: { type?: string };
  condition?: Record<string, unknown>;
}

/** A lifecycle rule as the plan prints it: "Delete after 30 days" when its only condition is age. */
export function lifecycleRuleText(rule: LifecycleRule): string {
  const type = rule.action?.type ?? '?';
  const condition = rule.condition ?? {};
  const keys = Object.keys(condition);
  if (keys.length === 1 && keys[0] === 'age') return `${type} after ${String(condition.age)} days`;
  return `${type} when ${JSON.stringify(condition)}`;
}

function bucketObserved(bucket: BucketJson): Record<string, string> {
  const rules = (bucket.lifecycle?.rule ?? []).map(lifecycleRuleText).sort();
  const iam = bucket.iamConfiguration;
  return {
    location: (bucket.location ?? '').toLowerCase(),
    uniformAccess: iam?.uniformBucketLevelAccess?.enabled ? 'on' : 'off',
    publicAccessPrevention: iam?.publicAccessPrevention ?? '',
    versioning: bucket.versioning?.enabled ? 'on' : 'off',
    lifecycle: rules.length > 0 ? rules.join('; ') : 'none',
  };
}

interface IndexJson {
  name: string;
  queryScope?: string;
  fields?: Array<{ fieldPath: string; order?: string; arrayConfig?: string }>;
}

interface FieldJson {
  indexConfig?: { indexes?: unknown[]; usesAncestorConfig?: boolean };
  ttlConfig?: { state?: string };
}

function secretVersionsArgs(project: string, secret: string): string[] {
  return [
    'secrets',
    'versions',
    'list',
    secret,
    '--filter=state:enabled',
    '--format=json',
    `--project=${project}`,
  ];
}

/** The newest enabled version of a secret: undefined without one; null: no such secret. */
export async function newestEnabledVersion(
  ports: Pick<ReadPorts, 'gcloud' | 'project'>,
  secret: string,
): Promise<number | undefined | null> {
  const versions = await readJson<Array<{ name: string; state?: string }>>(
    ports,
    secretVersionsArgs(ports.project, secret),
  );
  if (versions === undefined) return null;
  const numbers = versions
    .filter((v) => (v.state ?? 'ENABLED').toUpperCase() === 'ENABLED')
    .map((v) => Number(v.name.split('/').pop()))
    .filter((n) => Number.isInteger(n));
  return numbers.length ? Math.max(...numbers) : undefined;
}

export function indexSignatureOf(index: IndexJson): string {
  const group = /collectionGroups\/([^/]+)\//.exec(index.name)?.[1] ?? '';
  const parts = (index.fields ?? [])
    .filter((f) => f.fieldPath !== '__name__')
    .map((f) => `${f.fieldPath} ${(f.order ?? `array-${f.arrayConfig ?? ''}`).toLowerCase()}`);
  return `${group}(${parts.join(', ')})`;
}

const seconds = (d: { seconds?: unknown } | null | undefined) => `${Number(d?.seconds ?? 0)}s`;

function grpcCode(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'code' in error
    ? Number((error as { code: unknown }).code)
    : undefined;
}

async function clientRead<T>(ports: ReadPorts, what: string, read: () => Promise<T>) {
  try {
    return await read();
  } catch (error) {
    if (grpcCode(error) === GRPC_NOT_FOUND) return undefined;
    const text = error instanceof Error ? error.message : String(error);
    throw new ReadError(explainFailure(`reading ${what}`, text, ports.project));
  }
}

/** The value at a dot path; lists are sorted and joined with commas. */
function valueAt(json: unknown, path: string): string {
  let value: unknown = json;
  for (const key of path.split('.')) {
    value =
      typeof value === 'object' && value !== null
        ? (value as Record<string, unknown>)[key]
        : undefined;
  }
  if (Array.isArray(value)) return value.map(String).sort().join(',');
  return value === undefined || value === null ? '' : String(value);
}

async function observeOne(probe: Probe, ports: ReadPorts): Promise<Observed> {
  const p = `--project=${ports.project}`;
  switch (probe.type) {
    case 'api': {
      const list = await readJson<Array<{ config?: { name?: string }; name?: string }>>(ports, [
        ...['services', 'list', '--enabled', '--format=json'],
        p,
      ]);
      const names = (list ?? []).map((s) => s.config?.name ?? s.name?.split('/').pop());
      return names.includes(probe.service) ? { enabled: 'yes' } : undefined;
    }
    case 'account': {
      const list = await readJson<Array<{ email: string }>>(ports, [
        ...['iam', 'service-accounts', 'list', '--format=json'],
        p,
      ]);
      return (list ?? []).some((a) => a.email === probe.email) ? { ...EXISTS } : undefined;
    }
    case 'binding': {
      const policy = await readJson<Policy>(ports, probe.target.getPolicy);
      const bound = (policy?.bindings ?? []).some(
        (b) => b.role === probe.role && (b.members ?? []).includes(probe.member),
      );
      return bound ? { ...BOUND } : undefined;
    }
    case 'invokers': {
      const policy = await readJson<Policy>(ports, probe.target.getPolicy);
      if (!policy) return undefined;
      const members = (policy.bindings ?? [])
        .filter((b) => b.role === probe.role)
        .flatMap((b) => b.members ?? []);
      return {
        ...Object.fromEntries(
          PUBLIC_MEMBERS.map((m) => [m, members.includes(m) ? 'yes' : 'no'] as const),
        ),
        members: [...new Set(members)].sort().join(','),
      };
    }
    case 'bucket': {
      const bucket = await readJson<BucketJson>(ports, probe.args);
      return bucket && bucketObserved(bucket);
    }
    case 'secret':
      return (await newestEnabledVersion(ports, probe.secret)) === null ? undefined : { ...EXISTS };
    case 'secret-value': {
      const version = await newestEnabledVersion(ports, probe.secret);
      return typeof version === 'number' ? { enabledVersion: 'yes' } : undefined;
    }
    case 'database': {
      const db = await readJson<{ locationId?: string; type?: string }>(ports, [
        ...['firestore', 'databases', 'describe', '--database=(default)', '--format=json'],
        p,
      ]);
      return db && { location: db.locationId ?? '', type: db.type ?? '' };
    }
    case 'index': {
      const list = await readJson<IndexJson[]>(ports, [
        ...['firestore', 'indexes', 'composite', 'list', '--database=(default)', '--format=json'],
        p,
      ]);
      return (list ?? []).some((i) => indexSignatureOf(i) === probe.signature)
        ? { ...EXISTS }
        : undefined;
    }
    case 'ttl':
    case 'exemption': {
      const field = await readJson<FieldJson>(ports, [
        ...['firestore', 'indexes', 'fields', 'describe', probe.field],
        `--collection-group=${probe.collectionGroup}`,
        ...['--database=(default)', '--format=json', p],
      ]);
      if (!field) return undefined;
      if (probe.type === 'ttl') {
        const state = field.ttlConfig?.state ?? '';
        return ['ACTIVE', 'CREATING'].includes(state) ? { ttl: 'enabled' } : { ttl: 'disabled' };
      }
      const disabled =
        !field.indexConfig?.usesAncestorConfig && (field.indexConfig?.indexes ?? []).length === 0;
      return { indexes: disabled ? 'disabled' : 'enabled' };
    }
    case 'queue': {
      const [queue] =
        (await clientRead(ports, `queue ${probe.name}`, () =>
          ports.tasks.getQueue({ name: probe.name }),
        )) ?? [];
      if (!queue) return undefined;
      return {
        maxAttempts: String(queue.retryConfig?.maxAttempts ?? ''),
        minBackoff: seconds(queue.retryConfig?.minBackoff),
        maxBackoff: seconds(queue.retryConfig?.maxBackoff),
        maxDoublings: String(queue.retryConfig?.maxDoublings ?? ''),
        maxDispatchesPerSecond: String(queue.rateLimits?.maxDispatchesPerSecond ?? ''),
        maxConcurrentDispatches: String(queue.rateLimits?.maxConcurrentDispatches ?? ''),
      };
    }
    case 'service': {
      const service = await readJson<{ metadata?: { labels?: Record<string, string> } }>(ports, [
        ...['run', 'services', 'describe', probe.service],
        `--region=${ports.region}`,
        '--format=json',
        p,
      ]);
      return service && { bundle: service.metadata?.labels?.['vmci-bundle'] ?? '' };
    }
    case 'describe': {
      const json = await readJson<unknown>(ports, probe.args);
      if (json === undefined) return undefined;
      return Object.fromEntries(
        Object.entries(probe.fields).map(([key, path]) => [key, valueAt(json, path)]),
      );
    }
    case 'job': {
      const [job] =
        (await clientRead(ports, `job ${probe.name}`, () =>
          ports.scheduler.getJob({ name: probe.name }),
        )) ?? [];
      if (!job) return undefined;
      return {
        schedule: job.schedule ?? '',
        timeZone: job.timeZone ?? '',
        uri: job.httpTarget?.uri ?? '',
        serviceAccount: job.httpTarget?.oidcToken?.serviceAccountEmail ?? '',
        audience: job.httpTarget?.oidcToken?.audience ?? '',
      };
    }
  }
}

/** What exists of each resource, in the same order; throws ReadError on a read that failed. */
export async function observeAll(
  resources: ReadonlyArray<Pick<Resource, 'probe'>>,
  ports: ReadPorts,
): Promise<Observed[]> {
  return Promise.all(resources.map((r) => observeOne(r.probe, ports)));
}
