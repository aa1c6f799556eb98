// Deterministic names (DESIGN §3.1, §3.2): the test id, the Cloud Task id, the
// VM name, the Compute requestId and the VM labels all derive from the test's
// fields, so a redelivered webhook or task, or a crash and retry, lands on the
// same names instead of making new ones. Each readable name ends (or starts)
// with a SHA-256 of an unambiguous JSON encoding of its inputs: readable slugs
// may collide (`a-b/c` and `a/b-c`), the hash keeps the names apart.
import { createHash } from 'node:crypto';
import type { ProvisioningModel, TestRecord, Trigger } from './test';

function sha256Hex(parts: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/**
 * Lowercase `[a-z0-9-]`, every run of other characters one hyphen, no hyphen
 * at either end, at most `max` characters, never empty. Hyphens already there
 * stay, so a valid platform name (`linux--arm`) reads as itself.
 */
function slug(text: string, max: number): string {
  const s = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, max)
    .replace(/-+$/, '');
  return s === '' ? 'x' : s;
}

function assertCount(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${String(n)}`);
  }
}

// --- test id -------------------------------------------------------------------

export type TestKey = Pick<TestRecord, 'repo' | 'sha' | 'platform' | 'trigger' | 'run'> & {
  pr?: number | null;
};

const TRIGGER_SHORT: Readonly<Record<Trigger, string>> = {
  push: 'push',
  pull_request: 'pull',
  manual: 'manual',
};

/** Hex characters of the fields' hash at the end of a test id (64 bits). */
const TEST_ID_HASH_LENGTH = 16;

/**
 * The test's Firestore document id, e.g.
 * `ccextractor-ccextractor-0123abc-linux-pull-pr12-r1-3f9c0a1b2c3d4e5f`:
 * `<owner>-<name>-<sha7>-<platform>-<trigger>[-pr<N>]-r<run>-<hash16>`, where
 * the hash covers every field exactly as given. Only `[a-z0-9-]`, about 70
 * characters for a real repository and at most 123 (the largest pr and run),
 * so it is a valid Firestore id and fits in a Cloud Task name.
 */
export function testId(key: TestKey): string {
  const pr = key.pr ?? null;
  if (pr !== null) assertCount('pr', pr);
  assertCount('run', key.run);
  const slash = key.repo.indexOf('/');
  const owner = slash === -1 ? key.repo : key.repo.slice(0, slash);
  const name = slash === -1 ? '' : key.repo.slice(slash + 1);
  const hash = sha256Hex([
    'vmci/test/v1',
    key.repo,
    key.sha,
    key.platform,
    key.trigger,
    pr,
    key.run,
  ]).slice(0, TEST_ID_HASH_LENGTH);
  return [
    slug(owner, 12),
    slug(name, 20),
    slug(key.sha, 7),
    slug(key.platform, 20),
    TRIGGER_SHORT[key.trigger] ?? slug(key.trigger, 12),
    ...(pr === null ? [] : [`pr${pr}`]),
    `r${key.run}`,
    hash,
  ].join('-');
}

/**
 * The document id of a maintainer's approval of one head commit of a PR:
 * `<owner>-<name>-pr<N>-<sha7>-<hash16>`, the hash over every field as given.
 */
export function approvalId(repo: string, pr: number, sha: string): string {
  assertCount('pr', pr);
  const slash = repo.indexOf('/');
  const owner = slash === -1 ? repo : repo.slice(0, slash);
  const name = slash === -1 ? '' : repo.slice(slash + 1);
  const hash = sha256Hex(['vmci/approval/v1', repo, pr, sha]).slice(0, TEST_ID_HASH_LENGTH);
  return [slug(owner, 12), slug(name, 20), `pr${pr}`, slug(sha, 7), hash].join('-');
}

/**
 * The document id of what is known of `workflow` on one commit:
 * `<owner>-<name>-<sha7>-<workflow>-<hash16>`, the hash over every field as given.
 */
export function buildId(repo: string, sha: string, workflow: string): string {
  const slash = repo.indexOf('/');
  const owner = slash === -1 ? repo : repo.slice(0, slash);
  const name = slash === -1 ? '' : repo.slice(slash + 1);
  const hash = sha256Hex(['vmci/build/v1', repo, sha, workflow]).slice(0, TEST_ID_HASH_LENGTH);
  return [slug(owner, 12), slug(name, 20), slug(sha, 7), slug(workflow, 20), hash].join('-');
}

/** Firestore's rules for a document id. */
export function isValidFirestoreId(id: string): boolean {
  return (
    id.length > 0 &&
    Buffer.byteLength(id, 'utf8') <= 1500 &&
    !id.includes('/') &&
    id !== '.' &&
    id !== '..' &&
    !/^__.*__$/s.test(id)
  );
}

// --- Cloud Tasks -------------------------------------------------------------------

export const TASK_ID_PATTERN = /^[A-Za-z0-9_-]{1,500}$/;

/**
 * What a test's task is for: `run` starts (or resumes) the test; `delete-vm`
 * asks runTest to delete an ended test's VM (the webhook and progress never
 * load Compute). runTest decides from the test's state; the word is for people
 * reading the queue in the Console.
 */
export type TaskPurpose = 'run' | 'delete-vm';
export const TASK_PURPOSES: readonly TaskPurpose[] = ['run', 'delete-vm'];

/**
 * The Cloud Tasks task id for one enqueue of a test:
 * `<hash8>-<purpose>-<testId>-g<generation>`, e.g.
 * `1f2e3d4c-run-ccextractor-ccextractor-0123abc-linux-pull-pr12-r1-3f9c…-g1`,
 * so the Console's queue view names the repository, commit, platform and what
 * the task is for (DESIGN §9). A task name cannot be reused for a while after
 * its task ran or was deleted, so each new enqueue bumps the generation. The
 * hash prefix spreads names over the keyspace (Cloud Tasks warns that
 * sequential prefixes slow it down).
 */
export function taskId(id: string, generation: number, purpose: TaskPurpose = 'run'): string {
  assertCount('generation', generation);
  if (!/^[A-Za-z0-9_-]+$/.test(id)) {
    throw new RangeError(`test id is not usable in a task name: ${JSON.stringify(id)}`);
  }
  const prefix = sha256Hex(['vmci/task/v2', id, generation, purpose]).slice(0, 8);
  const name = `${prefix}-${purpose}-${id}-g${generation}`;
  if (name.length > 500) throw new RangeError(`task id longer than 500 characters for ${id}`);
  return name;
}

/**
 * The enqueue generation that X-CloudTasks-TaskName names for `testId`
 * (`taskId(testId, generation, purpose)`, any purpose), or undefined for any other name.
 */
export function taskGeneration(taskName: string | undefined, testId: string): number | undefined {
  const match = taskName === undefined ? null : /-g(\d{1,9})$/.exec(taskName);
  if (!match) return undefined;
  const generation = Number(match[1]);
  try {
    const named = TASK_PURPOSES.some((purpose) => taskId(testId, generation, purpose) === taskName);
    return generation >= 1 && named ? generation : undefined;
  } catch {
    return undefined; // not a test id that names tasks
  }
}

// --- Compute Engine -------------------------------------------------------------------

export const VM_NAME_PREFIX = 'vmci-';
export const VM_NAME_PATTERN = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
export const VM_NAME_MAX = 63;

/**
 * The VM name for one creation attempt of a test:
 * `vmci-<platform>-<start of the test id>-a<attempt>-<hash16>`, at most 63
 * characters (RFC 1035). The hash covers platform, test id and attempt.
 */
export function vmName(platform: string, id: string, attempt: number): string {
  assertCount('attempt', attempt);
  const hash = sha256Hex(['vmci/vm/v1', platform, id, attempt]).slice(0, 16);
  const head = `${VM_NAME_PREFIX}${slug(platform, 20)}-`;
  const tail = `a${attempt}-${hash}`;
  const room = VM_NAME_MAX - head.length - tail.length - 1;
  const readable = room > 0 ? slug(id, room) : '';
  return readable === '' || room <= 0 ? `${head}${tail}` : `${head}${readable}-${tail}`;
}

function uuidBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new RangeError(`not a UUID: ${uuid}`);
  return Buffer.from(hex, 'hex');
}

function formatUuid(bytes: Buffer): string {
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** RFC 4122 §4.3 name-based UUID, version 5 (SHA-1). */
export function uuidV5(name: string, namespace: string): string {
  const digest = createHash('sha1')
    .update(uuidBytes(namespace))
    .update(Buffer.from(name, 'utf8'))
    .digest();
  const bytes = digest.subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50; // version 5
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80; // RFC 4122 variant
  return formatUuid(bytes);
}

/** RFC 4122 Appendix C: the URL namespace. */
export const UUID_NAMESPACE_URL = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';
/** vm-ci's own namespace for requestIds, fixed forever (changing it would re-key every id). */
export const REQUEST_ID_NAMESPACE = uuidV5(
  'https://github.com/vm-ci/request-id',
  UUID_NAMESPACE_URL,
);

/**
 * The Compute `requestId` for one insert call: the same test, attempt, zone and
 * provisioning model give the same UUID, so a retried call is deduplicated by
 * Compute; a fallback to another zone or model is a new request. Version 5 with
 * the variant bits set, so it is never the all-zero UUID Compute rejects.
 */
export function requestId(
  id: string,
  attempt: number,
  zone: string,
  provisioning: ProvisioningModel,
): string {
  assertCount('attempt', attempt);
  return uuidV5(JSON.stringify([id, attempt, zone, provisioning]), REQUEST_ID_NAMESPACE);
}

/**
 * The Compute `requestId` of one deletion of a VM: callers that share the key
 * (sweeps racing in one run window) make one operation between them.
 */
export function deletionRequestId(name: string, zone: string, key: string): string {
  return uuidV5(JSON.stringify(['delete', name, zone, key]), REQUEST_ID_NAMESPACE);
}

// --- VM labels ---------------------------------------------------------------------------

export const LABEL_VALUE_MAX = 63;
export const LABEL_VALUE_PATTERN = /^[a-z0-9_-]{0,63}$/;

export const VM_LABEL_KEYS = {
  managed: 'vmci',
  test: 'vmci-test',
  platform: 'vmci-platform',
  deployment: 'vmci-deployment',
} as const;

/** Metadata key on every VM holding the full test id (DESIGN §6). */
export const VM_TEST_ID_METADATA_KEY = 'vmci-test-id';

/** A GCE label value: lowercase letters, digits, `_` and `-`, at most 63 characters. */
export function labelValue(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .slice(0, LABEL_VALUE_MAX);
}

/**
 * The `vmci-test` label for a test id: `<start of the id>-<hash16 of the id>`.
 * Test ids are longer than a label value may be, so the label is a one-way key;
 * it tells VMs apart and lets a list be filtered by test. Orphan detection
 * reads the exact id from the VM's `vmci-test-id` metadata and checks it with
 * `testLabel(metadataId) === label`; a VM whose two do not agree, or whose test
 * is missing or terminal, is an orphan.
 */
export function testLabel(id: string): string {
  const hash = sha256Hex(['vmci/label/v1', id]).slice(0, 16);
  const prefix = labelValue(id)
    .slice(0, LABEL_VALUE_MAX - hash.length - 1)
    .replace(/[-_]+$/, '');
  return prefix === '' ? hash : `${prefix}-${hash}`;
}

export type VmLabels = Readonly<
  Record<Exclude<(typeof VM_LABEL_KEYS)[keyof typeof VM_LABEL_KEYS], 'vmci-deployment'>, string>
> & { readonly 'vmci-deployment'?: string };

/**
 * The `vmci-deployment` label: which vm-ci made the VM, from its public URL
 * (each deployment serves its functions at its own). Two deployments sharing
 * a project then never take each other's VMs for orphans.
 */
export function deploymentLabel(publicUrl: string): string {
  return sha256Hex(['vmci/deployment/v1', publicUrl.replace(/\/+$/, '')]).slice(0, 16);
}

/** Labels on every VM: `vmci=true` marks the VMs this system owns (and may delete). */
export function vmLabels(platform: string, id: string, deployment?: string): VmLabels {
  return {
    [VM_LABEL_KEYS.managed]: 'true',
    [VM_LABEL_KEYS.test]: testLabel(id),
    [VM_LABEL_KEYS.platform]: labelValue(platform),
    ...(deployment === undefined ? {} : { [VM_LABEL_KEYS.deployment]: deployment }),
  } as VmLabels;
}
