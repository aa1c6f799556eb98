// The metadata server a local VM sees.
//
// Design: one small HTTP server per booted VM, on 127.0.0.1 and a port of its
// own (port 0). On GCE, 169.254.169.254 answers each VM about itself only; a
// server per VM keeps that: the VM's process needs no name or token to say who
// it is, and `GCE_METADATA_HOST=127.0.0.1:<port>` (which carries no path) works
// for any library that honours it. The VM process gets
//   VMCI_LOCAL=1
//   GCE_METADATA_HOST=127.0.0.1:<port>
//   VMCI_METADATA_URL=http://127.0.0.1:<port>/computeMetadata/v1
// The server stops when the VM stops.
//
// Served, under /computeMetadata/v1 (header `Metadata-Flavor: Google` required,
// 403 without it or with `X-Forwarded-For`, as on GCE; every answer carries
// `Metadata-Flavor: Google`; values are text/plain, 404 for a missing key):
//   instance/attributes/{key}        ?alt=json gives a JSON string
//   instance/attributes/             the keys, one a line; ?recursive=true or ?alt=json: a JSON object
//   instance/name, instance/id, instance/hostname
//   instance/zone                    projects/<number>/zones/<zone>
//   instance/machine-type            projects/<number>/machineTypes/<type>
//   instance/?recursive=true         the above as JSON
//   project/project-id, project/numeric-project-id
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MetadataView {
  project: string;
  projectNumber: string;
  zone: string;
  name: string;
  id: string;
  machineType: string;
  attributes: Record<string, string>;
}

export interface MetadataServer {
  port: number;
  close(): Promise<void>;
}

const PREFIX = '/computeMetadata/v1/';

function send(res: ServerResponse, status: number, body: string, json = false): void {
  res.writeHead(status, {
    'Metadata-Flavor': 'Google',
    'Content-Type': json ? 'application/json' : 'text/plain; charset=utf-8',
    Server: 'Metadata Server for VM',
  });
  res.end(body);
}

function instanceFacts(v: MetadataView): Record<string, string> {
  return {
    name: v.name,
    id: v.id,
    hostname: `${v.name}.${v.zone}.c.${v.project}.internal`,
    zone: `projects/${v.projectNumber}/zones/${v.zone}`,
    'machine-type': `projects/${v.projectNumber}/machineTypes/${v.machineType}`,
  };
}

export function answerMetadata(
  req: IncomingMessage,
  res: ServerResponse,
  view: MetadataView | undefined,
): void {
  const url = new URL(req.url ?? '/', 'http://metadata.google.internal');
  if (req.headers['metadata-flavor'] !== 'Google' || req.headers['x-forwarded-for']) {
    return send(
      res,
      403,
      `Your client does not have permission to get URL ${url.pathname} from this server. Missing Metadata-Flavor:Google header.\n`,
    );
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method Not Allowed\n');
  if (!view || !url.pathname.startsWith(PREFIX)) return send(res, 404, 'Not Found\n');
  const path = url.pathname.slice(PREFIX.length);
  const asJson = url.searchParams.get('alt') === 'json';
  const recursive = url.searchParams.get('recursive') === 'true';
  const facts = instanceFacts(view);
  const value = (text: string | undefined) =>
    text === undefined
      ? send(res, 404, 'Not Found\n')
      : asJson
        ? send(res, 200, JSON.stringify(text), true)
        : send(res, 200, text);

  if (path === 'instance/attributes/' || path === 'instance/attributes') {
    if (recursive || asJson) return send(res, 200, JSON.stringify(view.attributes), true);
    return send(
      res,
      200,
      Object.keys(view.attributes)
        .map((k) => `${k}\n`)
        .join(''),
    );
  }
  if (path.startsWith('instance/attributes/')) {
    const key = decodeURIComponent(path.slice('instance/attributes/'.length));
    return value(Object.hasOwn(view.attributes, key) ? view.attributes[key] : undefined);
  }
  if ((path === 'instance/' || path === 'instance') && recursive) {
    const { 'machine-type': machineType, ...rest } = facts;
    return send(
      res,
      200,
      JSON.stringify({ ...rest, machineType, attributes: view.attributes }),
      true,
    );
  }
  if (path.startsWith('instance/')) {
    const key = path.slice('instance/'.length);
    return value(Object.hasOwn(facts, key) ? facts[key] : undefined);
  }
  if (path === 'project/project-id') return value(view.project);
  if (path === 'project/numeric-project-id') return value(view.projectNumber);
  return send(res, 404, 'Not Found\n');
}

/** Starts a VM's own metadata server; `view()` is read on every request. */
export async function startMetadataServer(
  view: () => MetadataView | undefined,
): Promise<MetadataServer> {
  const server = createServer((req, res) => {
    req.resume();
    answerMetadata(req, res, view());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  server.unref();
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
