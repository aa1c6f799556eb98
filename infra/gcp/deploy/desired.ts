// Pure: the configuration and a few facts about the project → every resource
// deploy manages, in the order they must exist (DESIGN §8a).
import { createHash } from 'node:crypto';
import { filesBucket, schedulerServiceAccount, type VmciConfig } from '../../../shared/config';
import { FUNCTION_NAMES, functionUrl, type FunctionName } from '../../../shared/config/urls';
import { SWEEP_NAMES, SWEEP_SCHEDULES, SWEEP_TIME_ZONE } from '../../../shared/sweeps/schedules';
import firestoreIndexes from '../firestore.indexes.json';
import {
  accountsToCreate,
  DUTY_OF,
  dutyAccount,
  ENQUEUERS,
  DUTIES,
  fileRoles,
  PROJECT_ROLES,
  vmAccounts,
} from './accounts';
import { networkResources } from './network';
import {
  BOUND,
  EXISTS,
  PUBLIC_MEMBERS,
  type Call,
  type CallFile,
  type IamTarget,
  type Observed,
  type Probe,
  type Resource,
} from './resources';
import {
  addValueCommand,
  allSecrets,
  secretsOf,
  type GitHubAuthMode,
  type SecretSpec,
} from './secrets';

export const APIS = [
  'iam.googleapis.com',
  'secretmanager.googleapis.com',
  'firestore.googleapis.com',
  'cloudtasks.googleapis.com',
  'cloudscheduler.googleapis.com',
  'compute.googleapis.com',
  'artifactregistry.googleapis.com',
  'cloudbuild.googleapis.com',
  'run.googleapis.com',
  'storage.googleapis.com',
] as const;

const DATABASE = '(default)';
/** The Cloud Run label that holds the hash of a function's bundle and flags. */
export const BUNDLE_LABEL = 'vmci-bundle';

/** What deploy learnt before planning: none of it is a secret value. */
export interface Facts {
  projectNumber: string;
  /** A hash of each function's bundle folder. */
  bundleHashes: Readonly<Record<FunctionName, string>>;
  /** The folder holding the bundles, as passed to --source (e.g. ".deploy"). */
  bundleRoot: string;
  /** Each secret's newest enabled version number; absent: none, or no secret. */
  secretVersions: Readonly<Record<string, number>>;
  githubAuth: GitHubAuthMode;
}

/** The Cloud Run service of a function. */
export function serviceName(fn: FunctionName): string {
  return `vmci-${fn.toLowerCase()}`;
}

/** What publicUrl must be for the services deploy makes (Cloud Run's deterministic URLs). */
export function expectedPublicUrl(config: Pick<VmciConfig, 'region'>, projectNumber: string) {
  return `https://vmci-{function}-${projectNumber}.${config.region}.run.app`;
}

export function queuePath(config: VmciConfig): string {
  return `projects/${config.project}/locations/${config.region}/queues/${config.queue.name}`;
}

export function jobId(sweep: FunctionName): string {
  return `vmci-${sweep.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

export function jobPath(config: VmciConfig, sweep: FunctionName): string {
  return `projects/${config.project}/locations/${config.region}/jobs/${jobId(sweep)}`;
}

interface FunctionSettings {
  memory: string;
  timeoutSeconds: number;
  maxInstances: number;
  concurrency: number;
  public: boolean;
}

function functionSettings(config: VmciConfig, fn: FunctionName): FunctionSettings {
  const door = { memory: '512Mi', timeoutSeconds: 60, maxInstances: 10, concurrency: 80 };
  const sweep = { memory: '512Mi', timeoutSeconds: 540, maxInstances: 1, concurrency: 1 };
  switch (fn) {
    case 'webhook':
    case 'progress':
    case 'status':
      return { ...door, public: true };
    case 'runTest':
      return {
        memory: '512Mi',
        timeoutSeconds: config.queue.dispatchDeadlineSeconds,
        maxInstances: 10,
        concurrency: 10,
        public: false,
      };
    case 'sweepPending':
    case 'sweepExpired':
      return { ...sweep, public: false };
  }
}

const member = (email: string) => `serviceAccount:${email}`;
const INVOKER = 'roles/run.invoker';

function projectTarget(project: string): IamTarget {
  return {
    label: `project ${project}`,
    getPolicy: ['projects', 'get-iam-policy', project, '--format=json'],
    addBinding: (who, role) => [
      'projects',
      'add-iam-policy-binding',
      project,
      `--member=${who}`,
      `--role=${role}`,
      '--condition=None',
      '--format=none',
    ],
  };
}

function accountTarget(project: string, email: string): IamTarget {
  const p = `--project=${project}`;
  return {
    label: `service account ${email}`,
    getPolicy: ['iam', 'service-accounts', 'get-iam-policy', email, p, '--format=json'],
    addBinding: (who, role) => [
      ...['iam', 'service-accounts', 'add-iam-policy-binding', email],
      ...[`--member=${who}`, `--role=${role}`, p, '--format=none'],
    ],
  };
}

function secretTarget(project: string, secret: string): IamTarget {
  const p = `--project=${project}`;
  return {
    label: `secret ${secret}`,
    getPolicy: ['secrets', 'get-iam-policy', secret, p, '--format=json'],
    addBinding: (who, role) => [
      ...['secrets', 'add-iam-policy-binding', secret],
      ...[`--member=${who}`, `--role=${role}`, p, '--format=none'],
    ],
  };
}

function queueTarget(config: VmciConfig): IamTarget {
  const where = [`--location=${config.region}`, `--project=${config.project}`];
  const name = config.queue.name;
  return {
    label: `queue ${name}`,
    getPolicy: ['tasks', 'queues', 'get-iam-policy', name, ...where, '--format=json'],
    addBinding: (who, role) => [
      ...['tasks', 'queues', 'add-iam-policy-binding', name],
      ...[`--member=${who}`, `--role=${role}`, ...where, '--format=none'],
    ],
  };
}

function serviceTarget(config: VmciConfig, service: string): IamTarget {
  const where = [`--region=${config.region}`, `--project=${config.project}`];
  return {
    label: `service ${service}`,
    getPolicy: ['run', 'services', 'get-iam-policy', service, ...where, '--format=json'],
    addBinding: (who, role) => [
      ...['run', 'services', 'add-iam-policy-binding', service],
      ...[`--member=${who}`, `--role=${role}`, ...where, '--format=none'],
    ],
    removeBinding: (who, role) => [
      ...['run', 'services', 'remove-iam-policy-binding', service],
      ...[`--member=${who}`, `--role=${role}`, '--all', ...where, '--format=none'],
    ],
  };
}

/** The files bucket, as gcloud storage names it. */
export function bucketUrl(config: VmciConfig): string {
  return `gs://${filesBucket(config)}`;
}

/** How deploy and undeploy read the bucket: the JSON API's fields, as they are. */
export function bucketProbe(config: VmciConfig): Probe {
  const describe = ['storage', 'buckets', 'describe', bucketUrl(config), '--raw', '--format=json'];
  return { type: 'bucket', args: [...describe, `--project=${config.project}`] };
}

export function bucketTarget(config: VmciConfig): IamTarget {
  const url = bucketUrl(config);
  const p = `--project=${config.project}`;
  return {
    label: `bucket ${url}`,
    getPolicy: ['storage', 'buckets', 'get-iam-policy', url, p, '--format=json'],
    addBinding: (who, role) => [
      ...['storage', 'buckets', 'add-iam-policy-binding', url],
      ...[`--member=${who}`, `--role=${role}`, p, '--format=none'],
    ],
    removeBinding: (who, role) => [
      ...['storage', 'buckets', 'remove-iam-policy-binding', url],
      ...[`--member=${who}`, `--role=${role}`, '--all', p, '--format=none'],
    ],
  };
}

function binding(target: IamTarget, email: string, role: string): Resource {
  const who = member(email);
  return {
    kind: 'iam binding',
    name: `${role} for ${email} on ${target.label}`,
    probe: { type: 'binding', target, member: who, role },
    want: { ...BOUND },
    create: [{ via: 'gcloud', args: target.addBinding(who, role) }],
  };
}

const gcloud = (...args: string[]): Call => ({ via: 'gcloud', args });

function apis(config: VmciConfig): Resource[] {
  return APIS.map((service) => ({
    kind: 'api',
    name: service,
    probe: { type: 'api', service },
    want: { enabled: 'yes' },
    create: [gcloud('services', 'enable', service, `--project=${config.project}`)],
  }));
}

function accounts(config: VmciConfig): Resource[] {
  return accountsToCreate(config).map((email) => {
    const id = email.slice(0, email.indexOf('@'));
    return {
      kind: 'service account',
      name: email,
      probe: { type: 'account', email },
      want: { ...EXISTS },
      create: [
        gcloud(
          ...['iam', 'service-accounts', 'create', id],
          `--display-name=vm-ci ${id}`,
          `--project=${config.project}`,
        ),
      ],
    };
  });
}

/** The duties' roles on the project (what undeploy removes: the rest goes with its resource). */
export function projectRoles(config: VmciConfig): Resource[] {
  const target = projectTarget(config.project);
  return DUTIES.flatMap((duty) =>
    PROJECT_ROLES[duty].map((role) => binding(target, dutyAccount(config, duty), role)),
  );
}

/** Who reads each secret: the accounts of the functions given it. */
function secretReaders(config: VmciConfig, mode: GitHubAuthMode, secret: string): string[] {
  const readers = FUNCTION_NAMES.filter((fn) =>
    secretsOf(fn, mode).some((s) => s.secret === secret),
  ).map((fn) => dutyAccount(config, DUTY_OF[fn]));
  return [...new Set(readers)];
}

function secrets(config: VmciConfig, facts: Facts): Resource[] {
  const project = `--project=${config.project}`;
  return allSecrets(facts.githubAuth)
    .filter((s) => !s.optional || facts.secretVersions[s.secret] !== undefined)
    .flatMap((s): Resource[] => [
      {
        kind: 'secret',
        name: s.secret,
        probe: { type: 'secret', secret: s.secret },
        want: { ...EXISTS },
        create: [gcloud('secrets', 'create', s.secret, '--replication-policy=automatic', project)],
      },
      {
        kind: 'secret value',
        name: `${s.secret} (${s.variable})`,
        probe: { type: 'secret-value', secret: s.secret },
        want: { enabledVersion: 'yes' },
        create: [],
        blocked: `secret ${s.secret} has no enabled version: add the ${s.variable} value with: ${addValueCommand(s.secret, config.project)}`,
      },
      ...secretReaders(config, facts.githubAuth, s.secret).map((email) =>
        binding(
          secretTarget(config.project, s.secret),
          email,
          'roles/secretmanager.secretAccessor',
        ),
      ),
    ]);
}

interface IndexField {
  fieldPath: string;
  order?: string;
  arrayConfig?: string;
}

function indexSignature(collectionGroup: string, fields: readonly IndexField[]): string {
  const parts = fields.map(
    (f) => `${f.fieldPath} ${(f.order ?? `array-${f.arrayConfig ?? ''}`).toLowerCase()}`,
  );
  return `${collectionGroup}(${parts.join(', ')})`;
}

/** Firestore: the database, every composite index, TTL policy and exemption of firestore.indexes.json. */
function firestore(config: VmciConfig): Resource[] {
  const where = [`--database=${DATABASE}`, `--project=${config.project}`];
  const database: Resource = {
    kind: 'firestore database',
    name: DATABASE,
    probe: { type: 'database' },
    want: { location: config.region, type: 'FIRESTORE_NATIVE' },
    create: [
      gcloud(
        ...['firestore', 'databases', 'create'],
        `--location=${config.region}`,
        '--type=firestore-native',
        ...where,
      ),
    ],
    // Location and type cannot change: a database in the wrong place is a person's call.
    immutable: `the Firestore database ${DATABASE} cannot move or change type: it must be a FIRESTORE_NATIVE database in ${config.region} (the configuration's region)`,
  };
  const indexes = firestoreIndexes.indexes.map((index): Resource => {
    const fields = index.fields as IndexField[];
    const signature = indexSignature(index.collectionGroup, fields);
    return {
      kind: 'firestore index',
      name: signature,
      probe: { type: 'index', collectionGroup: index.collectionGroup, signature },
      want: { ...EXISTS },
      create: [
        gcloud(
          ...['firestore', 'indexes', 'composite', 'create'],
          `--collection-group=${index.collectionGroup}`,
          `--query-scope=${index.queryScope.toLowerCase()}`,
          ...fields.map((f) =>
            f.order
              ? `--field-config=field-path=${f.fieldPath},order=${f.order.toLowerCase()}`
              : `--field-config=field-path=${f.fieldPath},array-config=${(f.arrayConfig ?? 'contains').toLowerCase()}`,
          ),
          ...where,
          '--async',
        ),
      ],
    };
  });
  const overrides = firestoreIndexes.fieldOverrides.flatMap((o): Resource[] => {
    const out: Resource[] = [];
    const group = `--collection-group=${o.collectionGroup}`;
    const name = `${o.collectionGroup}.${o.fieldPath}`;
    if ('ttl' in o && o.ttl) {
      out.push({
        kind: 'firestore ttl',
        name,
        probe: { type: 'ttl', collectionGroup: o.collectionGroup, field: o.fieldPath },
        want: { ttl: 'enabled' },
        create: [
          gcloud(
            ...['firestore', 'fields', 'ttls', 'update', o.fieldPath],
            group,
            '--enable-ttl',
            ...where,
            '--async',
          ),
        ],
      });
    }
    if (o.indexes.length === 0) {
      out.push({
        kind: 'firestore exemption',
        name,
        probe: { type: 'exemption', collectionGroup: o.collectionGroup, field: o.fieldPath },
        want: { indexes: 'disabled' },
        create: [
          gcloud(
            ...['firestore', 'indexes', 'fields', 'update', o.fieldPath],
            group,
            '--disable-indexes',
            ...where,
            '--async',
          ),
        ],
      });
    }
    return out;
  });
  return [database, ...indexes, ...overrides];
}

/** The lifecycle file gcloud reads, kept beside the bundles. */
export const LIFECYCLE_FILE = 'files-lifecycle.json';

/**
 * The tests' files (DESIGN §6): one bucket in the region, private (uniform
 * bucket-level access, public access prevention enforced), no versioning, and
 * a lifecycle rule that deletes each file retentionDays after it was written;
 * progress and status get their roles on it only.
 */
function files(config: VmciConfig, facts: Facts): Resource[] {
  const url = bucketUrl(config);
  const p = `--project=${config.project}`;
  const days = config.files.retentionDays;
  const lifecycle: CallFile = {
    path: `${facts.bundleRoot}/${LIFECYCLE_FILE}`,
    content: JSON.stringify({ rule: [{ action: { type: 'Delete' }, condition: { age: days } }] }),
  };
  const lifecycleFlag = `--lifecycle-file=${lifecycle.path}`;
  const UPDATE_FLAGS: Record<string, string> = {
    uniformAccess: '--uniform-bucket-level-access',
    publicAccessPrevention: '--public-access-prevention',
    versioning: '--no-versioning',
    lifecycle: lifecycleFlag,
  };
  const bucket: Resource = {
    kind: 'bucket',
    name: url,
    probe: bucketProbe(config),
    want: {
      uniformAccess: 'on',
      publicAccessPrevention: 'enforced',
      versioning: 'off',
      lifecycle: `Delete after ${days} days`,
    },
    create: [
      {
        via: 'gcloud',
        args: [
          ...['storage', 'buckets', 'create', url, `--location=${config.region}`],
          '--uniform-bucket-level-access',
          '--public-access-prevention',
          lifecycleFlag,
          p,
        ],
        file: lifecycle,
      },
    ],
    update: (changed) => [
      {
        via: 'gcloud',
        args: [
          ...['storage', 'buckets', 'update', url],
          ...changed.flatMap((key) => UPDATE_FLAGS[key] ?? []),
          p,
        ],
        ...(changed.includes('lifecycle') && { file: lifecycle }),
      },
    ],
    // A bucket cannot move: one elsewhere works (it is only further away), so it is a note.
    warn: (seen) =>
      seen && seen.location !== config.region
        ? `${url} is in ${seen.location || 'an unknown location'}, not ${config.region} (the configuration's region); a bucket cannot move: to have it there, set another files.bucket`
        : undefined,
  };
  return [bucket, ...bucketRoles(config)];
}

/** progress's and status's roles on the files bucket (what undeploy removes when it keeps the bucket). */
export function bucketRoles(config: VmciConfig): Resource[] {
  return fileRoles(config).map(([email, role]) => binding(bucketTarget(config), email, role));
}

function seconds(n: number) {
  return { seconds: n };
}

/** The queue as the Cloud Tasks client wants it, and its flat form. */
function queue(config: VmciConfig): Resource[] {
  const q = config.queue;
  const spec = {
    name: queuePath(config),
    rateLimits: {
      maxDispatchesPerSecond: q.maxDispatchesPerSecond,
      maxConcurrentDispatches: q.maxConcurrentDispatches,
    },
    retryConfig: {
      maxAttempts: q.maxAttempts,
      minBackoff: seconds(q.minBackoffSeconds),
      maxBackoff: seconds(q.maxBackoffSeconds),
      maxDoublings: q.maxDoublings,
    },
  };
  const queueResource: Resource = {
    kind: 'queue',
    name: q.name,
    probe: { type: 'queue', name: spec.name },
    want: {
      maxAttempts: String(q.maxAttempts),
      minBackoff: `${q.minBackoffSeconds}s`,
      maxBackoff: `${q.maxBackoffSeconds}s`,
      maxDoublings: String(q.maxDoublings),
      maxDispatchesPerSecond: String(q.maxDispatchesPerSecond),
      maxConcurrentDispatches: String(q.maxConcurrentDispatches),
    },
    create: [{ via: 'tasks', method: 'createQueue', queue: spec }],
    update: (changed) => [
      {
        via: 'tasks',
        method: 'updateQueue',
        queue: spec,
        updateMask: changed.map((key) => QUEUE_FIELD_PATHS[key] ?? key),
      },
    ],
  };
  const enqueuers = ENQUEUERS.map((duty) => dutyAccount(config, duty));
  return [
    queueResource,
    ...enqueuers.map((email) => binding(queueTarget(config), email, 'roles/cloudtasks.enqueuer')),
    // Creating a task with an OIDC token of the task account is acting as it.
    ...enqueuers.map((email) =>
      binding(
        accountTarget(config.project, config.queue.serviceAccount),
        email,
        'roles/iam.serviceAccountUser',
      ),
    ),
  ];
}

const QUEUE_FIELD_PATHS: Record<string, string> = {
  maxAttempts: 'retry_config.max_attempts',
  minBackoff: 'retry_config.min_backoff',
  maxBackoff: 'retry_config.max_backoff',
  maxDoublings: 'retry_config.max_doublings',
  maxDispatchesPerSecond: 'rate_limits.max_dispatches_per_second',
  maxConcurrentDispatches: 'rate_limits.max_concurrent_dispatches',
};

function setSecrets(specs: readonly SecretSpec[], facts: Facts): string {
  return specs
    .filter((s) => !s.optional || facts.secretVersions[s.secret] !== undefined)
    .map((s) => `${s.variable}=${s.secret}:${facts.secretVersions[s.secret] ?? '<none>'}`)
    .join(',');
}

/** `gcloud run deploy` for one function, and the hash of its bundle and flags. */
export function deployArgs(config: VmciConfig, facts: Facts, fn: FunctionName) {
  const settings = functionSettings(config, fn);
  const secretsFlag = setSecrets(secretsOf(fn, facts.githubAuth), facts);
  const args = [
    ...['run', 'deploy', serviceName(fn)],
    `--source=${facts.bundleRoot}/${fn}`,
    `--region=${config.region}`,
    `--project=${config.project}`,
    `--service-account=${dutyAccount(config, DUTY_OF[fn])}`,
    `--build-service-account=projects/${config.project}/serviceAccounts/${dutyAccount(config, 'builder')}`,
    '--set-env-vars=VMCI_CONFIG=vmci.yaml',
    ...(secretsFlag ? [`--set-secrets=${secretsFlag}`] : []),
    `--memory=${settings.memory}`,
    `--timeout=${settings.timeoutSeconds}`,
    '--min-instances=0',
    `--max-instances=${settings.maxInstances}`,
    `--concurrency=${settings.concurrency}`,
    '--cpu-boost',
    settings.public ? '--allow-unauthenticated' : '--no-allow-unauthenticated',
  ];
  const hash = createHash('sha256')
    .update(`${facts.bundleHashes[fn]}\0${JSON.stringify(args)}`)
    .digest('hex')
    .slice(0, 20);
  return { args: [...args, `--labels=${BUNDLE_LABEL}=${hash}`, '--quiet'], hash };
}

function functions(config: VmciConfig, facts: Facts): Resource[] {
  return FUNCTION_NAMES.flatMap((fn): Resource[] => {
    const { args, hash } = deployArgs(config, facts, fn);
    const missing = secretsOf(fn, facts.githubAuth).filter(
      (s) => !s.optional && facts.secretVersions[s.secret] === undefined,
    );
    const service: Resource = {
      kind: 'function',
      name: `${fn} (${serviceName(fn)})`,
      probe: { type: 'service', service: serviceName(fn) },
      want: { bundle: hash },
      create: [{ via: 'gcloud', args }],
      ...(missing.length > 0 && {
        blocked: `${fn} needs a value in ${missing.map((s) => s.secret).join(', ')} first (see above)`,
      }),
    };
    // The check goes first: a redeploy would drop allUsers itself, and the removal then fail.
    return [invokerCheck(config, fn), service, ...invokers(config, fn)];
  });
}

/**
 * Who may call a function's service, read back: an internal one (runTest, the
 * sweeps) that someone made public by hand loses allUsers and
 * allAuthenticatedUsers; a public one with invokers besides allUsers is noted.
 */
function invokerCheck(config: VmciConfig, fn: FunctionName): Resource {
  const service = serviceName(fn);
  const target = serviceTarget(config, service);
  const check = {
    kind: 'service invokers',
    name: service,
    probe: { type: 'invokers', target, role: INVOKER } as const,
    create: [],
    onlyIfPresent: true,
  };
  if (functionSettings(config, fn).public) {
    const where = `--region=${config.region} --project=${config.project}`;
    const others = (seen: Observed) =>
      (seen?.members ?? '').split(',').filter((m) => m !== '' && m !== 'allUsers');
    return {
      ...check,
      want: {},
      warn: (seen) =>
        others(seen).length > 0
          ? `${INVOKER} on ${service} is also held by ${others(seen).join(', ')} (a public service needs allUsers only); deploy leaves it: if not meant, gcloud run services remove-iam-policy-binding ${service} --member=<member> --role=${INVOKER} ${where}`
          : undefined,
    };
  }
  return {
    ...check,
    want: Object.fromEntries(PUBLIC_MEMBERS.map((m) => [m, 'no'])),
    update: (changed) =>
      changed.map((member): Call => ({
        via: 'gcloud',
        args: target.removeBinding!(member, INVOKER),
      })),
    why: `${fn} is internal: on Cloud Run vm-ci accepts a caller's token only as Cloud Run verified it, and Cloud Run verifies none for a public service, so anyone can call ${service}`,
  };
}

/** Only the queue's account may call runTest, only the scheduler's the sweeps. */
function invokers(config: VmciConfig, fn: FunctionName): Resource[] {
  const caller =
    fn === 'runTest'
      ? config.queue.serviceAccount
      : (SWEEP_NAMES as readonly string[]).includes(fn)
        ? schedulerServiceAccount(config)
        : undefined;
  if (caller === undefined) return [];
  return [binding(serviceTarget(config, serviceName(fn)), caller, INVOKER)];
}

function jobs(config: VmciConfig): Resource[] {
  return SWEEP_NAMES.map((sweep): Resource => {
    const url = functionUrl(config, sweep);
    const account = schedulerServiceAccount(config);
    const job: Call & { via: 'scheduler' } = {
      via: 'scheduler',
      method: 'createJob',
      job: {
        name: jobPath(config, sweep),
        schedule: SWEEP_SCHEDULES[sweep],
        timeZone: SWEEP_TIME_ZONE,
        httpTarget: {
          uri: url,
          httpMethod: 'POST',
          oidcToken: { serviceAccountEmail: account, audience: url },
        },
      },
    };
    return {
      kind: 'scheduler job',
      name: jobId(sweep),
      probe: { type: 'job', name: jobPath(config, sweep) },
      want: {
        schedule: SWEEP_SCHEDULES[sweep],
        timeZone: SWEEP_TIME_ZONE,
        uri: url,
        serviceAccount: account,
        audience: url,
      },
      create: [job],
      update: () => [{ ...job, method: 'updateJob' }],
    };
  });
}

/** runTest acts as the VMs' accounts when it creates VMs that run as them. */
function vmAccountUsers(config: VmciConfig): Resource[] {
  return vmAccounts(config).map((email) =>
    binding(
      accountTarget(config.project, email),
      dutyAccount(config, 'runner'),
      'roles/iam.serviceAccountUser',
    ),
  );
}

export function desiredResources(config: VmciConfig, facts: Facts): Resource[] {
  return [
    ...apis(config),
    ...accounts(config),
    ...projectRoles(config),
    ...vmAccountUsers(config),
    ...secrets(config, facts),
    ...firestore(config),
    ...files(config, facts),
    ...queue(config),
    ...functions(config, facts),
    ...jobs(config),
    ...networkResources(config),
  ];
}
