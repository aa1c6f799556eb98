// The Linux startup script's GitHub token, build artifact, log and uploads
// (DESIGN §6), run for real with bash in local mode: a private repository
// served by `git http-backend` that refuses anonymous fetches, GitHub's
// artifact API answering 302 to another host, and the `progress` stand-in
// recording reports and uploads in order.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { huntCommand, makeZip, startFakes, type Fakes } from './linux-fakes';
import {
  SCRIPT,
  attributesFor,
  cleanUp,
  makeRepo,
  runScript,
  sourced,
  startProgressServer,
  tempDir,
  type FileAnswer,
  type Repo,
} from './support';

jest.setTimeout(60_000);

const FIXTURES = join(__dirname, '../fixtures/vm/linux');
/** Fresh per run, so that nothing else on this machine holds them. */
const VM_TOKEN = `vmci-tok_${randomBytes(12).toString('hex')}`;
const GITHUB_TOKEN = `ghs_${randomBytes(18).toString('base64url')}`;
/** What git sends for the GitHub token. */
const GITHUB_BASIC = Buffer.from(`x-access-token:${GITHUB_TOKEN}`).toString('base64');
const SECRETS = [VM_TOKEN, GITHUB_TOKEN, GITHUB_BASIC];
const MARK = 'touch ../../command-ran';

let repo: Repo;
let fakes: Fakes;

beforeAll(async () => {
  repo = makeRepo();
  fakes = await startFakes({
    githubToken: GITHUB_TOKEN,
    gitRoot: dirname(repo.dir),
    zip: makeZip([
      { name: 'build/out.txt', data: 'built by the build job\n' },
      { name: 'build/bin/tool', data: '#!/bin/sh\necho tool\n' },
    ]),
  });
});

afterAll(cleanUp);

/** The attributes of a private repository with an artifact, the command `command`. */
function privateAttributes(callbackUrl: string, command: string): Record<string, string> {
  return {
    ...attributesFor(repo, callbackUrl, command),
    'vmci-token': VM_TOKEN,
    'vmci-clone-url': fakes.gitUrl(basename(repo.dir)),
    'vmci-github-token': GITHUB_TOKEN,
    'vmci-artifact-url': fakes.artifactUrl,
    'vmci-artifact-name': 'linux-build',
  };
}

/** Every file under `dir` whose bytes hold one of the secrets. */
function filesHoldingSecrets(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const path = join(dir, entry);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat?.isFile()) continue;
    const text = readFileSync(path).toString('latin1');
    if (SECRETS.some((s) => text.includes(s))) found.push(entry);
  }
  return found;
}

describe('a private repository with a build artifact', () => {
  it('is fetched with the token, which git and the command never show; the artifact is unpacked for the command', async () => {
    const progress = await startProgressServer();
    const junit = readFileSync(join(FIXTURES, 'pytest.xml'), 'utf8');
    const secretFile = join(tempDir('secret'), 'root-only.txt');
    writeFileSync(secretFile, 'root-only-4711\n', { mode: 0o600 });
    const command = [
      'echo "artifact dir=$VMCI_ARTIFACT_DIR"',
      'cat "$VMCI_ARTIFACT_DIR/build/out.txt"',
      'cat README',
      'r=$VMCI_RESULTS_DIR',
      `mkdir -p "$r/reports/unit" && cat > "$r/reports/unit/junit.xml" <<'EOF'\n${junit}EOF`,
      `printf '%s' '{"passed": 6, "failed": 3, "summary": "six and three"}' > "$r/summary.json"`,
      `ln -s '${secretFile}' "$r/link.txt"`,
      'echo hidden > "$r/.hidden"',
      'echo odd > "$r/odd name é.txt"',
      huntCommand(SECRETS, ['"$HOME"', '"$PWD"', '"$PWD/../.."']),
    ].join('\n');
    const run = await runScript({ attributes: privateAttributes(progress.url, command) });

    expect(run.code).toBe(0);
    expect(progress.stages()).toEqual(['preparation', 'testing', 'completed']);
    expect(progress.reports[2]?.body.result).toEqual({
      exitCode: 0,
      passed: 6,
      failed: 3,
      summary: 'six and three',
    });
    // The artifact, where the command was told, and the private commit.
    expect(run.stdout).toContain(
      `\nartifact dir=${join(run.dir, 'vmci', 'artifact')}\nbuilt by the build job\nfirst\n`,
    );
    // The command found no secret anywhere it looked, and printed none.
    expect(run.stdout).toContain('\nhunt: done, 0 found\n');
    expect(run.stdout).not.toContain('hunt: FOUND');
    for (const secret of SECRETS) expect(run.stdout + run.stderr).not.toContain(secret);
    expect(filesHoldingSecrets(run.dir)).toEqual([]);
    expect(readFileSync(join(run.dir, 'vmci/checkout/.git/config'), 'utf8')).not.toMatch(
      /extraheader|authorization/i,
    );

    // git sent the token to the git server on every request; the API got it, the storage host not.
    const records = fakes.records();
    const gitRequests = records.filter((r) => r.server === 'git');
    expect(gitRequests.length).toBeGreaterThan(0);
    for (const r of gitRequests) {
      expect(r.authorization).toBe(`Basic ${GITHUB_BASIC}`);
      expect(r.status).toBe(200);
    }
    expect(records.filter((r) => r.server === 'api').map((r) => r.authorization)).toEqual([
      `Bearer ${GITHUB_TOKEN}`,
    ]);
    const storage = records.filter((r) => r.server === 'storage');
    expect(storage).toHaveLength(1);
    expect(storage[0]?.authorization).toBeUndefined();

    // The log and the result files went up before the final report, with the VM token.
    expect(progress.events).toEqual([
      'report preparation',
      'report testing',
      'file log.txt',
      'file results/odd_name__.txt',
      'file results/reports/unit/junit.xml',
      'file results/summary.json',
      'report completed',
    ]);
    for (const f of progress.files) {
      expect(f.authorization).toBe(`Bearer ${VM_TOKEN}`);
      expect(f.status).toBe(200);
    }
    expect(progress.files[0]?.contentType).toBe('text/plain; charset=utf-8');
    expect(progress.files[2]?.contentType).toBe('application/octet-stream');
    expect(progress.file('results/reports/unit/junit.xml')).toBe(junit);
    expect(progress.file('results/odd_name__.txt')).toBe('odd\n');
    const log = progress.file('log.txt') ?? '';
    expect(log).toMatch(/^vmci: startup \(local mode\)/);
    expect(log).toContain('\nbuilt by the build job\nfirst\n');
    expect(log).toContain('\nhunt: done, 0 found\n');
    expect(log).toMatch(/^vmci: result: six and three$/m);
    expect(run.stdout).not.toContain('root-only-4711');
  });

  it('the git server refuses an anonymous fetch (the token is what lets the script in)', () => {
    expect(() =>
      execFileSync('git', ['ls-remote', fakes.gitUrl(basename(repo.dir))], {
        stdio: 'pipe',
        env: { PATH: process.env.PATH, GIT_TERMINAL_PROMPT: '0', HOME: tempDir('anon') },
      }),
    ).toThrow(/Authentication failed|could not read Username/);
  });

  it.each([
    ['the API does not know the artifact (404): at once', 'missing', [] as number[], 1, 0],
    ['the storage host fails three times: after 3 tries', 'storage', [500, 503, 500], 3, 3],
  ])(
    'a failed download ends the test with one line, after uploading the log: %s',
    async (_, kind, storageStatuses, apiTries, storageTries) => {
      const broken =
        kind === 'storage'
          ? await startFakes({ githubToken: GITHUB_TOKEN, storageStatuses, zip: makeZip([]) })
          : fakes;
      const before = broken.records().length;
      const progress = await startProgressServer();
      const attributes = {
        ...privateAttributes(progress.url, MARK),
        'vmci-clone-url': repo.dir,
        'vmci-artifact-url': kind === 'missing' ? fakes.missingArtifactUrl : broken.artifactUrl,
      };
      const run = await runScript({ attributes });

      expect(progress.stages()).toEqual(['preparation', 'failed']);
      expect(progress.reports[1]?.body.message).toBe(
        "Could not download the build artifact 'linux-build'",
      );
      expect(progress.events).toEqual(['report preparation', 'file log.txt', 'report failed']);
      const records = broken.records().slice(before);
      expect(records.filter((r) => r.server === 'api')).toHaveLength(apiTries);
      expect(records.filter((r) => r.server === 'storage')).toHaveLength(storageTries);
      const log = progress.file('log.txt') ?? '';
      expect(log).toMatch(
        kind === 'missing'
          ? /^vmci: artifact: HTTP 404 from 127\.0\.0\.1:\d+ \(no redirect to the zip\)$/m
          : /^vmci: artifact: HTTP 503 from 127\.0\.0\.2:\d+$/m,
      );
      expect(log).toMatch(/^vmci: failed: Could not download the build artifact 'linux-build'$/m);
      expect(log).not.toContain('sig=signed');
      expect(run.stdout).not.toContain('command-ran');
      for (const secret of SECRETS) expect(run.stdout + log).not.toContain(secret);
    },
  );
});

describe('the log', () => {
  it('is uploaded with both tokens redacted, and cut to 10 MiB around a marker line', async () => {
    const progress = await startProgressServer();
    const secrets = Buffer.from(`${VM_TOKEN} ${GITHUB_TOKEN}`).toString('base64');
    const command = [
      `s=$(printf '%s' '${secrets}' | base64 -d)`,
      'echo "begin $s"',
      // 12 MiB of lines of 100 bytes, the secrets in the part that is cut.
      'for i in $(seq 6); do head -c 1048576 /dev/zero | tr "\\0" a | fold -w 99; echo; echo "middle $s"; head -c 1048576 /dev/zero | tr "\\0" b | fold -w 99; echo; done',
      'echo "end $s"',
    ].join('\n');
    const run = await runScript({
      attributes: {
        ...attributesFor(repo, progress.url, command),
        'vmci-token': VM_TOKEN,
        // A token with a file URL: the fetch is as without one.
        'vmci-github-token': GITHUB_TOKEN,
      },
    });

    expect(progress.stages()).toEqual(['preparation', 'testing', 'completed']);
    const upload = progress.files.find((f) => f.name === 'log.txt')!;
    expect(upload.body.length).toBe(10 * 1024 * 1024);
    const log = upload.body.toString('utf8');
    for (const secret of SECRETS) expect(log).not.toContain(secret);
    expect(log).toContain('\nbegin [redacted] [redacted]\n');
    expect(log).toContain('\nend [redacted] [redacted]\n');
    expect(log).toMatch(/^vmci: startup \(local mode\)/);
    expect(log).toMatch(/^vmci: the test command exited with code 0$/m);
    // The first MiB, one marker line, the end.
    const marker = /\nvmci: … (\d+) bytes cut …\n/.exec(log);
    expect(marker?.index).toBeGreaterThanOrEqual(1024 * 1024 - 1);
    expect(marker?.index).toBeLessThanOrEqual(1024 * 1024);
    // As much as the whole log (the console, redacted, less its last lines) is over 10 MiB.
    const console = SECRETS.reduce((text, s) => text.replaceAll(s, '[redacted]'), run.stdout);
    const over = Buffer.byteLength(console) - 10 * 1024 * 1024;
    expect(Math.abs(Number(marker?.[1]) - over)).toBeLessThan(1000);
    // The console is not redacted (the command printed the secrets itself).
    expect(run.stdout).toContain(`\nend ${VM_TOKEN} ${GITHUB_TOKEN}\n`);
  });

  it('redacts a token with sed and regex characters in it as plain text', () => {
    const dir = tempDir('redact');
    const token = 'a.b*c[d]^e$f/g\\h&i';
    writeFileSync(join(dir, 'log.txt'), `x ${token} y\naXb*c[d]^e$f/g\\h&i\n${token}${token}\n`);
    const out = sourced(
      'TOKEN=$1 PRIVATE=$2 LOG_FILE=$2/log.txt; prepare_log "$2/up.txt" && cat "$2/up.txt"',
      token,
      dir,
    );
    expect(out).toBe('x [redacted] y\naXb*c[d]^e$f/g\\h&i\n[redacted][redacted]\n');
  });
});

describe('uploads', () => {
  it('retry 5xx, skip a file refused with 400 or 507 (full), stop at a 409, and the report still goes', async () => {
    const answers: Record<string, number[]> = {
      'log.txt': [503, 200],
      'results/a-refused.txt': [400],
      'results/b-full.txt': [507],
      'results/m-stop.txt': [409],
    };
    const fileAnswer: FileAnswer = (name, seen) => answers[name]?.[seen] ?? 200;
    const progress = await startProgressServer(undefined, fileAnswer);
    const command =
      'for f in a-refused b-full m-stop z-never; do echo "$f" > "$VMCI_RESULTS_DIR/$f.txt"; done';
    const run = await runScript({ attributes: attributesFor(repo, progress.url, command) });

    expect(progress.files.map((f) => `${f.name} ${f.status}`)).toEqual([
      'log.txt 503',
      'log.txt 200',
      'results/a-refused.txt 400',
      'results/b-full.txt 507',
      'results/m-stop.txt 409',
    ]);
    expect(progress.stages()).toEqual(['preparation', 'testing', 'completed']);
    expect(run.stdout).toMatch(/^vmci: upload log\.txt: HTTP 503, retrying in 50 ms/m);
    expect(run.stdout).toMatch(/^vmci: upload results\/a-refused\.txt: HTTP 400, giving up/m);
    expect(run.stdout).toMatch(
      /^vmci: upload results\/m-stop\.txt: HTTP 409: the test was canceled or has ended$/m,
    );
  });

  it.each([
    ['report.xml', 'results/report.xml'],
    ['sub dir/ünï cödé.txt', 'results/sub_dir/_n__c_d_.txt'],
    ['a/b/c/.d', 'results/a/b/c/.d'],
    [`${'x'.repeat(100)}/y`, `results/${'x'.repeat(100)}/y`],
    [`${'x'.repeat(101)}/y`, ''],
    [`${Array(32).fill('d').join('/')}`, `results/${Array(32).fill('d').join('/')}`],
    [`${Array(33).fill('d').join('/')}`, ''],
    [`${Array(6).fill('x'.repeat(90)).join('/')}`, ''],
  ])('the file %j goes up as %j (empty: not at all)', (path, name) => {
    expect(sourced('upload_name "$1" || true', path)).toBe(name);
  });

  it.each([
    ['log.txt', true],
    ['results/a/b.xml', true],
    ['results/', false],
    ['results/a//b', false],
    ['results/./a', false],
    ['results/a/..', false],
    ['results/a b', false],
    ['other/a', false],
    ['log.txt/x', false],
  ])('valid_file_name %j is %s', (name, valid) => {
    expect(sourced('valid_file_name "$1" && echo yes || echo no', name)).toBe(
      valid ? 'yes\n' : 'no\n',
    );
  });

  it('hands the runner a program that holds no secret; root opens nothing in the results', () => {
    const program = sourced('TOKEN=$1 GITHUB_TOKEN=$2; files_program', VM_TOKEN, GITHUB_TOKEN);
    expect(program).not.toContain(VM_TOKEN);
    expect(program).not.toContain(GITHUB_TOKEN);
    expect(program).not.toMatch(/TOKEN|CALLBACK_URL|runuser|PRIVATE/);
    const text = readFileSync(SCRIPT, 'utf8');
    for (const fn of ['collect_files', 'upload_results', 'upload_files']) {
      const body = new RegExp(`\\n${fn}\\(\\) \\{\\n[\\s\\S]*?\\n\\}\\n`).exec(text)?.[0];
      expect(body).toBeDefined();
      expect(body).not.toMatch(/\$1\/|\$dir\/|RESULTS_DIR\/|\bfind |\bcat |\bdd /);
    }
  });
});

describe('the artifact download', () => {
  it('gives up, without another try, on a zip over the cap', async () => {
    const dir = tempDir('cap');
    const big = await startFakes({
      githubToken: GITHUB_TOKEN,
      zip: makeZip([{ name: 'big.bin', data: Buffer.alloc(5000, 1) }]),
    });
    const out = sourced(
      'ARTIFACT_URL=$1 GITHUB_TOKEN=$2; artifact_try "$3/a.zip" 4096; echo "rc=$?"; stat -c %s "$3/a.zip"',
      big.artifactUrl,
      GITHUB_TOKEN,
      dir,
    );
    expect(out).toMatch(/^vmci: artifact: the zip is over 4096 bytes\nrc=2\n(4097|0)\n$/);
  });
});
