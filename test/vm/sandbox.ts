// A throwaway "VM" for the Linux startup script's root-only parts: new network,
// mount and PID namespaces (unshare), so the script's real iptables and
// ip6tables rules, runuser and `kill -1` touch nothing outside. Inside:
// - a user `vmci-runner` (a private copy of /etc/passwd and /etc/group is
//   mounted over the real ones: nothing is added to this machine's users);
// - loopback with the metadata server's addresses, 169.254.169.254 and
//   fd20:ce::254, where a stand-in answers HTTP on ports 80 and 53, echoes UDP
//   on port 53, serves the instance attributes and records `progress` reports;
// - /run and /var/lib are empty tmpfs, and systemctl, shutdown, poweroff,
//   reboot and halt are stand-ins that only say so (the real ones are hidden);
// - a fresh /tmp that every user may write to, as on a VM, with the sandbox's
//   directory (and any other in Sandbox.keep) mounted back in it.
// It needs root (CI and the developers' machines run as root), util-linux's
// unshare, iproute2 and iptables (.ci/run installs it). When it cannot work,
// sandboxProblem() says why and the tests fail with that: they never skip.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SCRIPT, tempDir } from './support';

export const METADATA_V4 = '169.254.169.254';
export const METADATA_V6 = 'fd20:ce::254';
export const PROGRESS_URL = 'http://127.0.0.1:8080/progress';
/** root's PATH on a VM, whatever this process's PATH is. */
const ROOT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The stand-in servers (node, run as root inside the sandbox). */
const SERVER = String.raw`
const http = require('node:http');
const dgram = require('node:dgram');
const fs = require('node:fs');
const path = require('node:path');
const dir = process.argv[2];
const attributes = JSON.parse(fs.readFileSync(path.join(dir, 'attributes.json'), 'utf8'));
const prefix = '/computeMetadata/v1/instance/attributes/';
const handler = (req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.method === 'POST' && req.url === '/progress') {
      const line = JSON.stringify({ authorization: req.headers.authorization, body: Buffer.concat(chunks).toString('utf8') });
      fs.appendFileSync(path.join(dir, 'reports.jsonl'), line + '\n');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end('{}');
    }
    if (req.url.startsWith(prefix)) {
      const value = attributes[decodeURIComponent(req.url.slice(prefix.length))];
      if (value === undefined) { res.writeHead(404); return res.end('not found'); }
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      return res.end(value);
    }
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('metadata answers ' + req.socket.localAddress + ':' + req.socket.localPort);
  });
};
const listening = [];
for (const [host, port] of [['169.254.169.254', 80], ['fd20:ce::254', 80], ['169.254.169.254', 53], ['fd20:ce::254', 53], ['127.0.0.1', 8080]]) {
  listening.push(new Promise((resolve) => http.createServer(handler).listen(port, host, resolve)));
}
for (const [type, host] of [['udp4', '169.254.169.254'], ['udp6', 'fd20:ce::254']]) {
  const socket = dgram.createSocket(type);
  socket.on('message', (msg, from) => socket.send(Buffer.concat([Buffer.from('echo '), msg]), from.port, from.address));
  listening.push(new Promise((resolve) => socket.bind(53, host, resolve)));
}
Promise.all(listening).then(() => fs.writeFileSync(path.join(dir, 'ready'), ''));
`;

/** Set up inside the namespaces, then `source startup.sh` and run the body ($1...). */
const SETUP = String.raw`
set -euo pipefail
sbx=$VMCI_SANDBOX
mount --bind "$sbx/passwd" /etc/passwd
mount --bind "$sbx/group" /etc/group
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /var/lib
# A fresh /tmp as on a VM (every user may write there), with the test's directories in it.
n=0
while IFS= read -r path; do
  n=$((n + 1)) && mkdir -p "/run/keep/$n" && mount --bind "$path" "/run/keep/$n"
done <<<"$VMCI_SANDBOX_KEEP"
mount -t tmpfs -o mode=1777 tmpfs /tmp
n=0
while IFS= read -r path; do
  n=$((n + 1)) && mkdir -p "$path" && mount --bind "/run/keep/$n" "$path"
done <<<"$VMCI_SANDBOX_KEEP"
for tool in systemctl shutdown poweroff reboot halt; do
  for dir in /usr/bin /usr/sbin /bin /sbin; do
    if [[ -e $dir/$tool && ! -L $dir && ! -L $dir/$tool ]]; then mount --bind "$sbx/fakes/$tool" "$dir/$tool"; fi
  done
done
ip link set lo up
ip addr add 169.254.169.254/32 dev lo
ip -6 addr add fd20:ce::254/128 dev lo nodad
"$VMCI_NODE" "$sbx/server.js" "$sbx" &
for _ in $(seq 200); do [[ -e $sbx/ready ]] && break; sleep 0.05; done
[[ -e $sbx/ready ]] || { echo 'the metadata stand-in did not start' >&2; exit 97; }
export PATH="$sbx/fakes:$PATH"
set +euo pipefail
cd "$sbx"
if [[ $VMCI_SANDBOX_MAIN == 1 ]]; then
  bash "$VMCI_SCRIPT"
else
  source "$VMCI_SCRIPT"
  eval "$VMCI_BODY"
fi
`;

export interface Sandbox {
  /** A directory every user may read; the runner owns nothing in it unless told. */
  dir: string;
  uid: number;
  /** Directories (under /tmp, as the sandbox dir is) that runs in the sandbox see. */
  keep: string[];
}

export interface SandboxRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The `progress` reports the stand-in recorded. */
  reports: { authorization: string; body: { stage: string; message?: string; result?: unknown } }[];
  /** Whether the script powered off (a stand-in for systemctl poweroff ran). */
  poweredOff: boolean;
}

/** A uid (and gid) that no user or group here has. */
function freeId(): number {
  const taken = new Set<number>();
  for (const file of ['/etc/passwd', '/etc/group']) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const id = Number(line.split(':')[2]);
      if (Number.isInteger(id)) taken.add(id);
    }
  }
  let id = 4711;
  while (taken.has(id)) id++;
  return id;
}

/** A fresh sandbox directory (the namespaces are made per run). */
export function makeSandbox(): Sandbox {
  const dir = tempDir('sandbox');
  chmodSync(dir, 0o755);
  const uid = freeId();
  const runner = `vmci-runner:x:${uid}:${uid}:vm-ci runner:/home/vmci-runner:/bin/bash\n`;
  const withNewline = (s: string) => (s.endsWith('\n') ? s : `${s}\n`);
  writeFileSync(join(dir, 'passwd'), withNewline(readFileSync('/etc/passwd', 'utf8')) + runner);
  writeFileSync(
    join(dir, 'group'),
    withNewline(readFileSync('/etc/group', 'utf8')) + `vmci-runner:x:${uid}:\n`,
  );
  chmodSync(join(dir, 'passwd'), 0o644);
  chmodSync(join(dir, 'group'), 0o644);
  execFileSync('mkdir', ['-p', join(dir, 'fakes')]);
  for (const tool of ['systemctl', 'shutdown', 'poweroff', 'reboot', 'halt']) {
    const fake = join(dir, 'fakes', tool);
    writeFileSync(fake, `#!/bin/sh\necho "sandbox: ${tool} $*"\ntouch "${dir}/powered-off"\n`);
    chmodSync(fake, 0o755);
  }
  writeFileSync(join(dir, 'server.js'), SERVER);
  // The sandbox's /tmp is new: the script, wherever it is, is run from here.
  copyFileSync(SCRIPT, join(dir, 'startup.sh'));
  writeFileSync(join(dir, 'attributes.json'), '{}');
  // The sandbox's /tmp is new too: a Node under /tmp (a checkout there) must stay visible.
  const node = dirname(process.execPath);
  return { dir, uid, keep: node.startsWith('/tmp/') ? [dir, node] : [dir] };
}

/** Why the sandbox cannot run here, or undefined when it can. */
export function sandboxProblem(): string | undefined {
  if (process.getuid?.() !== 0) {
    return 'the sandbox tests need root (unshare, mount, iptables); run them as root, as CI does';
  }
  for (const tool of ['unshare', 'ip', 'iptables', 'ip6tables', 'runuser', 'curl', 'git']) {
    try {
      execFileSync('bash', ['-c', `command -v ${tool}`], {
        stdio: 'ignore',
        env: { PATH: ROOT_PATH },
      });
    } catch {
      return `the sandbox tests need ${tool} (apt-get install -y iptables iproute2 util-linux curl git; .ci/run installs iptables)`;
    }
  }
  try {
    execFileSync(
      'unshare',
      [
        '--net',
        '--mount',
        '--pid',
        '--fork',
        '--mount-proc',
        'bash',
        '-c',
        'ip link set lo up && ip addr add 169.254.169.254/32 dev lo && ip -6 addr add fd20:ce::254/128 dev lo nodad && iptables -w -S OUTPUT >/dev/null && ip6tables -w -S OUTPUT >/dev/null',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', env: { PATH: ROOT_PATH } },
    );
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    return `cannot make network, mount and PID namespaces with iptables in them here: ${(e.stderr || e.message).trim()}`;
  }
  return undefined;
}

export interface SandboxOptions {
  /** Bash run after `source startup.sh` (not in local mode), with args as $1... */
  body?: string;
  args?: string[];
  /** Run the whole script (main) instead of a body. */
  main?: boolean;
  attributes?: Record<string, string>;
  env?: Record<string, string>;
}

/** Runs the startup script in the sandbox, as root, not in local mode. */
export async function inSandbox(sandbox: Sandbox, options: SandboxOptions): Promise<SandboxRun> {
  const { dir } = sandbox;
  writeFileSync(join(dir, 'attributes.json'), JSON.stringify(options.attributes ?? {}));
  for (const stale of ['ready', 'reports.jsonl', 'powered-off']) {
    execFileSync('rm', ['-f', join(dir, stale)]);
  }
  const child = spawn(
    'unshare',
    [
      '--net',
      '--mount',
      '--pid',
      '--fork',
      '--mount-proc',
      'bash',
      '-c',
      SETUP,
      'sandbox',
      ...(options.args ?? []),
    ],
    {
      cwd: dir,
      env: {
        PATH: ROOT_PATH,
        LANG: 'C.UTF-8',
        VMCI_SANDBOX: dir,
        VMCI_SANDBOX_KEEP: sandbox.keep.join('\n'),
        VMCI_NODE: process.execPath,
        VMCI_SCRIPT: join(dir, 'startup.sh'),
        VMCI_BODY: options.body ?? 'true',
        VMCI_SANDBOX_MAIN: options.main ? '1' : '0',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const reportsFile = join(dir, 'reports.jsonl');
  const reports = existsSync(reportsFile)
    ? readFileSync(reportsFile, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const r = JSON.parse(l) as { authorization: string; body: string };
          return {
            authorization: r.authorization,
            body: JSON.parse(r.body) as SandboxRun['reports'][number]['body'],
          };
        })
    : [];
  return { code, stdout, stderr, reports, poweredOff: existsSync(join(dir, 'powered-off')) };
}
