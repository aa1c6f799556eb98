// Who runs what, one service account per duty, and the roles each holds.
// Roles that can be bound on one resource are bound there (see desired.ts).
import { schedulerServiceAccount, type VmciConfig } from '../../../shared/config';
import type { FunctionName } from '../../../shared/config/urls';

/** The functions' three, and the builder: Cloud Build runs `gcloud run deploy --source` as it. */
export type Duty = 'doors' | 'runner' | 'sweeps' | 'builder';
export const DUTIES: readonly Duty[] = ['doors', 'runner', 'sweeps', 'builder'];

/** The public doors share one account; runTest and the sweeps have their own. */
export const DUTY_OF: Readonly<Record<FunctionName, Duty>> = {
  webhook: 'doors',
  progress: 'doors',
  status: 'doors',
  runTest: 'runner',
  sweepPending: 'sweeps',
  sweepExpired: 'sweeps',
};

export function dutyAccount(config: Pick<VmciConfig, 'project'>, duty: Duty): string {
  return `vmci-${duty}@${config.project}.iam.gserviceaccount.com`;
}

/** Roles on the project: Firestore for all; Compute for those that create or delete VMs. */
export const PROJECT_ROLES: Readonly<Record<Duty, readonly string[]>> = {
  doors: ['roles/datastore.user', 'roles/compute.instanceAdmin.v1'],
  runner: ['roles/datastore.user', 'roles/compute.instanceAdmin.v1'],
  sweeps: ['roles/datastore.user', 'roles/compute.instanceAdmin.v1'],
  // Reads the uploaded source, writes the image and the build's logs.
  builder: ['roles/run.builder'],
};

/**
 * What each function may do in the files bucket, bound on the bucket only.
 * progress writes and replaces a test's files and lists them to enforce the
 * caps (objectUser: create, delete, get, list); status reads and lists them.
 */
export const FILE_ROLES: Readonly<Partial<Record<FunctionName, string>>> = {
  progress: 'roles/storage.objectUser',
  status: 'roles/storage.objectViewer',
};

/** Roles that hold every permission of others: an account with the first needs none of the rest. */
const HOLDS: Readonly<Record<string, readonly string[]>> = {
  'roles/storage.objectUser': ['roles/storage.objectViewer'],
};

/** Each account's roles on the files bucket: its functions' FILE_ROLES, less those another holds. */
export function fileRoles(config: Pick<VmciConfig, 'project'>): Array<[string, string]> {
  const byAccount = new Map<string, Set<string>>();
  for (const [fn, role] of Object.entries(FILE_ROLES) as Array<[FunctionName, string]>) {
    const email = dutyAccount(config, DUTY_OF[fn]);
    byAccount.set(email, (byAccount.get(email) ?? new Set()).add(role));
  }
  return [...byAccount].flatMap(([email, roles]) =>
    [...roles]
      .filter((role) => ![...roles].some((other) => HOLDS[other]?.includes(role)))
      .map((role): [string, string] => [email, role]),
  );
}

/** Every duty enqueues tests (webhook, progress's next test, runTest's retry, sweepPending). */
export const ENQUEUERS: readonly Duty[] = ['doors', 'runner', 'sweeps'];

/** The accounts the VMs run as (platforms' serviceAccount); runTest must act as them. */
export function vmAccounts(config: Pick<VmciConfig, 'platforms'>): string[] {
  const emails = Object.values(config.platforms).map((p) => p.serviceAccount);
  return [...new Set(emails.filter((email): email is string => email !== undefined))].sort();
}

/** The project's own accounts deploy creates: duties, task and scheduler identities, VM accounts. */
export function accountsToCreate(config: VmciConfig): string[] {
  const own = `@${config.project}.iam.gserviceaccount.com`;
  const all = [
    ...DUTIES.map((duty) => dutyAccount(config, duty)),
    config.queue.serviceAccount,
    schedulerServiceAccount(config),
    ...vmAccounts(config),
  ];
  return [...new Set(all)].filter((email) => email.endsWith(own));
}
