// A failed call → one line naming the role to grant or the API to enable.
import { explainFailure } from '../../infra/gcp/deploy/errors';

const P = 'my-ci-project';

describe('explainFailure', () => {
  it.each([
    {
      info: 'gcloud',
      text: "ERROR: (gcloud.secrets.create) PERMISSION_DENIED: Permission 'secretmanager.secrets.create' denied for resource 'projects/my-ci-project' (or it may not exist).",
      role: 'roles/secretmanager.admin',
    },
    {
      info: 'the Tasks client',
      text: '7 PERMISSION_DENIED: The principal (user:me@example.com) does not have cloudtasks.queues.create permission on resource projects/my-ci-project/locations/us-central1',
      role: 'roles/cloudtasks.admin',
    },
    {
      info: 'an IAM message',
      text: 'PERMISSION_DENIED: Caller lacks IAM permission "cloudscheduler.jobs.create" for the resource',
      role: 'roles/cloudscheduler.admin',
    },
    {
      info: 'acting as an account',
      text: "ERROR: (gcloud.run.deploy) PERMISSION_DENIED: Permission 'iam.serviceAccounts.actAs' denied on service account vmci-doors@my-ci-project.iam.gserviceaccount.com",
      role: 'roles/iam.serviceAccountUser',
    },
  ])('names the role from $info', ({ text, role }) => {
    const line = explainFailure('create x', text, P);
    expect(line).toContain(`--role=${role}`);
    expect(line).not.toContain('\n');
  });

  it('names the API that is disabled', () => {
    const text =
      '9 FAILED_PRECONDITION / 7 PERMISSION_DENIED: Cloud Scheduler API has not been used in project 123456789012 before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/cloudscheduler.googleapis.com/overview?project=123456789012';
    expect(explainFailure('create job', text, P)).toBe(
      'create job failed: the cloudscheduler.googleapis.com API is not enabled; run: gcloud services enable cloudscheduler.googleapis.com --project=my-ci-project',
    );
  });

  it("otherwise quotes gcloud's first ERROR line", () => {
    const text =
      'WARNING: something\nERROR: (gcloud.run.deploy) Build failed; check build logs.\nmore';
    expect(explainFailure('create function webhook', text, P)).toBe(
      'create function webhook failed: ERROR: (gcloud.run.deploy) Build failed; check build logs.',
    );
  });
});
