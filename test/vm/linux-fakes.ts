// Stand-ins for what the Linux startup script reaches besides the metadata
// server: GitHub's artifact API (302 to a storage host, 127.0.0.2), that storage
// host, a git http server (`git http-backend` as CGI) that refuses anonymous
// fetches, and a `progress` recorder for the sandbox (locally, support.ts has
// one). One Node program (FAKES), run as a child process, so that the sandbox
// can run it inside its namespaces too. Its settings hold the tokens, so they
// come on stdin (never on a command line); every request is appended to a
// record file created 0600, and the ports go to a ready file.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { onCleanUp, tempDir } from './support';

export const ARTIFACT_PATH = '/repos/owner/repo/actions/artifacts/42/zip';

/** The program; `node -e FAKES` reads its FakesInput as JSON on stdin. */
export const FAKES = String.raw`
const http = require('node:http');
const fs = require('node:fs');
const { spawn } = require('node:child_process');
let input = '';
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', () => main(JSON.parse(input)));

function main(cfg) {
  // Never outlive the tests: gone when its parent is.
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && process.exit(0), 500);
  const ports = {};
  const record = (entry) =>
    fs.appendFileSync(cfg.recordFile, JSON.stringify(entry) + '\n', { mode: 0o600 });
  const basic = 'Basic ' + Buffer.from('x-access-token:' + cfg.githubToken).toString('base64');
  const zip = Buffer.from(cfg.zipBase64 || '', 'base64');
  const read = (req) =>
    new Promise((resolve) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks)));
    });
  const seen = (r) => ({ method: r.method, url: r.url, authorization: r.headers.authorization });

  const api = async (req, res) => {
    await read(req);
    const authorized = req.headers.authorization === 'Bearer ' + cfg.githubToken;
    const status = !authorized ? 401 : req.url !== cfg.artifactPath ? 404 : 302;
    record({ server: 'api', ...seen(req), status });
    if (status === 302) {
      res.writeHead(302, { Location: 'http://127.0.0.2:' + ports.storage + '/blob/artifact.zip?sig=signed' });
      return res.end();
    }
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ message: status === 401 ? 'Bad credentials' : 'Not Found' }));
  };

  let storageTries = 0;
  const storage = async (req, res) => {
    await read(req);
    const status = (cfg.storageStatuses || [])[storageTries++] || 200;
    record({ server: 'storage', ...seen(req), status });
    const body = status === 200 ? zip : Buffer.from('storage says no');
    res.writeHead(status, { 'Content-Type': 'application/zip', 'Content-Length': body.length });
    res.end(body);
  };

  const git = (req, res) => {
    const authorized = req.headers.authorization === basic;
    record({ server: 'git', ...seen(req), status: authorized ? 200 : 401 });
    if (!authorized) {
      req.resume();
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="private"' });
      return res.end();
    }
    const url = new URL(req.url, 'http://git');
    const env = {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: cfg.gitRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: decodeURIComponent(url.pathname.replace(/^\/git/, '')),
      QUERY_STRING: url.search.slice(1),
      REQUEST_METHOD: req.method,
      CONTENT_TYPE: req.headers['content-type'] || '',
      REMOTE_ADDR: '127.0.0.1',
      GIT_CONFIG_COUNT: '2',
      GIT_CONFIG_KEY_0: 'safe.directory',
      GIT_CONFIG_VALUE_0: '*',
      GIT_CONFIG_KEY_1: 'uploadpack.allowAnySHA1InWant',
      GIT_CONFIG_VALUE_1: 'true',
    };
    if (req.headers['git-protocol']) env.HTTP_GIT_PROTOCOL = req.headers['git-protocol'];
    if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
    if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
    const child = spawn('git', ['http-backend'], { env });
    req.pipe(child.stdin);
    child.stderr.resume();
    let head = Buffer.alloc(0);
    let started = false;
    child.stdout.on('data', (c) => {
      if (started) return void res.write(c);
      head = Buffer.concat([head, c]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      started = true;
      let status = 200;
      const headers = {};
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const i = line.indexOf(':');
        const key = line.slice(0, i).trim();
        const value = line.slice(i + 1).trim();
        if (key.toLowerCase() === 'status') status = parseInt(value, 10);
        else headers[key] = value;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    child.stdout.on('end', () => res.end());
  };

  const progress = async (req, res) => {
    const body = await read(req);
    const prefix = '/progress/files/';
    if (req.method === 'PUT' && req.url.startsWith(prefix)) {
      record({ server: 'progress', ...seen(req), status: 200, name: decodeURIComponent(req.url.slice(prefix.length)), body: body.toString('base64') });
    } else {
      record({ server: 'progress', ...seen(req), status: 200, body: body.toString('base64') });
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{}');
  };

  const servers = { api: [api, '127.0.0.1'], storage: [storage, '127.0.0.2'], git: [git, '127.0.0.1'], progress: [progress, '127.0.0.1'] };
  Promise.all(
    Object.entries(servers).map(
      ([name, [handler, host]]) =>
        new Promise((resolve) => {
          const server = http.createServer(handler);
          server.listen((cfg.ports || {})[name] || 0, host, () => {
            ports[name] = server.address().port;
            resolve();
          });
        }),
    ),
  ).then(() => fs.writeFileSync(cfg.readyFile, JSON.stringify(ports)));
}
`;

export interface FakesConfig {
  /** The installation token that the API and the git server take. */
  githubToken: string;
  /** What the storage host serves. */
  zip?: Buffer;
  /** The directory whose repositories the git server serves, at /git/<name>. */
  gitRoot?: string;
  /** The storage host's answers, one per request (200 once they run out). */
  storageStatuses?: number[];
  /** Fixed ports (in the sandbox, whose network is its own); else any free ones. */
  ports?: Partial<Record<'api' | 'storage' | 'git' | 'progress', number>>;
}

/** What FAKES reads on stdin. */
export interface FakesInput {
  githubToken: string;
  zipBase64: string;
  gitRoot: string;
  storageStatuses: number[];
  ports: FakesConfig['ports'];
  artifactPath: string;
  recordFile: string;
  readyFile: string;
}

export interface FakeRecord {
  server: 'api' | 'storage' | 'git' | 'progress';
  method: string;
  url: string;
  authorization?: string;
  status: number;
  /** progress: the uploaded file's name (absent for a report). */
  name?: string;
  /** progress: the body, base64. */
  body?: string;
}

/** The settings for FAKES, recording into `dir`. */
export function fakesInput(config: FakesConfig, dir: string): FakesInput {
  return {
    githubToken: config.githubToken,
    zipBase64: (config.zip ?? Buffer.alloc(0)).toString('base64'),
    gitRoot: config.gitRoot ?? '/nonexistent',
    storageStatuses: config.storageStatuses ?? [],
    ports: config.ports ?? {},
    artifactPath: ARTIFACT_PATH,
    recordFile: join(dir, 'records.jsonl'),
    readyFile: join(dir, 'ports.json'),
  };
}

export function readRecords(dir: string): FakeRecord[] {
  const file = join(dir, 'records.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as FakeRecord);
}

export interface Fakes {
  /** vmci-artifact-url for the artifact the storage host serves. */
  artifactUrl: string;
  /** The API URL of an artifact that does not exist (404). */
  missingArtifactUrl: string;
  /** The clone URL of repository `name` in gitRoot. */
  gitUrl(name: string): string;
  records(): FakeRecord[];
}

/** Starts FAKES here, for local mode; cleanUp() stops it. */
export async function startFakes(config: FakesConfig): Promise<Fakes> {
  const dir = tempDir('fakes');
  const input = fakesInput(config, dir);
  const child = spawn(process.execPath, ['-e', FAKES], { stdio: ['pipe', 'ignore', 'inherit'] });
  child.stdin.end(JSON.stringify(input));
  onCleanUp(() => {
    child.kill();
  });
  for (let i = 0; i < 400 && !existsSync(input.readyFile); i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  const ports = JSON.parse(readFileSync(input.readyFile, 'utf8')) as Record<string, number>;
  const api = `http://127.0.0.1:${ports.api}`;
  return {
    artifactUrl: api + ARTIFACT_PATH,
    missingArtifactUrl: `${api}/repos/owner/repo/actions/artifacts/999/zip`,
    gitUrl: (name) => `http://127.0.0.1:${ports.git}/git/${name}`,
    records: () => readRecords(dir),
  };
}

export interface ZipEntry {
  name: string;
  /** A file's content. */
  data?: string | Buffer;
  /** A symbolic link's target (a Unix zip entry). */
  symlink?: string;
}

/** A zip archive (stored, no compression) as Info-ZIP on Unix writes it. */
export function makeZip(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const data = Buffer.from(entry.symlink ?? entry.data ?? '');
    const mode = entry.symlink === undefined ? 0o100644 : 0o120777;
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(0, 10); // time
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(0, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE((mode << 16) >>> 0, 38); // external attributes
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/**
 * Bash for a test command that looks for `secrets` wherever it can: its
 * environment, every /proc/<pid>/environ and cmdline it may read, the files
 * under `places` (bash words, expanded by the command), and git's config in the
 * checkout. Prints "hunt: FOUND in <where>" for each find, then
 * "hunt: done, <n> found". The secrets are in the command base64-encoded and
 * reach grep on a pipe, so that the hunt does not find itself.
 */
export function huntCommand(secrets: string[], places: string[]): string {
  const encoded = Buffer.from(`${secrets.join('\n')}\n`).toString('base64');
  return [
    `pats() { printf '%s' '${encoded}' | base64 -d; }`,
    'n=0; hit() { echo "hunt: FOUND in $1"; n=$((n + 1)); }',
    'env | grep -qaF -f <(pats) && hit env',
    'while IFS= read -r -d "" f; do hit "$f"; done < <(grep -laZF -f <(pats) /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null)',
    `while IFS= read -r -d "" f; do hit "$f"; done < <(grep -rlaZF -D skip -f <(pats) -- ${places.join(' ')} 2>/dev/null)`,
    'git config --list --show-origin 2>/dev/null | grep -qaF -f <(pats) && hit "git config"',
    'git config --get-regexp "^http\\..*extraheader" && hit "git config http.extraheader"',
    'echo "hunt: done, $n found"',
  ].join('\n');
}
