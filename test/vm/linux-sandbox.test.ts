// The Linux startup script's root-only parts, run for real as root in a
// throwaway sandbox (./sandbox.ts: network, mount and PID namespaces with a
// `vmci-runner` user and a metadata server stand-in on 169.254.169.254 and
// fd20:ce::254): its iptables and ip6tables rules, its check that the runner
// cannot reach the metadata server, and the whole script on a "real VM".
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ARTIFACT_PATH, FAKES, fakesInput, huntCommand, makeZip, readRecords } from './linux-fakes';
import {
  METADATA_V4,
  METADATA_V6,
  PROGRESS_URL,
  inSandbox,
  makeSandbox,
  sandboxProblem,
  type Sandbox,
} from './sandbox';
import { TEST_ID, TOKEN, attributesFor, cleanUp, makeRepo, type Repo } from './support';

jest.setTimeout(60_000);

let sandbox: Sandbox;

beforeAll(() => {
  // Never a silent skip: a machine where this cannot run fails these tests, saying why.
  const problem = sandboxProblem();
  if (problem) throw new Error(problem);
  sandbox = makeSandbox();
});

afterAll(cleanUp);

/** What the runner can reach, one line each, after BODY ran (as root). */
const PROBES = String.raw`
probe() { # NAME COMMAND...: "NAME yes" when it answers, else "NAME no"
  local name=$1; shift
  if "$@" >/dev/null 2>&1; then echo "$name yes"; else echo "$name no"; fi
}
as_runner_probe() { local name=$1; shift; probe "$name" runuser -u vmci-runner -- "$@"; }
probe 'root http v4' curl -s --max-time 5 http://169.254.169.254/
probe 'root http v6' curl -s --max-time 5 'http://[fd20:ce::254]/'
as_runner_probe 'runner http v4' curl -s --max-time 5 http://169.254.169.254/
as_runner_probe 'runner http v6' curl -s --max-time 5 'http://[fd20:ce::254]/'
as_runner_probe 'runner tcp 53 v4' curl -s --max-time 5 http://169.254.169.254:53/
as_runner_probe 'runner tcp 53 v6' curl -s --max-time 5 'http://[fd20:ce::254]:53/'
udp='exec 3<>"/dev/udp/$0/53" && printf dns >&3 && read -r -t 3 -N 8 reply <&3 && [[ $reply == "echo dns" ]]'
as_runner_probe 'runner udp 53 v4' bash -c "$udp" 169.254.169.254
as_runner_probe 'runner udp 53 v6' bash -c "$udp" fd20:ce::254
`;

/** isolate_runner after SETUP (bash, e.g. a stand-in for iptables), then the rules and probes. */
async function isolate(setup = '') {
  const run = await inSandbox(sandbox, {
    body: `${setup}\nisolate_runner; echo "isolate_runner: $?"\niptables -w -S OUTPUT; ip6tables -w -S OUTPUT\n${PROBES}`,
  });
  const lines = run.stdout.split('\n');
  return {
    ...run,
    rc: /^isolate_runner: (\d+)$/m.exec(run.stdout)?.[1],
    rules: lines.filter((l) => l.startsWith('-A OUTPUT')),
    probes: Object.fromEntries(
      lines
        .filter((l) => / (yes|no)$/.test(l))
        .map((l) => [l.replace(/ (yes|no)$/, ''), l.endsWith('yes')]),
    ),
  };
}

describe('the firewall rules (iptables and ip6tables, for real)', () => {
  it('rejects everything from the runner to both metadata addresses but DNS, which comes first', async () => {
    const run = await isolate();
    const uid = sandbox.uid;

    expect(run.rc).toBe('0');
    expect(run.rules).toEqual([
      `-A OUTPUT -d ${METADATA_V4}/32 -p udp -m owner --uid-owner ${uid} -m udp --dport 53 -j ACCEPT`,
      `-A OUTPUT -d ${METADATA_V4}/32 -p tcp -m owner --uid-owner ${uid} -m tcp --dport 53 -j ACCEPT`,
      `-A OUTPUT -d ${METADATA_V4}/32 -m owner --uid-owner ${uid} -j REJECT --reject-with icmp-port-unreachable`,
      `-A OUTPUT -d ${METADATA_V6}/128 -p udp -m owner --uid-owner ${uid} -m udp --dport 53 -j ACCEPT`,
      `-A OUTPUT -d ${METADATA_V6}/128 -p tcp -m owner --uid-owner ${uid} -m tcp --dport 53 -j ACCEPT`,
      `-A OUTPUT -d ${METADATA_V6}/128 -m owner --uid-owner ${uid} -j REJECT --reject-with icmp6-port-unreachable`,
    ]);
    expect(run.probes).toEqual({
      'root http v4': true,
      'root http v6': true,
      'runner http v4': false,
      'runner http v6': false,
      'runner tcp 53 v4': true,
      'runner tcp 53 v6': true,
      'runner udp 53 v4': true,
      'runner udp 53 v6': true,
    });
    expect(run.stdout).not.toMatch(/^vmci: /m);
  });

  it('without the rules, the runner reaches the server on both addresses (the probes can fail)', async () => {
    const run = await inSandbox(sandbox, { body: PROBES });
    expect(run.stdout).toContain('runner http v4 yes');
    expect(run.stdout).toContain('runner http v6 yes');
  });

  it.each([
    ['iptables sets no rule', 'iptables() { :; }', `http://${METADATA_V4}/computeMetadata/v1/`],
    ['ip6tables sets no rule', 'ip6tables() { :; }', `http://[${METADATA_V6}]/computeMetadata/v1/`],
    [
      'an earlier rule accepts all IPv4 traffic',
      'iptables() { command iptables "$@" && command iptables -w -I OUTPUT 1 -j ACCEPT; }',
      `http://${METADATA_V4}/computeMetadata/v1/`,
    ],
    [
      'an earlier rule accepts all IPv6 traffic',
      'ip6tables() { command ip6tables "$@" && command ip6tables -w -I OUTPUT 1 -j ACCEPT; }',
      `http://[${METADATA_V6}]/computeMetadata/v1/`,
    ],
  ])('the check fails when %s', async (_, setup, url) => {
    const run = await isolate(setup);

    expect(run.rc).toBe('1');
    expect(run.stdout).toContain(`vmci: the runner still reaches the metadata server at ${url}\n`);
  });

  it('fails, saying so, when a rule cannot be set', async () => {
    const run = await isolate('ip6tables() { echo "ip6tables: no"; return 4; }');

    expect(run.rc).toBe('1');
    expect(run.stdout).toContain('vmci: ip6tables failed\n');
  });
});

describe('the whole script on a "real VM" (not local mode)', () => {
  let repo: Repo;
  beforeAll(() => {
    repo = makeRepo();
    // The runner fetches it: its own, and the way to it open.
    execFileSync('chown', ['-R', `${sandbox.uid}:${sandbox.uid}`, repo.dir]);
    chmodSync(dirname(repo.dir), 0o755);
    chmodSync(repo.dir, 0o755);
    sandbox.keep.push(repo.dir);
  });

  /** A test command that tells what the runner can reach. */
  const reach =
    'id -un; for url in http://169.254.169.254/computeMetadata/v1/instance/attributes/vmci-token ' +
    "'http://[fd20:ce::254]/computeMetadata/v1/instance/attributes/vmci-token'; do " +
    'if curl -s --max-time 5 -H "Metadata-Flavor: Google" "$url"; then echo " <- reached $url"; ' +
    'else echo "blocked $url"; fi; done; touch "$VMCI_RESULTS_DIR/ran"; ls "$VMCI_RESULTS_DIR"';

  const boot = (setup: Record<string, string> = {}) =>
    inSandbox(sandbox, {
      main: true,
      attributes: attributesFor(repo, PROGRESS_URL, reach),
      env: { VMCI_METADATA_URL: `http://${METADATA_V4}/computeMetadata/v1`, ...setup },
    });

  it('runs the tests as vmci-runner, which cannot read the token, and reports completed', async () => {
    const run = await boot();

    expect(run.reports.map((r) => r.body.stage)).toEqual(['preparation', 'testing', 'completed']);
    expect(run.reports[2]?.authorization).toBe(`Bearer ${TOKEN}`);
    expect(run.reports[2]?.body).toEqual({
      testId: TEST_ID,
      stage: 'completed',
      result: { exitCode: 0, passed: null, failed: null, summary: 'exit code 0' },
    });
    expect(run.stdout).toContain('\nvmci-runner\n');
    expect(run.stdout).toContain(`\nblocked http://${METADATA_V4}/`);
    expect(run.stdout).toContain(`\nblocked http://[${METADATA_V6}]/`);
    expect(run.stdout).toContain('\nran\n');
    expect(run.stdout + run.stderr).not.toContain(TOKEN);
    expect(run.poweredOff).toBe(true);
  });

  it.each([
    ['ip6tables sets no rule', 'ip6tables'],
    ['iptables sets no rule', 'iptables'],
  ])('when %s: reports failed, does not run the tests and powers off', async (_, tool) => {
    // A stand-in, first on PATH, that does nothing.
    const fakes = `${sandbox.dir}/broken-${tool}`;
    execFileSync('mkdir', ['-p', fakes]);
    execFileSync('bash', [
      '-c',
      `printf '#!/bin/sh\\nexit 0\\n' >"$0/${tool}"; chmod 755 "$0/${tool}"`,
      fakes,
    ]);
    const run = await boot({
      PATH: `${fakes}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    });

    expect(run.reports.map((r) => r.body.stage)).toEqual(['preparation', 'failed']);
    expect(run.reports[1]?.body.message).toBe(
      'Could not cut the test user off from the metadata server',
    );
    expect(run.stdout).toMatch(/^vmci: the runner still reaches the metadata server at /m);
    expect(run.stdout).not.toContain('\nran\n');
    expect(run.stdout).not.toContain('vmci-runner\n');
    expect(run.poweredOff).toBe(true);
  });
});

describe("results, read with the runner's rights (not local mode)", () => {
  const SECRET = 'root-only-secret-4711';

  /** A results directory that the runner owns, beside files only root may read. */
  function makeResults(summaryKind: 'symlink' | 'hard link') {
    const base = join(sandbox.dir, `results-${summaryKind.replace(' ', '-')}`);
    const results = join(base, 'results');
    const rootOnly = join(base, 'root-only');
    mkdirSync(results, { recursive: true });
    mkdirSync(rootOnly, { mode: 0o700 });
    chmodSync(rootOnly, 0o700);
    const secretJson = join(rootOnly, 'secret.json');
    writeFileSync(secretJson, `{"passed": 99, "failed": 0, "summary": "${SECRET}"}`, {
      mode: 0o600,
    });
    // Root's files, which a hard link puts in the runner's directory (root may make one; the runner may not).
    const secretXml = join(base, 'secret.xml');
    writeFileSync(secretXml, `<testsuite tests="40" name="${SECRET}"/>`, { mode: 0o600 });
    if (summaryKind === 'symlink') {
      symlinkSync(secretJson, join(results, 'summary.json'));
    } else {
      const hardSummary = join(base, 'summary.json');
      writeFileSync(hardSummary, `{"passed": 98, "failed": 0, "summary": "${SECRET}"}`, {
        mode: 0o600,
      });
      linkSync(hardSummary, join(results, 'summary.json'));
    }
    linkSync(secretXml, join(results, 'hard.xml'));
    symlinkSync('/etc/shadow', join(results, 'shadow.xml'));
    symlinkSync(join(rootOnly, 'secret.json'), join(results, 'secret.xml'));
    writeFileSync(join(results, 'own.xml'), '<testsuite tests="3" failures="1"/>');
    // The runner's: the directory, its file and the symlinks (not the hard links' files: root's).
    const own = ['', 'own.xml', 'shadow.xml', 'secret.xml'];
    if (summaryKind === 'symlink') own.push('summary.json');
    execFileSync('chown', [
      '-h',
      `${sandbox.uid}:${sandbox.uid}`,
      ...own.map((f) => join(results, f)),
    ]);
    return results;
  }

  it.each([['symlink' as const], ['hard link' as const]])(
    "a summary.json %s and JUnit links to root-only files count for nothing; the runner's own file counts",
    async (kind) => {
      const results = makeResults(kind);
      const run = await inSandbox(sandbox, {
        body: 'read_results "$1" 0; printf \'result=%s/%s/%s\\n\' "$RESULT_PASSED" "$RESULT_FAILED" "$RESULT_SUMMARY"',
        args: [results],
      });

      expect(run.stdout).toContain('\nresult=2/1/2 passed, 1 failed\n');
      expect(run.stdout).toContain('vmci: skipping hard.xml: it cannot be read\n');
      if (kind === 'hard link') {
        expect(run.stdout).toContain(
          'vmci: skipping summary.json: it cannot be read or is over 1048576 bytes\n',
        );
      }
      expect(run.stdout + run.stderr).not.toContain(SECRET);
      expect(run.stdout + run.stderr).not.toMatch(/^root:/m);
    },
  );
});

describe('the GitHub token, the build artifact and the uploads on a "real VM" (not local mode)', () => {
  const GITHUB_TOKEN = `ghs_${randomBytes(18).toString('base64url')}`;
  const VM_TOKEN = `vmci-tok_${randomBytes(12).toString('hex')}`;
  const BASIC = Buffer.from(`x-access-token:${GITHUB_TOKEN}`).toString('base64');
  const SECRETS = [VM_TOKEN, GITHUB_TOKEN, BASIC];
  const ports = { api: 8091, storage: 8092, git: 8093, progress: 8094 };

  /** Starts FAKES in the sandbox (its settings in a root-only file), then the whole script. */
  const BODY = String.raw`
chmod 600 "$VMCI_SANDBOX/attributes.json"
"$VMCI_NODE" -e "$VMCI_FAKES" <"$VMCI_SANDBOX/fakes.json" &
for _ in $(seq 200); do [[ -e $VMCI_SANDBOX/ports.json ]] && break; sleep 0.05; done
unset VMCI_FAKES
main
`;

  it('fetches with the token, unpacks the artifact as the runner, uploads; the runner finds no token', async () => {
    const repo = makeRepo();
    sandbox.keep.push(repo.dir);
    const zip = makeZip([
      { name: 'build/out.txt', data: 'built by the build job\n' },
      { name: '../escaped.txt', data: 'out of the artifact directory\n' },
      { name: 'build/private-log', symlink: '/var/lib/vmci/private/log.txt' },
    ]);
    for (const stale of ['records.jsonl', 'ports.json'])
      rmSync(join(sandbox.dir, stale), { force: true });
    writeFileSync(
      join(sandbox.dir, 'fakes.json'),
      JSON.stringify(
        fakesInput(
          { githubToken: GITHUB_TOKEN, zip, gitRoot: dirname(repo.dir), ports },
          sandbox.dir,
        ),
      ),
      { mode: 0o600 },
    );
    const command = [
      'id -un',
      'a=$VMCI_ARTIFACT_DIR',
      'echo "artifact: $a $(stat -c %U "$a") $(cat "$a/build/out.txt")"',
      'ls "$a"; ls /var/lib/vmci',
      'cat "$a/build/private-log" >/dev/null 2>&1 && echo "link: read" || echo "link: denied"',
      'echo "mine" > "$VMCI_RESULTS_DIR/own.txt"',
      'ln -s /var/lib/vmci/private/log.txt "$VMCI_RESULTS_DIR/log-link.txt"',
      huntCommand(SECRETS, ['/var/lib/vmci', '/home', '/tmp']),
    ].join('\n');
    const run = await inSandbox(sandbox, {
      body: BODY,
      attributes: {
        ...attributesFor(repo, `http://127.0.0.1:${ports.progress}/progress`, command),
        'vmci-token': VM_TOKEN,
        'vmci-clone-url': `http://127.0.0.1:${ports.git}/git/${basename(repo.dir)}`,
        'vmci-github-token': GITHUB_TOKEN,
        'vmci-artifact-url': `http://127.0.0.1:${ports.api}${ARTIFACT_PATH}`,
        'vmci-artifact-name': 'linux-build',
      },
      env: {
        VMCI_METADATA_URL: `http://${METADATA_V4}/computeMetadata/v1`,
        VMCI_FAKES: FAKES,
      },
    });
    const records = readRecords(sandbox.dir);
    const progress = records.filter((r) => r.server === 'progress');
    const events = progress.map((r) =>
      r.name === undefined
        ? `report ${(JSON.parse(Buffer.from(r.body ?? '', 'base64').toString()) as { stage: string }).stage}`
        : `file ${r.name}`,
    );

    expect(events).toEqual([
      'report preparation',
      'report testing',
      'file log.txt',
      'file results/own.txt',
      'report completed',
    ]);
    for (const r of progress) expect(r.authorization).toBe(`Bearer ${VM_TOKEN}`);
    expect(run.stdout).toContain('\nvmci-runner\n');
    expect(run.stdout).toContain(
      '\nartifact: /var/lib/vmci/artifact vmci-runner built by the build job\n',
    );
    // unzip, as the runner, kept the ../ entry inside; root's log stays unreadable through the link.
    expect(run.stdout).toContain('\nbuild\nescaped.txt\nartifact\ncheckout\nprivate\nresults\n');
    expect(run.stdout).toContain('\nlink: denied\n');
    expect(run.stdout).toContain('\nhunt: done, 0 found\n');
    expect(run.stdout).not.toContain('hunt: FOUND');
    for (const secret of SECRETS) expect(run.stdout + run.stderr).not.toContain(secret);
    const log = Buffer.from(progress.find((r) => r.name === 'log.txt')?.body ?? '', 'base64');
    expect(log.toString()).toContain('\nhunt: done, 0 found\n');
    const gitRequests = records.filter((r) => r.server === 'git');
    expect(gitRequests.length).toBeGreaterThan(0);
    for (const r of gitRequests) expect(r.authorization).toBe(`Basic ${BASIC}`);
    expect(records.filter((r) => r.server === 'storage').map((r) => r.authorization)).toEqual([
      undefined,
    ]);
    expect(run.poweredOff).toBe(true);
  });

  it("collect_files hands root only the runner's own files: no link or hard link to root's", async () => {
    const SECRET = 'root-only-secret-4712';
    const base = join(sandbox.dir, 'files-links');
    const results = join(base, 'results');
    mkdirSync(join(results, 'sub'), { recursive: true });
    const secretFile = join(base, 'secret.txt');
    writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
    linkSync(secretFile, join(results, 'hard.txt'));
    symlinkSync(secretFile, join(results, 'soft.txt'));
    symlinkSync('/etc/shadow', join(results, 'sub', 'shadow.txt'));
    writeFileSync(join(results, 'sub', 'own.txt'), 'mine\n');
    execFileSync('chown', [
      '-h',
      `${sandbox.uid}:${sandbox.uid}`,
      ...['', 'sub', 'soft.txt', 'sub/shadow.txt', 'sub/own.txt'].map((f) => join(results, f)),
    ]);
    const run = await inSandbox(sandbox, {
      body: 'PRIVATE=$(mktemp -d) && collect_files "$1" "$PRIVATE/stream" && echo "--- stream" && cat "$PRIVATE/stream"',
      args: [results],
    });

    expect(run.stdout).toContain('vmci: not uploading hard.txt: it cannot be read\n');
    expect(run.stdout).toContain('--- stream\nfile 5 results/sub/own.txt\nmine\n');
    expect(run.stdout + run.stderr).not.toContain(SECRET);
    expect(run.stdout + run.stderr).not.toMatch(/^root:/m);
  });
});
