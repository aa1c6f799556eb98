// A failed gcloud or client call → ONE line a person can act on: the API to
// enable, or the role to grant the deployer, else gcloud's own first error line.

/** The role that grants a permission, by the permission's prefix (longest first). */
const ROLE_FOR_PERMISSION: ReadonlyArray<[string, string]> = [
  ['iam.serviceAccounts.actAs', 'roles/iam.serviceAccountUser'],
  ['iam.serviceAccounts.getIamPolicy', 'roles/iam.serviceAccountAdmin'],
  ['iam.serviceAccounts.setIamPolicy', 'roles/iam.serviceAccountAdmin'],
  ['iam.serviceAccounts.', 'roles/iam.serviceAccountAdmin'],
  ['resourcemanager.projects.', 'roles/resourcemanager.projectIamAdmin'],
  ['serviceusage.', 'roles/serviceusage.serviceUsageAdmin'],
  ['secretmanager.', 'roles/secretmanager.admin'],
  ['datastore.', 'roles/datastore.owner'],
  ['cloudtasks.', 'roles/cloudtasks.admin'],
  ['cloudscheduler.', 'roles/cloudscheduler.admin'],
  ['run.', 'roles/run.admin'],
  ['cloudbuild.', 'roles/cloudbuild.builds.editor'],
  ['artifactregistry.', 'roles/artifactregistry.admin'],
  ['storage.', 'roles/storage.admin'],
  ['compute.', 'roles/compute.networkAdmin'],
];

/** How gcloud and the client libraries name the missing permission. */
const PERMISSION_PATTERNS = [
  /[Pp]ermission ['"]?([a-z]+\.[a-zA-Z]+\.[a-zA-Z.]+)['"]? denied/, // gcloud
  /IAM permission ['"]?([a-z]+\.[a-zA-Z]+\.[a-zA-Z.]+)['"]?/, // "lacks IAM permission "x" for …"
  /does not have ['"]?([a-z]+\.[a-zA-Z]+\.[a-zA-Z.]+)['"]? permission/, // client libraries
];

export function roleForPermission(permission: string): string | undefined {
  return ROLE_FOR_PERMISSION.find(([prefix]) => permission.startsWith(prefix))?.[1];
}

/**
 * What to do about a failure. `text` is gcloud's stderr or a client error's
 * message; `what` names the step ("create queue test-runs").
 */
export function explainFailure(what: string, text: string, project: string): string {
  const api =
    /SERVICE_DISABLED|has not been used in project|is disabled|not enabled/i.test(text) &&
    /([a-z0-9-]+\.googleapis\.com)/.exec(text)?.[1];
  if (api) {
    return `${what} failed: the ${api} API is not enabled; run: gcloud services enable ${api} --project=${project}`;
  }
  if (/PERMISSION_DENIED|permission denied|does not have permission/i.test(text)) {
    const permission = PERMISSION_PATTERNS.map((p) => p.exec(text)?.[1]).find(Boolean);
    const role = permission && roleForPermission(permission);
    const grant = role
      ? `; grant the deploying account ${role} (gcloud projects add-iam-policy-binding ${project} --member=user:<you> --role=${role})`
      : '; grant the deploying account the role that holds it';
    return `${what} failed: permission ${permission ?? '(unnamed)'} denied${grant}`;
  }
  const line =
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.startsWith('ERROR:')) ??
    text.trim().split('\n')[0] ??
    '';
  return `${what} failed: ${line || 'no message'}`;
}
