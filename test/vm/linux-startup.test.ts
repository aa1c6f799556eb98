// The Linux VM startup script (infra/vm/linux/startup.sh, DESIGN §6), run for
// real with bash in local mode: the Compute stand-in's metadata server, a
// recording `progress` server, a local git repository as the clone URL.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { startMetadataServer } from '../../infra/local/compute/metadata';
import { ConsoleBuffer, VmProcess } from '../../infra/local/compute/vm-process';
import {
  SCRIPT,
  TEST_ID,
  TOKEN,
  always200,
  attributesFor,
  cleanUp,
  closedPort,
  makeRepo,
  runScript,
  sourced,
  startProgressServer,
  tempDir,
  type Repo,
} from './support';

jest.setTimeout(30_000);

const FIXTURES = join(__dirname, '../fixtures/vm/linux');
/** The command creates this file in the VM's directory when it runs at all. */
const MARK = 'touch ../../command-ran';
const commandRan = (dir: string) => existsSync(join(dir, 'command-ran'));

let repo: Repo;

beforeAll(() => {
  repo = makeRepo();
});

afterAll(cleanUp);

describe('a test that runs', () => {
  it('reports preparation, testing and completed with the token, which it never prints', async () => {
    const progress = await startProgressServer();
    const run = await runScript({
      attributes: attributesFor(repo, progress.url, 'echo "hello from the test"; cat README; env'),
    });

    expect(run.code).toBe(0);
    expect(progress.stages()).toEqual(['preparation', 'testing', 'completed']);
    for (const report of progress.reports) {
      expect(report.authorization).toBe(`Bearer ${TOKEN}`);
      expect(report.contentType).toBe('application/json');
      expect(report.body.testId).toBe(TEST_ID);
    }
    expect(progress.reports[0]?.body).toEqual({ testId: TEST_ID, stage: 'preparation' });
    expect(progress.reports[1]?.body).toEqual({ testId: TEST_ID, stage: 'testing' });
    expect(progress.reports[2]?.body).toEqual({
      testId: TEST_ID,
      stage: 'completed',
      result: { exitCode: 0, passed: null, failed: null, summary: 'exit code 0' },
    });
    // Test output and the script's own lines, told apart by the prefix.
    expect(run.stdout).toContain('\nhello from the test\nfirst\n');
    expect(run.stdout).toMatch(/^vmci: report completed$/m);
    // Neither the console nor the command's environment (printed by `env`) holds the token.
    expect(run.stdout + run.stderr).not.toContain(TOKEN);
    const env = run.stdout.split('\n');
    const resultsDir = env.find((l) => l.startsWith('VMCI_RESULTS_DIR='))?.split('=')[1];
    expect(resultsDir).toBe(join(run.dir, 'vmci', 'results'));
    expect(env).toContain('GIT_TERMINAL_PROMPT=0');
    expect(env).toContain(`VMCI_SHA=${repo.first}`);
    expect(env.some((l) => l.startsWith('VMCI_METADATA_URL='))).toBe(false);
    expect(env.some((l) => l.startsWith('VMCI_LOCAL='))).toBe(false);
  });

  it('reports a failing command with its exit code', async () => {
    const progress = await startProgressServer();
    const run = await runScript({ attributes: attributesFor(repo, progress.url, 'bash fail.sh') });

    expect(run.code).toBe(0);
    expect(progress.stages()).toEqual(['preparation', 'testing', 'completed']);
    expect(progress.reports[2]?.body.result).toEqual({
      exitCode: 3,
      passed: null,
      failed: null,
      summary: 'exit code 3',
    });
    expect(run.stdout).toContain('failing on purpose\n');
  });

  it('checks out exactly the commit, not the branch tip', async () => {
    const progress = await startProgressServer();
    const run = await runScript({
      attributes: attributesFor(
        repo,
        progress.url,
        'echo "HEAD=$(git rev-parse HEAD)"; cat README',
      ),
    });

    expect(run.stdout).toContain(`HEAD=${repo.first}\nfirst\n`);
    expect(run.stdout).not.toContain(repo.second);
    expect(progress.reports[2]?.body.result?.exitCode).toBe(0);
  });

  it("streams the command's output as it comes", async () => {
    // The command waits for a file that the test writes only once it has seen
    // the first line: buffered output would end in exit code 7.
    const command =
      'echo "line one"; for i in $(seq 200); do [ -e ../../go ] && break; sleep 0.05; done; ' +
      '[ -e ../../go ] || exit 7; echo "line two"';
    const progress = await startProgressServer();
    const run = await runScript({
      attributes: attributesFor(repo, progress.url, command),
      onStdout: (text, vm) => {
        if (text.includes('line one\n')) writeFileSync(join(vm.dir, 'go'), '');
      },
    });

    expect(progress.reports[2]?.body.result?.exitCode).toBe(0);
    expect(run.stdout).toContain('line one\nline two\n');
  });
});

describe('booted by the Compute stand-in', () => {
  it('runs as the startup-script of a local VM, its output on the serial console', async () => {
    const progress = await startProgressServer();
    const metadata = await startMetadataServer(() => ({
      project: 'p',
      projectNumber: '1',
      zone: 'us-central1-a',
      name: 'vm',
      id: '1',
      machineType: 'e2-small',
      attributes: attributesFor(repo, progress.url, 'echo "on the console"'),
    }));
    const host = `127.0.0.1:${metadata.port}`;
    const serial = new ConsoleBuffer(64 * 1024);
    const vm = new VmProcess({
      script: readFileSync(SCRIPT, 'utf8'),
      dir: tempDir('standin'),
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: tempDir('home'),
        VMCI_LOCAL: '1',
        GCE_METADATA_HOST: host,
        VMCI_METADATA_URL: `http://${host}/computeMetadata/v1`,
      },
      console: serial,
      killGraceMs: 2000,
    });
    const exit = await vm.exited;
    await metadata.close();

    expect(exit).toEqual({ exitCode: 0, signal: null });
    expect(progress.stages()).toEqual(['preparation', 'testing', 'completed']);
    expect(serial.text()).toContain('\non the console\n');
    expect(serial.text()).not.toContain(TOKEN);
  });
});

describe('results', () => {
  it('takes the counts and summary from summary.json', async () => {
    const summary = JSON.stringify({
      passed: 12,
      failed: 1,
      summary: '12 passed, 1 failed ("slow" \\ one)\nsee the log ✓ \u00e9',
    });
    const command = `printf '%s' '${summary}' > "$VMCI_RESULTS_DIR/summary.json"; exit 1`;
    const progress = await startProgressServer();
    await runScript({ attributes: attributesFor(repo, progress.url, command) });

    expect(progress.reports[2]?.body.result).toEqual({
      exitCode: 1,
      passed: 12,
      failed: 1,
      summary: '12 passed, 1 failed ("slow" \\ one) see the log ✓ é',
    });
  });

  it('sums the counts of the JUnit XML files', async () => {
    const jest = readFileSync(join(FIXTURES, 'jest-junit.xml'), 'utf8');
    const pytest = readFileSync(join(FIXTURES, 'pytest.xml'), 'utf8');
    const command =
      `cat > "$VMCI_RESULTS_DIR/jest.xml" <<'EOF'\n${jest}EOF\n` +
      `mkdir "$VMCI_RESULTS_DIR/py"; cat > "$VMCI_RESULTS_DIR/py/report.xml" <<'EOF'\n${pytest}EOF\n`;
    const progress = await startProgressServer();
    await runScript({ attributes: attributesFor(repo, progress.url, command) });

    // jest-junit: 6 tests, 1 failure, 1 skipped; pytest: 10 tests, 2 failures, 1 error, 1 skipped.
    expect(progress.reports[2]?.body.result).toEqual({
      exitCode: 0,
      passed: 4 + 6,
      failed: 1 + 3,
      summary: '10 passed, 4 failed',
    });
  });

  /** read_results on `dir`; what it logged goes to `logged`. */
  let logged = '';
  const results = (dir: string, code = 0) => {
    const out = sourced(
      'read_results "$1" "$2"; printf \'{"passed":%s,"failed":%s,"summary":%s}\' "${RESULT_PASSED:-null}" "${RESULT_FAILED:-null}" "$(json_string "$RESULT_SUMMARY")"',
      dir,
      String(code),
    );
    const lines = out.split('\n');
    logged = lines.slice(0, -1).join('\n');
    return JSON.parse(lines.at(-1)!) as {
      passed: number | null;
      failed: number | null;
      summary: string;
    };
  };

  it.each([
    ['jest-junit.xml', 4, 1, 'totals on <testsuites>, skipped from its suites'],
    ['pytest.xml', 6, 3, 'no totals on <testsuites>: its suites'],
    ['nested.xml', 8, 2, 'nested suites, single quotes, attributes over lines: outermost only'],
  ])('reads %s: %i passed, %i failed (%s)', (file, passed, failed) => {
    const dir = tempDir('results');
    writeFileSync(join(dir, 'report.xml'), readFileSync(join(FIXTURES, file)));
    expect(results(dir)).toEqual({ passed, failed, summary: `${passed} passed, ${failed} failed` });
  });

  it('prefers summary.json, ignores XML that is not JUnit, and knows no counts without either', () => {
    const dir = tempDir('results');
    writeFileSync(join(dir, 'other.xml'), '<project name="x"><target/></project>');
    expect(results(dir, 2)).toEqual({ passed: null, failed: null, summary: 'exit code 2' });

    writeFileSync(join(dir, 'report.xml'), readFileSync(join(FIXTURES, 'pytest.xml')));
    writeFileSync(join(dir, 'summary.json'), '{ "failed" : 0,\n "passed": 3 }');
    expect(results(dir)).toEqual({ passed: 3, failed: 0, summary: '3 passed, 0 failed' });

    writeFileSync(join(dir, 'summary.json'), '{"passed": -1, "failed": null, "summary": "odd"}');
    expect(results(dir, 1)).toEqual({ passed: null, failed: null, summary: 'odd' });
    expect(logged).toBe(
      'vmci: summary.json: "passed" is not a non-negative integer; reporting null',
    );
  });

  const MiB = 1024 * 1024;
  /** A JUnit file of exactly `bytes` bytes (padded with a comment) with one suite of `tests` tests. */
  const junitOfSize = (tests: number, bytes: number, failures = 0): Buffer => {
    const head = `<testsuite tests="${tests}" failures="${failures}"><!--`;
    const tail = '--></testsuite>\n';
    return Buffer.concat([
      Buffer.from(head),
      Buffer.alloc(bytes - head.length - tail.length, 'x'),
      Buffer.from(tail),
    ]);
  };

  it('skips a JUnit file over 10 MiB, saying so, and counts the others', () => {
    const dir = tempDir('results');
    writeFileSync(join(dir, 'big.xml'), junitOfSize(50, 10 * MiB + 1, 5));
    writeFileSync(join(dir, 'edge.xml'), junitOfSize(3, 10 * MiB));
    writeFileSync(join(dir, 'small.xml'), '<testsuite tests="2" failures="1"/>');

    expect(results(dir)).toEqual({ passed: 4, failed: 1, summary: '4 passed, 1 failed' });
    expect(logged).toBe('vmci: skipping big.xml: it is over 10485760 bytes');
  });

  it('reads at most 50 MiB in all: a file past that is skipped, the others count', () => {
    const dir = tempDir('results');
    // In name order: five files of 9 MiB (45 MiB), a sixth that would pass 50 MiB, a small one.
    for (let i = 1; i <= 6; i++) writeFileSync(join(dir, `a${i}.xml`), junitOfSize(1, 9 * MiB));
    writeFileSync(join(dir, 'z.xml'), '<testsuite tests="10" failures="2"/>');

    expect(results(dir)).toEqual({ passed: 13, failed: 2, summary: '13 passed, 2 failed' });
    expect(logged).toBe('vmci: skipping a6.xml: the results are over 52428800 bytes in all');
  });

  it('skips a summary.json over 1 MiB, saying so: the JUnit files count instead', () => {
    const dir = tempDir('results');
    const summary = '{"passed": 99, "failed": 0, "summary": "not this"}';
    writeFileSync(join(dir, 'summary.json'), summary + ' '.repeat(MiB + 1 - summary.length));
    writeFileSync(join(dir, 'report.xml'), readFileSync(join(FIXTURES, 'pytest.xml')));

    expect(results(dir)).toEqual({ passed: 6, failed: 3, summary: '6 passed, 3 failed' });
    expect(logged).toBe('vmci: skipping summary.json: it cannot be read or is over 1048576 bytes');
  });

  it('reads only regular files, through no link, and waits on no FIFO or /dev/zero', () => {
    const dir = tempDir('results');
    const elsewhere = tempDir('elsewhere');
    writeFileSync(join(elsewhere, 'summary.json'), '{"passed": 99, "failed": 0}');
    writeFileSync(join(elsewhere, 'real.xml'), '<testsuite tests="7"/>');
    writeFileSync(join(elsewhere, 'deep.xml'), '<testsuite tests="9"/>');
    symlinkSync(join(elsewhere, 'summary.json'), join(dir, 'summary.json'));
    symlinkSync(join(elsewhere, 'real.xml'), join(dir, 'link.xml'));
    symlinkSync(elsewhere, join(dir, 'linked-dir'));
    symlinkSync('/dev/zero', join(dir, 'zero.xml'));
    execFileSync('mkfifo', [join(dir, 'fifo.xml')]);
    mkdirSync(join(dir, 'sub'));
    execFileSync('mkfifo', [join(dir, 'sub', 'summary.json')]);
    writeFileSync(join(dir, 'sub', 'own.xml'), '<testsuite tests="1"/>');

    const started = Date.now();
    expect(results(dir)).toEqual({ passed: 1, failed: 0, summary: '1 passed, 0 failed' });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(logged).toBe('');
  });

  it('reads at most 2000 JUnit files, saying so', () => {
    const dir = tempDir('results');
    for (let i = 1; i <= 2001; i++) {
      writeFileSync(join(dir, `t${String(i).padStart(4, '0')}.xml`), '<testsuite tests="1"/>');
    }

    expect(results(dir)).toEqual({ passed: 2000, failed: 0, summary: '2000 passed, 0 failed' });
    expect(logged).toBe('vmci: there are more than 2000 JUnit files: reading 2000 of them');
  }, 240_000);

  it('hands the runner a program that holds no secret and reads no file as root', () => {
    const program = sourced('TOKEN=$1; results_program', TOKEN);
    expect(program).not.toContain(TOKEN);
    expect(program).not.toMatch(/TOKEN|CALLBACK_URL|runuser/);
    // Every read of the results directory is in that program, which runs as the runner.
    const readResults = /\nread_results\(\) \{\n[\s\S]*?\n\}\n/.exec(
      readFileSync(SCRIPT, 'utf8'),
    )?.[0];
    expect(readResults).toContain('as_runner timeout -s KILL');
    expect(readResults).not.toMatch(/\$dir\/|\[\[ -[bcdefhLprsSw] |\bcat |\bfind |\bdd |<"\$dir/);
  });

  it('keeps the summary to one line of at most 1000 characters', () => {
    const dir = tempDir('results');
    const long = `${'é'.repeat(600)}\r\n${'x'.repeat(600)}`;
    writeFileSync(
      join(dir, 'summary.json'),
      JSON.stringify({ passed: 1, failed: 0, summary: long }),
    );
    const { summary } = results(dir);
    expect(summary).toBe(`${'é'.repeat(600)}  ${'x'.repeat(398)}`);
    expect(summary).toHaveLength(1000);
  });
});

describe('when the commit cannot be fetched', () => {
  it.each([
    [
      'an unreachable clone URL',
      (r: Repo): Record<string, string> => ({ 'vmci-clone-url': join(r.dir, 'nope') }),
    ],
    ['an unknown commit', (): Record<string, string> => ({ 'vmci-sha': 'ab'.repeat(20) })],
  ])('%s → failed, no testing report, the command does not run', async (_, change) => {
    const progress = await startProgressServer();
    const attributes: Record<string, string> = {
      ...attributesFor(repo, progress.url, MARK),
      ...change(repo),
    };
    const run = await runScript({ attributes });

    expect(run.code).toBe(0);
    expect(progress.stages()).toEqual(['preparation', 'failed']);
    expect(progress.reports[1]?.body).toEqual({
      testId: TEST_ID,
      stage: 'failed',
      message: `Could not fetch commit ${attributes['vmci-sha']!.slice(0, 7)}`,
    });
    expect(commandRan(run.dir)).toBe(false);
  });
});

describe('answers to the reports', () => {
  it('stops at a 409 for preparation: no other report, the command does not run', async () => {
    const progress = await startProgressServer((stage) => (stage === 'preparation' ? 409 : 200));
    const run = await runScript({ attributes: attributesFor(repo, progress.url, MARK) });

    expect(run.code).toBe(0);
    expect(progress.stages()).toEqual(['preparation']);
    expect(commandRan(run.dir)).toBe(false);
  });

  it('stops at a 409 for testing before the command runs', async () => {
    const progress = await startProgressServer((stage) => (stage === 'testing' ? 409 : 200));
    const run = await runScript({ attributes: attributesFor(repo, progress.url, MARK) });

    expect(progress.stages()).toEqual(['preparation', 'testing']);
    expect(commandRan(run.dir)).toBe(false);
  });

  it('retries a 503 and goes on once the report is taken', async () => {
    const progress = await startProgressServer((stage, seen) =>
      stage === 'preparation' && seen < 2 ? 503 : 200,
    );
    const run = await runScript({ attributes: attributesFor(repo, progress.url, MARK) });

    expect(progress.reports.map((r) => `${r.body.stage} ${r.status}`)).toEqual([
      'preparation 503',
      'preparation 503',
      'preparation 200',
      'testing 200',
      'completed 200',
    ]);
    expect(commandRan(run.dir)).toBe(true);
  });

  it('gives up at once on a 401, and says so without the token', async () => {
    const progress = await startProgressServer(() => 401);
    const run = await runScript({ attributes: attributesFor(repo, progress.url, MARK) });

    expect(run.code).toBe(0);
    expect(progress.stages()).toEqual(['preparation']);
    expect(commandRan(run.dir)).toBe(false);
    expect(run.stdout).toMatch(/^vmci: report preparation: HTTP 401, giving up/m);
    expect(run.stdout + run.stderr).not.toContain(TOKEN);
  });

  it('gives up a testing report after VMCI_REPORT_ATTEMPTS tries and still runs the tests', async () => {
    const progress = await startProgressServer((stage) => (stage === 'testing' ? 503 : 200));
    const run = await runScript({
      attributes: attributesFor(repo, progress.url, MARK),
      env: { VMCI_REPORT_ATTEMPTS: '3' },
    });

    expect(progress.stages()).toEqual([
      'preparation',
      'testing',
      'testing',
      'testing',
      'completed',
    ]);
    expect(commandRan(run.dir)).toBe(true);
  });

  it('retries when nothing answers, then goes on', async () => {
    const port = await closedPort();
    const run = await runScript({
      attributes: attributesFor(repo, `http://127.0.0.1:${port}/progress`, MARK),
      env: { VMCI_REPORT_ATTEMPTS: '2' },
    });

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^vmci: report preparation: no answer .*giving up after 2 tries$/m);
    expect(commandRan(run.dir)).toBe(true);
  });
});

describe('when the script is stopped', () => {
  it('reports failed once the running command has ended', async () => {
    const progress = await startProgressServer();
    let signaled = false;
    const run = await runScript({
      attributes: attributesFor(repo, progress.url, 'echo started; sleep 0.5; echo "command done"'),
      onStdout: (text, vm) => {
        if (!signaled && text.includes('started\n')) {
          signaled = true;
          vm.kill('SIGTERM');
        }
      },
    });

    expect(run.code).toBe(0);
    expect(progress.stages()).toEqual(['preparation', 'testing', 'failed']);
    expect(progress.reports[2]?.body.message).toBe('The VM was stopped before the test finished');
  });
});

describe('metadata', () => {
  it('without a callback URL: no report, no crash', async () => {
    const progress = await startProgressServer();
    const attributes = attributesFor(repo, progress.url, MARK);
    delete attributes['vmci-callback-url'];
    const run = await runScript({ attributes });

    expect(run.code).toBe(0);
    expect(progress.reports).toEqual([]);
    expect(commandRan(run.dir)).toBe(false);
    expect(run.stdout).toContain('nothing can be reported');
    expect(run.stderr).toBe('');
  });

  it('without a test command: failed, after preparation', async () => {
    const progress = await startProgressServer(always200);
    const attributes = attributesFor(repo, progress.url, MARK);
    delete attributes['vmci-test-command'];
    await runScript({ attributes });

    expect(progress.stages()).toEqual(['preparation', 'failed']);
    expect(progress.reports[1]?.body.message).toBe('The VM metadata lacks vmci-test-command');
  });
});

describe('JSON strings', () => {
  /** json_string of each input, one per line (its escapes keep it on one line). */
  const jsonStrings = (inputs: string[]): string[] =>
    sourced('for s in "$@"; do json_string "$s"; echo; done', ...inputs)
      .split('\n')
      .slice(0, -1);

  it.each([
    ['', '""'],
    ['plain', '"plain"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['C:\\dir\\n', '"C:\\\\dir\\\\n"'],
    ['a\nb\r\nc\td', '"a\\nb\\r\\nc\\td"'],
    ['\u0001\u0008\u000c\u001b\u001f', '"\\u0001\\u0008\\u000c\\u001b\\u001f"'],
    ['\u007f é 日本 😀', '"\u007f é 日本 😀"'],
    ['& && \\& $(rm -rf /) `x` * ? [a]', '"& && \\\\& $(rm -rf /) `x` * ? [a]"'],
  ])('json_string %j is %s', (input, expected) => {
    const [out] = jsonStrings([input]);
    expect(out).toBe(expected);
    expect(JSON.parse(out!)).toBe(input);
  });

  it('round-trips any text through JSON.parse, and json_unescape reads JSON.stringify', () => {
    const text = fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\0'));
    const samples = fc.sample(text, 200);
    const outs = jsonStrings(samples);
    expect(outs.map((o) => JSON.parse(o) as string)).toEqual(samples);

    const escaped = samples.map((s) => JSON.stringify(s).slice(1, -1));
    const back = sourced('for s in "$@"; do json_unescape "$s"; printf "\\0"; done', ...escaped)
      .split('\0')
      .slice(0, -1);
    expect(back).toEqual(samples);
  });

  it('json_unescape reads \\u escapes, surrogate pairs and \\/', () => {
    expect(sourced('json_unescape "$1"', 'a\\u00e9\\ud83d\\ude00\\/\\"\\\\\\u0041')).toBe(
      'aé😀/"\\A',
    );
  });
});

describe('the script itself', () => {
  it('parses (bash -n) and is shellcheck clean', () => {
    execFileSync('bash', ['-n', SCRIPT]);
    const out = execFileSync('shellcheck', ['-s', 'bash', SCRIPT], { encoding: 'utf8' });
    expect(out).toBe('');
  });

  it('never turns on shell tracing', () => {
    const text = readFileSync(SCRIPT, 'utf8');
    expect(text).not.toMatch(/^\s*set\s+(-\w*x|-o\s+xtrace)/m);
  });

  it("blocks the runner from the metadata server but keeps it as the runner's DNS resolver", () => {
    // A stand-in for iptables that prints the rules it is given, in order.
    const rules = sourced(`fake() { echo "$*"; }; block_metadata fake 169.254.169.254`)
      .trim()
      .split('\n');

    const who = '-d 169.254.169.254 -m owner --uid-owner vmci-runner';
    expect(rules).toEqual([
      `-w -I OUTPUT 1 ${who} -p udp --dport 53 -j ACCEPT`,
      `-w -I OUTPUT 2 ${who} -p tcp --dport 53 -j ACCEPT`,
      `-w -I OUTPUT 3 ${who} -j REJECT`,
    ]);
  });

  it('runs nothing when sourced', () => {
    expect(sourced('echo sourced')).toBe('sourced\n');
  });
});
