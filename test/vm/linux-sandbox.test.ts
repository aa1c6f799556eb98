// The Linux startup script's root-only parts, run for real as root in a
// throwaway sandbox (./sandbox.ts: network, mount and PID namespaces with a
// `vmci-runner` user and a metadata server stand-in on 169.254.169.254 and
// fd20:ce::254): its iptables and ip6tables rules, its check that the runner
// cannot reach the metadata server, and the whole script on a "real VM".
import { execFileSync } from 'node:child_process';
import { chmodSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
