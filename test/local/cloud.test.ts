// The composed local cloud: every stand-in answers the real clients on one port.
import { InstancesClient, ZoneOperationsClient } from '@google-cloud/compute';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { CloudTasksClient } from '@google-cloud/tasks';
import { Octokit } from '@octokit/rest';
import { localClientOptions } from '../../shared/gcp/client-options';
import { useLocalCloud } from '../support/local-cloud';

const handle = useLocalCloud({ bootVms: true, githubToken: 'local-token-123' });

function endpoint() {
  return { host: '127.0.0.1', port: handle.cloud.port };
}

describe('the local cloud', () => {
  it('serves Cloud Tasks, with the configured queue, to the real client', async () => {
    const { config } = handle.cloud;
    const tasks = new CloudTasksClient(localClientOptions(endpoint()));
    const parent = `projects/${config.project}/locations/${config.region}/queues/${config.queue.name}`;
    const [queue] = await tasks.getQueue({ name: parent });
    expect(queue.retryConfig?.maxAttempts).toBe(config.queue.maxAttempts);
    // A target on the same port that answers 200: one attempt completes the task.
    const target = `${handle.cloud.url}/github/repos/Codertocat/Hello-World/commits/${'c'.repeat(40)}/statuses`;
    const [task] = await tasks.createTask({
      parent,
      task: { httpRequest: { url: target, httpMethod: 'GET' } },
    });
    expect(task.name).toContain(parent);
    await handle.cloud.tasks.whenIdle();
    expect(handle.cloud.tasks.history().map((h) => [h.url, h.outcome])).toEqual([
      [target, 'completed'],
    ]);
    await tasks.close();
  });

  it('boots a VM through the real Compute client; its script reads its metadata', async () => {
    const { config } = handle.cloud;
    const instances = new InstancesClient(localClientOptions(endpoint()));
    const operations = new ZoneOperationsClient(localClientOptions(endpoint()));
    const zone = config.platforms.linux!.zones[0]!;
    const [lro] = await instances.insert({
      project: config.project,
      zone,
      instanceResource: {
        name: 'vmci-linux-cloud-test',
        machineType: `zones/${zone}/machineTypes/e2-small`,
        labels: { vmci: 'true' },
        metadata: {
          items: [
            { key: 'vmci-test-id', value: 'the-test' },
            {
              key: 'startup-script',
              value:
                'curl -sf -H "Metadata-Flavor: Google" "$VMCI_METADATA_URL/instance/attributes/vmci-test-id"',
            },
          ],
        },
      },
    });
    const name = lro.latestResponse.name as string;
    let op = (await operations.wait({ project: config.project, zone, operation: name }))[0];
    while (op.status !== 'DONE') {
      op = (await operations.wait({ project: config.project, zone, operation: name }))[0];
    }
    expect(op.error).toBeFalsy();
    await handle.cloud.compute.whenTerminated('vmci-linux-cloud-test');
    expect(handle.cloud.compute.consoleOutput('vmci-linux-cloud-test')).toContain('the-test');
    await Promise.all([instances.close(), operations.close()]);
  });

  it('serves the local GitHub API and records statuses', async () => {
    const octokit = new Octokit({ baseUrl: `${handle.cloud.url}/github`, auth: 'local-token-123' });
    const sha = 'b'.repeat(40);
    await octokit.repos.createCommitStatus({
      owner: 'Codertocat',
      repo: 'Hello-World',
      sha,
      state: 'pending',
      context: 'ci/linux',
      description: 'Tests queued',
    });
    const res = await fetch(
      `${handle.cloud.url}/github/repos/Codertocat/Hello-World/commits/${sha}/statuses`,
    );
    expect(((await res.json()) as { description: string }[])[0]!.description).toBe('Tests queued');
  });

  it('serves the Scheduler API', async () => {
    const { config } = handle.cloud;
    const scheduler = new CloudSchedulerClient(localClientOptions(endpoint()));
    const [jobs] = await scheduler.listJobs({
      parent: `projects/${config.project}/locations/${config.region}`,
    });
    // A sweep job exists for each sweep function that is mounted.
    expect(jobs.map((j) => j.name!.split('/').pop()).sort()).toEqual(
      handle.cloud.functions.filter((f) => f.startsWith('sweep')).sort(),
    );
    await scheduler.close();
  });

  it('starts each test with fresh stand-ins', async () => {
    expect(handle.cloud.compute.instances()).toEqual([]);
    expect(handle.cloud.tasks.history()).toEqual([]);
    expect(handle.cloud.github.calls()).toEqual([]);
    const local = await fetch(`${handle.cloud.url}/_local/compute/instances`);
    expect(await local.json()).toEqual([]);
  });

  it('answers unknown paths with 404', async () => {
    const res = await fetch(`${handle.cloud.url}/nothing-here`);
    expect(res.status).toBe(404);
  });
});
