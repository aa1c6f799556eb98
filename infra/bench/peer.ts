// The yardstick of issue 16: a webhook of the AWS GitHub-runner's shape, whose
// lambda verifies the signature, parses the JSON and makes one queue call before
// it answers. Here: X-Hub-Signature-256 checked with @octokit/webhooks' verify
// (as that lambda does), JSON.parse, one createTask through the real
// @google-cloud/tasks client to the local cloud's Tasks stand-in (as vm-ci's
// queue is reached: shared/gcp/client-options.ts), then 202. It is served the
// way the bench serves vm-ci's webhook: the same Express app (functionApp) on a
// node:http server of the local cloud's kind (infra/local/http.ts), in process.
import { CloudTasksClient } from '@google-cloud/tasks';
import { Webhooks } from '@octokit/webhooks';
import { localClientOptions, type LocalEndpoint } from '../../shared/gcp/client-options';
import { functionApp, type Door } from '../../shared/http/function-app';
import { readRawBody } from '../../shared/http/raw-body';
import { silentLogger } from '../../shared/log';
import { queuePath } from '../../shared/queue/task-name';
import { serve } from '../local/http';

/** GitHub caps webhook payloads at 25 MiB (as vm-ci's door). */
const MAX_BODY_BYTES = 25 * 1024 * 1024;

export interface PeerOptions {
  secret: string;
  /** Where the Tasks stand-in listens (the local cloud's port). */
  tasks: LocalEndpoint;
  project: string;
  location: string;
  queue: string;
  /** Where the tasks would be sent (never, while the queue is paused). */
  targetUrl: string;
}

export interface PeerWebhook {
  /** Base URL: the webhook answers at `${url}/webhook` (any path, in fact). */
  url: string;
  /** Tasks it created. */
  created(): number;
  close(): Promise<void>;
}

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/** The peer's handler: verify, parse, one queue call, 202. */
export function peerDoor(
  options: PeerOptions,
  client: CloudTasksClient,
  onCreated: () => void = () => {},
): Door {
  const webhooks = new Webhooks({ secret: options.secret });
  const parent = queuePath(options.project, options.location, options.queue);
  return async (req, res) => {
    const read = await readRawBody(req, MAX_BODY_BYTES);
    if (!read.ok) {
      res.status(read.status).json({ error: read.error });
      return;
    }
    const body = read.bytes.toString('utf8');
    const signature = header(req.headers['x-hub-signature-256']);
    if (!signature || !(await webhooks.verify(body, signature))) {
      res.status(401).json({ error: 'Unauthorized' });
      return;
    }
    let payload: { repository?: { full_name?: string }; after?: string; ref?: string };
    try {
      payload = JSON.parse(body) as typeof payload;
    } catch {
      res.status(400).json({ error: 'Not JSON' });
      return;
    }
    const message = {
      id: header(req.headers['x-github-delivery']),
      eventType: header(req.headers['x-github-event']),
      repositoryName: payload.repository?.full_name,
      sha: payload.after,
      ref: payload.ref,
    };
    await client.createTask(
      {
        parent,
        task: {
          httpRequest: {
            url: options.targetUrl,
            httpMethod: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: Buffer.from(JSON.stringify(message)),
          },
        },
      },
      { timeout: 5_000 },
    );
    onCreated();
    res.status(202).json({ message: 'Accepted' });
  };
}

/** Serves the peer's handler on a port of its own (127.0.0.1, port 0). */
export async function startPeerWebhook(options: PeerOptions): Promise<PeerWebhook> {
  let created = 0;
  const client = new CloudTasksClient(localClientOptions(options.tasks));
  const app = functionApp(
    peerDoor(options, client, () => (created += 1)),
    { log: silentLogger },
  );
  const server = await serve(
    [
      {
        async handle(req, res) {
          app(req, res);
          return true;
        },
        async close() {},
      },
    ],
    { port: 0 },
  );
  return {
    url: server.url,
    created: () => created,
    async close() {
      await server.close();
      await client.close();
    },
  };
}
