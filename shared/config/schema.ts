// The vm-ci configuration file (DESIGN §7), as one zod schema. Defaults are
// written next to each key; README.md (Configuration) explains every key.
// Secrets never live here: see ./secrets.ts.
import { FUNCTION_PLACEHOLDER } from './urls';
import { z } from 'zod';

export const OS_TYPES = ['linux', 'windows'] as const;
export type OsType = (typeof OS_TYPES)[number];

export const SUPERSEDE_MODES = ['queued', 'all', 'none'] as const;
export type SupersedeMode = (typeof SUPERSEDE_MODES)[number];

/** Windows images are 50 GB, so that is also the smallest Windows disk. */
export const MIN_DISK_SIZE_GB: Readonly<Record<OsType, number>> = { linux: 10, windows: 50 };
export const DEFAULT_DISK_SIZE_GB: Readonly<Record<OsType, number>> = { linux: 20, windows: 50 };
/** Paths are relative to the deployed source root (the function's working directory). */
export const DEFAULT_STARTUP_SCRIPT: Readonly<Record<OsType, string>> = {
  linux: 'infra/vm/linux/startup.sh',
  windows: 'infra/vm/windows/startup.ps1',
};
/** How long a test waits for its platform's buildWorkflow before it ends `error`. */
export const DEFAULT_WAIT_FOR_BUILD_MINUTES = 120;
/** VM labels under this prefix are vm-ci's own (test id, platform); orphan detection relies on them. */
export const RESERVED_LABEL_PREFIX = 'vmci';

// Platform names go into VM names, task names and label values.
export const PLATFORM_NAME = /^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$/;
// `us-central1-a`, `europe-west10-c`, and the local stand-in's `local-a`.
export const ZONE = /^[a-z]+[0-9]*(-[a-z]+[0-9]+)?-[a-z]$/;
const REGION = /^[a-z]+[0-9]*(-[a-z]+[0-9]+)?$/;
const PROJECT_ID_PART = '[a-z][a-z0-9-]{4,28}[a-z0-9]';
const PROJECT_ID = new RegExp(`^${PROJECT_ID_PART}$`);
const RESOURCE_NAME_PART = '[a-z]([-a-z0-9]{0,61}[a-z0-9])?';
const IMAGE = new RegExp(
  `^projects/${PROJECT_ID_PART}/global/images/(family/)?${RESOURCE_NAME_PART}$`,
);
const NETWORK = new RegExp(
  `^(projects/${PROJECT_ID_PART}/)?global/networks/${RESOURCE_NAME_PART}$`,
);
const SUBNETWORK = new RegExp(
  `^(projects/${PROJECT_ID_PART}/)?regions/([a-z0-9-]+)/subnetworks/${RESOURCE_NAME_PART}$`,
);
const MACHINE_TYPE = /^[a-z][a-z0-9]*(-[a-z0-9]+)+$/;
/** A GitHub repository, "owner/name". */
export const REPOSITORY = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/;
const GITHUB_LOGIN = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}(\[bot\])?$/;
// Git forbids whitespace, `~ ^ : \` in ref names; `*` and `?` stay for globs.
const BRANCH_PATTERN = /^(?!refs\/|\/)[^\s~^:\\]+$/;
const WORKFLOW_FILE = /^[A-Za-z0-9._-]+\.ya?ml$/;
// GitHub refuses these characters in artifact names.
const ARTIFACT_NAME = /^[^":<>|*?\r\n\\/]{1,255}$/;
const QUEUE_NAME = /^[A-Za-z0-9-]{1,100}$/;
const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
const PLACEHOLDER = /\{[^}]*\}/g;
const LOCAL_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

/**
 * Cross-field checks also run when a field already failed, so that every problem
 * is listed at once; the checks therefore guard against wrongly typed values.
 */
const whenObject = {
  when: ({ value }: { value: unknown }) =>
    typeof value === 'object' && value !== null && !Array.isArray(value),
};

const pattern = (regex: RegExp, message: string) => z.string().regex(regex, { message });
// A message only for a bad format; a missing value stays "required".
const email = z.email({
  error: (issue) =>
    issue.code === 'invalid_format' ? 'expected a service account email address' : undefined,
});

/** An https URL (http only on localhost), without a trailing slash so paths can be appended. */
const servedUrl = z
  .string()
  .refine(isServedUrl, {
    message: 'expected an https URL without query or fragment (http only for localhost)',
  })
  .transform((url) => url.replace(/\/+$/, ''));

/** publicUrl: a servedUrl, or one with `{function}` once (a URL per function). */
const publicUrlSchema = z
  .string()
  .refine((text) => text.split(FUNCTION_PLACEHOLDER).length <= 2, {
    message: `expected ${FUNCTION_PLACEHOLDER} at most once`,
  })
  .refine((text) => isServedUrl(text.replace(FUNCTION_PLACEHOLDER, 'webhook')), {
    message: 'expected an https URL without query or fragment (http only for localhost)',
  })
  .transform((url) => url.replace(/\/+$/, ''));

function isServedUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const url = new URL(text);
  const local = url.protocol === 'http:' && LOCAL_HOSTS.includes(url.hostname);
  return (url.protocol === 'https:' || local) && !url.search && !url.hash && !url.username;
}

function regionOfZone(zone: string): string {
  return zone.slice(0, zone.lastIndexOf('-'));
}

/** Adds an issue on every entry that repeats an earlier one (compared by `key`). */
function rejectDuplicates(
  list: readonly unknown[],
  ctx: z.RefinementCtx,
  key: (value: string) => string = (value) => value,
) {
  const firstIndex = new Map<string, number>();
  list.forEach((value, index) => {
    if (typeof value !== 'string') return;
    const first = firstIndex.get(key(value));
    if (first === undefined) firstIndex.set(key(value), index);
    else ctx.addIssue({ code: 'custom', path: [index], message: `duplicate of item ${first}` });
  });
}

const zoneList = z
  .array(pattern(ZONE, 'expected a zone name such as us-central1-a'))
  .min(1)
  .superRefine((zones, ctx) => rejectDuplicates(zones, ctx));

const labelsSchema = z.record(
  pattern(LABEL_KEY, 'label keys are lowercase letters, digits, _ and -, starting with a letter')
    // vm-ci's own labels must not be overwritten.
    .refine((key) => !key.startsWith(RESERVED_LABEL_PREFIX), {
      message: `label keys starting with "${RESERVED_LABEL_PREFIX}" are reserved for vm-ci`,
    }),
  pattern(LABEL_VALUE, 'label values are lowercase letters, digits, _ and -, at most 63'),
);

const platformFields = z.strictObject({
  os: z.enum(OS_TYPES),
  machineType: pattern(MACHINE_TYPE, 'expected a machine type such as e2-standard-2'),
  image: pattern(
    IMAGE,
    'expected an image path such as projects/debian-cloud/global/images/family/debian-12',
  ),
  diskSizeGb: z.int().min(MIN_DISK_SIZE_GB.linux).max(65536).optional(), // default: DEFAULT_DISK_SIZE_GB[os]
  zones: zoneList, // in order of preference
  spot: z.boolean().default(false),
  spotFallbackToStandard: z.boolean().default(true),
  maxConcurrent: z.int().min(1).default(2),
  maxRunMinutes: z.int().min(1).max(1440).default(60),
  testCommand: z.string().trim().min(1),
  startupScript: z.string().trim().min(1).optional(), // default: DEFAULT_STARTUP_SCRIPT[os]
  buildWorkflow: pattern(
    WORKFLOW_FILE,
    'expected a workflow file name such as build.yml',
  ).optional(),
  artifactName: pattern(ARTIFACT_NAME, 'expected a GitHub artifact name').optional(),
  // A week at most; default DEFAULT_WAIT_FOR_BUILD_MINUTES (only with buildWorkflow).
  waitForBuildMinutes: z.int().min(1).max(10080).optional(),
  maintenance: z.boolean().default(false),
  network: pattern(NETWORK, 'expected a network path such as global/networks/default').default(
    'global/networks/default',
  ),
  subnetwork: pattern(
    SUBNETWORK,
    'expected a subnetwork path such as regions/us-central1/subnetworks/default',
  ).optional(),
  // Absent: only on a network named `default`, which has no Cloud NAT to go out through.
  externalIp: z.boolean().optional(),
  serviceAccount: email.optional(), // absent: the VM gets no service account
  labels: labelsSchema.default({}),
});
type PlatformFields = z.output<typeof platformFields>;

// Values may be of the wrong type here (see `whenObject`), hence the typeof guards.
function checkPlatform(p: PlatformFields, ctx: z.RefinementCtx) {
  const problem = (key: keyof PlatformFields, message: string) =>
    ctx.addIssue({ code: 'custom', path: [key], message });
  if (p.buildWorkflow !== undefined && p.artifactName === undefined) {
    problem('artifactName', 'required when buildWorkflow is set');
  }
  if (p.artifactName !== undefined && p.buildWorkflow === undefined) {
    problem('artifactName', 'needs buildWorkflow, the workflow that uploads the artifact');
  }
  if (p.waitForBuildMinutes !== undefined && p.buildWorkflow === undefined) {
    problem('waitForBuildMinutes', 'needs buildWorkflow, the workflow the tests wait for');
  }
  if (p.os === 'windows' && typeof p.diskSizeGb === 'number' && p.diskSizeGb < 50) {
    problem('diskSizeGb', `Windows needs at least ${MIN_DISK_SIZE_GB.windows}`);
  }
  // Windows only runs a startup script given as `windows-startup-script-ps1`.
  if (
    p.os === 'windows' &&
    typeof p.startupScript === 'string' &&
    !/\.ps1$/.test(p.startupScript)
  ) {
    problem('startupScript', 'Windows startup scripts are PowerShell: expected a .ps1 file');
  }
  // A subnetwork belongs to one region; a VM in a zone of another region cannot use it.
  const region = typeof p.subnetwork === 'string' ? SUBNETWORK.exec(p.subnetwork)?.[2] : undefined;
  const outside =
    region && Array.isArray(p.zones)
      ? p.zones.filter((zone) => ZONE.test(zone) && regionOfZone(zone) !== region)
      : [];
  if (outside.length > 0) {
    problem('subnetwork', `is in region ${region}, but zones ${outside.join(', ')} are not`);
  }
}

export const platformSchema = platformFields
  .superRefine(checkPlatform, whenObject)
  .transform((p) => ({
    ...p,
    diskSizeGb: p.diskSizeGb ?? DEFAULT_DISK_SIZE_GB[p.os],
    startupScript: p.startupScript ?? DEFAULT_STARTUP_SCRIPT[p.os],
  }));

const platformsSchema = z.record(z.string(), platformSchema).superRefine((platforms, ctx) => {
  const names = Object.keys(platforms);
  if (names.length === 0) {
    ctx.addIssue({ code: 'custom', path: [], message: 'expected at least 1 platform' });
  }
  for (const name of names.filter((name) => !PLATFORM_NAME.test(name))) {
    ctx.addIssue({
      code: 'custom',
      path: [name],
      message:
        'platform names are lowercase letters, digits and -, start with a letter, at most 20 (they go into VM names)',
    });
  }
}, whenObject);

// The Cloud Tasks queue. The retry settings are applied to the queue at deploy time
// and read by runTest to know when a retriable failure has used up its budget.
const queueSchema = z
  .strictObject({
    name: pattern(QUEUE_NAME, 'expected a queue id: letters, digits and -').default('test-runs'),
    maxAttempts: z.int().min(1).default(10), // finite: a test is never retried forever
    minBackoffSeconds: z.int().min(0).default(10),
    maxBackoffSeconds: z.int().min(1).default(300),
    maxDoublings: z.int().min(0).max(16).default(4),
    dispatchDeadlineSeconds: z.int().min(15).max(1800).default(600), // Cloud Tasks' HTTP limits
    // The queue's dispatch rate limits (Cloud Tasks' own limits: 500/s, 5000 at once).
    maxDispatchesPerSecond: z.number().positive().max(500).default(5),
    maxConcurrentDispatches: z.int().min(1).max(5000).default(20),
    serviceAccount: email, // the OIDC identity of the tasks: required, no default
  })
  .superRefine((q, ctx) => {
    const { minBackoffSeconds: min, maxBackoffSeconds: max } = q;
    if (typeof min === 'number' && typeof max === 'number' && max < min) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxBackoffSeconds'],
        message: `expected at least minBackoffSeconds (${min})`,
      });
    }
  }, whenObject);

const sweepsSchema = z.strictObject({
  pendingBatch: z.int().min(1).max(500).default(50), // 500: Firestore's write batch limit
  expiredBatch: z.int().min(1).max(500).default(50),
  orphanGraceMinutes: z.number().positive().default(10),
  deliveryTtlHours: z.int().min(1).default(72),
  // The OIDC identity Cloud Scheduler calls the sweeps with; default the queue's.
  serviceAccount: email.optional(),
  // A recorded VM deletion is retried with back-off from this base, up to the limit.
  deletionBackoffSeconds: z.number().positive().default(60),
  deletionMaxAttempts: z.int().min(1).max(100).default(12),
  // An ended test's final status that GitHub still does not show this long after the end is given up.
  statusGiveUpHours: z.number().positive().max(720).default(24),
});

// Where VMs' log and result files are kept (DESIGN §6): one Cloud Storage
// bucket, whose lifecycle rule deletes a file `retentionDays` after it was written.
const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;
const filesSchema = z.strictObject({
  bucket: pattern(
    BUCKET_NAME,
    'expected a bucket name: 3–63 lowercase letters, digits, -, _ and ., starting and ending with a letter or digit',
  )
    .refine((name) => !name.startsWith('goog') && !name.includes('google'), {
      message: 'bucket names cannot start with "goog" or contain "google"',
    })
    .optional(), // default: `<project>-vmci-files` (filesBucket)
  retentionDays: z.int().min(1).max(3650).default(30),
});

const statusContextSchema = z
  .string()
  .trim()
  .min(1)
  .refine((text) => text.includes('{platform}'), { message: 'must contain {platform}' })
  .refine((text) => (text.match(PLACEHOLDER) ?? []).every((p) => p === '{platform}'), {
    message: 'the only placeholder is {platform}',
  });

/**
 * Where VMs fetch a repository from, instead of the clone URL in the webhook:
 * an http(s) or file:// URL, or a path (relative paths are from the source
 * root, like startupScript). Local runs point it at a local repository.
 */
const cloneSource = z
  .string()
  .trim()
  .min(1)
  .refine((text) => !/\s/.test(text), { message: 'must not contain whitespace' })
  .refine((text) => !/^[a-z][a-z0-9+.-]*:/i.test(text) || /^(https?|file):\/\//i.test(text), {
    message: 'expected an http(s) or file:// URL, or a path',
  });

export const configSchema = z
  .strictObject({
    project: pattern(PROJECT_ID, 'expected a GCP project id such as my-ci-project'),
    region: pattern(REGION, 'expected a region such as us-central1'), // of the Cloud Tasks queue
    publicUrl: publicUrlSchema,
    githubApiUrl: servedUrl.default('https://api.github.com'),
    repositories: z
      .array(pattern(REPOSITORY, 'expected "owner/name"'))
      .min(1)
      // GitHub names are case-insensitive.
      .superRefine((repos, ctx) => rejectDuplicates(repos, ctx, (repo) => repo.toLowerCase())),
    cloneUrls: z.record(pattern(REPOSITORY, 'expected "owner/name"'), cloneSource).default({}),
    // Whether a repository's tests are shown whole to anyone; absent: as GitHub says.
    public: z.record(pattern(REPOSITORY, 'expected "owner/name"'), z.boolean()).default({}),
    // Repositories whose pull requests get one vm-ci comment, kept up to date; off by default.
    prComment: z.record(pattern(REPOSITORY, 'expected "owner/name"'), z.boolean()).default({}),
    // Who may see private repositories' details on the status API (Google ID tokens).
    statusViewers: z.array(email).default([]),
    branches: z
      .array(pattern(BRANCH_PATTERN, 'expected a branch name or glob such as release/*'))
      .default(['main', 'master']),
    statusContext: statusContextSchema.default('ci/{platform}'),
    approvalLabel: z.string().trim().min(1).max(50).default('safe to test'), // 50: GitHub's label limit
    // Bots (sender.type "Bot") whose approval label counts; people are asked of GitHub.
    approvalBots: z.array(pattern(GITHUB_LOGIN, 'expected a GitHub login')).default([]),
    // A test not approved this long after it began waiting for approval ends `error`.
    waitForApprovalDays: z.int().min(1).max(365).default(14),
    blockedUsers: z.array(pattern(GITHUB_LOGIN, 'expected a GitHub login')).default([]),
    supersede: z.enum(SUPERSEDE_MODES).default('queued'),
    queue: queueSchema,
    sweeps: sweepsSchema.prefault({}),
    files: filesSchema.prefault({}),
    platforms: platformsSchema,
  })
  .superRefine((c, ctx) => {
    if (!Array.isArray(c.repositories)) return;
    const known = new Set(c.repositories.map((repo) => String(repo).toLowerCase()));
    for (const key of ['cloneUrls', 'public', 'prComment'] as const) {
      const map: unknown = c[key];
      if (typeof map !== 'object' || !map) continue;
      for (const repo of Object.keys(map).filter((r) => !known.has(r.toLowerCase()))) {
        ctx.addIssue({ code: 'custom', path: [key, repo], message: 'is not in repositories' });
      }
    }
  }, whenObject);

export type VmciConfig = z.output<typeof configSchema>;
export type PlatformConfig = z.output<typeof platformSchema>;
export type QueueConfig = VmciConfig['queue'];
export type SweepsConfig = VmciConfig['sweeps'];
export type FilesConfig = VmciConfig['files'];

/** How long a test of `platform` may wait for its build: `waitForBuildMinutes`, else the default. */
export function buildWaitMinutes(platform: Pick<PlatformConfig, 'waitForBuildMinutes'>): number {
  return platform.waitForBuildMinutes ?? DEFAULT_WAIT_FOR_BUILD_MINUTES;
}

/**
 * Whether a test's details (ref, author, result summary, VM zone) may be shown
 * to anyone: the configured `public` setting of its repository, else what
 * GitHub said in the event that made the test; private when neither says.
 */
export function isPublicRepository(
  config: Pick<VmciConfig, 'public'>,
  test: { repo: string; repoPublic: boolean | null },
): boolean {
  const key = Object.keys(config.public).find((r) => r.toLowerCase() === test.repo.toLowerCase());
  return key !== undefined ? config.public[key]! : test.repoPublic === true;
}

/** Whether `repo`'s pull requests get vm-ci's comment (the `prComment` setting; off by default). */
export function prCommentEnabled(config: Pick<VmciConfig, 'prComment'>, repo: string): boolean {
  const key = Object.keys(config.prComment).find((r) => r.toLowerCase() === repo.toLowerCase());
  return key !== undefined && config.prComment[key] === true;
}

/** The bucket of the tests' files: `files.bucket`, else `<project>-vmci-files`. */
export function filesBucket(config: Pick<VmciConfig, 'files' | 'project'>): string {
  return config.files.bucket ?? `${config.project}-vmci-files`;
}

/** Who Cloud Scheduler calls the sweeps as: `sweeps.serviceAccount`, else the queue's account. */
export function schedulerServiceAccount(config: Pick<VmciConfig, 'sweeps' | 'queue'>): string {
  return config.sweeps.serviceAccount ?? config.queue.serviceAccount;
}

/**
 * Whether a platform's VMs get an external address: `externalIp` when set,
 * else only on a network named `default` (it has no Cloud NAT, so a VM there
 * could reach neither GitHub nor the callback URL without one).
 */
export function hasExternalIp(platform: Pick<PlatformConfig, 'externalIp' | 'network'>): boolean {
  return platform.externalIp ?? platform.network.endsWith('/networks/default');
}
