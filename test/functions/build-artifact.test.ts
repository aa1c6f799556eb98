// The whole flow of a real project (issue 14), through the local cloud with
// vm-ci running as a GitHub App: a build workflow's artifact reaches the VM, a
// private repository is fetched over HTTP with the VM's scoped token, the
// test command finds that token nowhere it can look, and the log and result
// files are kept; a failing commit's status line names its failing test.
// Nothing here is a double: only the clock of the local cloud is shortened.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VmciConfig } from '../../shared/config';
import { filesBucket } from '../../shared/config';
import type { TestRecord } from '../../shared/domain/test';
import { useSuiteRepo } from '../support/suite-repo';
import { pushPayload, REPO, send, useWebhookCloud, type WebhookCloud } from './webhook-support';

const ROOT = join(__dirname, '..', '..');
const WAIT_MS = 90_000;
const ARTIFACT = 'hello-linux';
jest.setTimeout(180_000);

const suiteRepo = useSuiteRepo('vmci-artifact-repo-');

/** What the test command does: uses the artifact, looks for the token, leaves JUnit. */
const SUITE = `
set -u
echo "artifact says: $(cat "$VMCI_ARTIFACT_DIR/hello.txt")"
# Every place the code under test could find the VM's GitHub token (ghs_ and
# 36 letters; the pattern as written never matches itself in a command line).
token='ghs_[A-Za-z0-9]{20}'
leaks=0
# The detector finds a token where there is one.
probe="ghs_$(printf 'abcdefghij%.0s' 1 2 3)"
if VMCI_PROBE=$probe env | grep -qE "$token"; then
  echo 'token detector works'
fi
if env | grep -qE "$token"; then leaks=$((leaks + 1)); fi
for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do
  if { tr '\\0' '\\n' < "$f"; } 2>/dev/null | grep -qE "$token"; then leaks=$((leaks + 1)); fi
done
if grep -rqsE "$token" . "$HOME/.gitconfig" "$VMCI_ARTIFACT_DIR"; then leaks=$((leaks + 1)); fi
echo "token leaks: $leaks"
mkdir -p "$VMCI_RESULTS_DIR/junit"
cat > "$VMCI_RESULTS_DIR/junit/report.xml" <<'XML'
<testsuites tests="3" failures="FAILURES">
  <testsuite name="parser" tests="3" failures="FAILURES">
    <testcase classname="parser" name="test_ascii"/>
    <testcase classname="parser" name="test_utf8">FAILURE_ELEMENT</testcase>
    <testcase classname="parser" name="test_eof"/>
  </testsuite>
</testsuites>
XML
`;

const passing = SUITE.replace(/FAILURES/g, '0').replace('FAILURE_ELEMENT', '') + '\nexit 0';
const failing =
  SUITE.replace(/FAILURES/g, '1').replace(
    'FAILURE_ELEMENT',
    '<failure message="expected 3 bytes, got 2">at parser.c:12</failure>',
  ) + '\nexit 1';

let zipDir: string;
let artifactZip: Buffer;
beforeAll(() => {
  zipDir = mkdtempSync(join(tmpdir(), 'vmci-artifact-zip-'));
  writeFileSync(join(zipDir, 'hello.txt'), 'built by build.yml\n');
  execFileSync('python3', ['-m', 'zipfile', '-c', 'artifact.zip', 'hello.txt'], { cwd: zipDir });
  artifactZip = readFileSync(join(zipDir, 'artifact.zip'));
});
afterAll(() => rmSync(zipDir, { recursive: true, force: true }));

function cloudFor(visibility: 'private' | 'public'): WebhookCloud {
  return useWebhookCloud({
    configPath: join(ROOT, 'config/vmci.local.yaml'),
    githubAuth: 'app',
    configure: (config: VmciConfig, { url }) => ({
      ...config,
      // The local GitHub serves the repository over HTTP, private or not.
      cloneUrls: { [REPO]: `${url}/github/git/${REPO}.git` },
      public: { [REPO]: visibility === 'public' },
      platforms: {
        linux: {
          ...config.platforms.linux!,
          maxRunMinutes: 120,
          buildWorkflow: 'build.yml',
          artifactName: ARTIFACT,
        },
      },
    }),
    functions: ['webhook', 'runTest', 'progress', 'status'],
    queue: 'running',
    bootVms: true,
    vmEnv: { VMCI_REPORT_DELAY_SECONDS: '0.1' },
  });
}

async function waitForEnd(h: WebhookCloud, id: string): Promise<TestRecord> {
  const until = Date.now() + WAIT_MS;
  for (;;) {
    const test = await h.store.getTest(id);
    if (test?.finishedAt) return test;
    if (Date.now() > until)
      throw new Error(`test ${id} did not end: ${JSON.stringify(test?.timeline)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Seeds the repository, a successful build of `sha` with its artifact, and pushes `sha`. */
async function buildAndPush(h: WebhookCloud, sha: string, runId: number, isPrivate: boolean) {
  h.cloud.github.seedGitRepository(REPO, { path: suiteRepo.dir, private: isPrivate });
  h.cloud.github.seedWorkflowRun(REPO, {
    id: runId,
    head_sha: sha,
    path: '.github/workflows/build.yml',
    status: 'completed',
    conclusion: 'success',
  });
  h.cloud.github.seedArtifact(REPO, { run_id: runId, name: ARTIFACT, data: artifactZip });
  const answer = await send(h.cloud, 'push', pushPayload(sha, ['repository.private', isPrivate]));
  expect(answer.status).toBe(202);
  return (answer.body.tests as string[])[0]!;
}

function storedFiles(h: WebhookCloud, id: string): Record<string, string> {
  const objects = h.cloud.storage.objects(filesBucket(h.cloud.config), `tests/${id}/`);
  return Object.fromEntries(
    objects.map((o) => [o.name.slice(`tests/${id}/`.length), o.body.toString('utf8')]),
  );
}

describe('a private repository with a built artifact', () => {
  const h = cloudFor('private');

  it('is fetched with the scoped token, tests the artifact, and the command finds no token', async () => {
    const sha = suiteRepo.commit('private passing', passing);
    const id = await buildAndPush(h, sha, 7001, true);

    const test = await waitForEnd(h, id);

    expect({ status: test.status, message: test.message }).toEqual({
      status: 'passed',
      message: expect.any(String),
    });
    const files = storedFiles(h, id);
    expect(Object.keys(files).sort()).toEqual(['log.txt', 'results/junit/report.xml']);
    expect(files['log.txt']).toContain('artifact says: built by build.yml');
    expect(files['log.txt']).toContain('token detector works');
    expect(files['log.txt']!.split('\n').filter((l) => l.includes('token leaks'))).toEqual([
      'token leaks: 0',
    ]);
    // The token vm-ci minted for the VM: one repository, read-only.
    const minted = h.cloud.github
      .calls()
      .filter((c) => c.path.endsWith('/access_tokens'))
      .map((c) => c.body);
    expect(minted).toContainEqual({
      repositories: ['Hello-World'],
      permissions: { contents: 'read', actions: 'read' },
    });
  });
});

describe('a public repository whose suite fails', () => {
  const h = cloudFor('public');

  it('names the failing test in the status line, and the status API gives the log and files', async () => {
    const sha = suiteRepo.commit('public failing', failing);
    const id = await buildAndPush(h, sha, 7002, false);

    const test = await waitForEnd(h, id);

    expect({ status: test.status, message: test.message }).toEqual({
      status: 'failed',
      message: expect.stringMatching(/^1 of 3 tests failed: parser\.test_utf8/),
    });
    const base = `${h.cloud.url}/status/tests/${encodeURIComponent(id)}`;
    const log = (await (await fetch(`${base}/log?tail=20`)).json()) as { lines: string[] };
    expect(log.lines.join('\n')).toContain('token leaks: 0');
    const listed = (await (await fetch(`${base}/files`)).json()) as { files: { name: string }[] };
    expect(listed.files.map((f) => f.name).sort()).toEqual(['log.txt', 'results/junit/report.xml']);
    const view = (await (await fetch(base)).json()) as {
      failures?: { cases: { name: string; message: string }[] };
    };
    expect(view.failures?.cases).toEqual([
      expect.objectContaining({ name: 'test_utf8', message: 'expected 3 bytes, got 2' }),
    ]);
  });
});
