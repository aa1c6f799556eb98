// What a test's VM may use on GitHub (issue 14, items 2 and 3), through
// runTest on in-memory doubles: a read-only token of the test's repository for
// a private repository or a build artifact, never a plain GITHUB_TOKEN; the
// artifact of the commit's successful build, or a line that says what is wrong.
import {
  artifactNotFound,
  finalRetriableMessage,
  GITHUB_UNAVAILABLE,
  needsGitHubApp,
  VM_TOKEN_REFUSED,
} from '../../shared/domain/messages';
import { harness, MAX_ATTEMPTS, runConfig, type Harness } from './support';

const BUILT = runConfig(
  ['platforms.linux.buildWorkflow', 'build.yml'],
  ['platforms.linux.artifactName', 'ccextractor-linux'],
);

const metadataOf = (h: Harness) => h.vms.vms()[0]?.metadata ?? {};
const vmKeys = (h: Harness) =>
  Object.keys(metadataOf(h))
    .filter((k) => /github|artifact/.test(k))
    .sort();

async function recordBuild(h: Harness, sha: string, runId: number | null = 55) {
  await h.deps.store.recordBuild({
    repo: 'ccextractor/ccextractor',
    sha,
    workflow: 'build.yml',
    outcome: runId === null ? 'running' : 'success',
    runId,
    runAttempt: 1,
    conclusion: runId === null ? null : 'success',
    source: 'event',
    at: new Date(h.clock()),
  });
}

describe('the VM’s GitHub token', () => {
  it('a public repository without an artifact: no token, GitHub not asked', async () => {
    const h = harness();
    const test = await h.addTest({ repoPublic: true });

    await h.run(test.id);

    expect((await h.get(test.id)).status).toBe('running');
    expect(vmKeys(h)).toEqual([]);
    expect(h.github.calls()).toEqual([]);
  });

  it('a private repository: a token of that repository only, in the metadata', async () => {
    const h = harness();
    const test = await h.addTest({ repoPublic: false });

    await h.run(test.id);

    expect(vmKeys(h)).toEqual(['vmci-github-token']);
    expect(metadataOf(h)['vmci-github-token']).toMatch(/^ghs_/);
    expect(h.github.calls()).toEqual([{ kind: 'vmToken', repo: test.repo, subject: '' }]);
    // Nothing of it reaches a log line.
    expect(h.logs.text()).not.toContain(metadataOf(h)['vmci-github-token']!);
  });

  it('a private repository with a plain GITHUB_TOKEN: ends with a line that says why; no VM', async () => {
    const h = harness();
    h.github.setVmTokens('plain');
    const test = await h.addTest({ repoPublic: false });

    await h.run(test.id);

    expect(await h.get(test.id)).toMatchObject({
      status: 'error',
      message: needsGitHubApp('private'),
    });
    expect(h.vms.vms()).toEqual([]);
  });

  it('GitHub refuses a token: ends error; GitHub does not answer: retried, then ends', async () => {
    const refused = harness();
    refused.github.failNext(1, { retriable: false, httpStatus: 422, detail: 'HTTP 422' });
    const a = await refused.addTest({ repoPublic: false });
    await refused.run(a.id);
    expect(await refused.get(a.id)).toMatchObject({ status: 'error', message: VM_TOKEN_REFUSED });

    const down = harness();
    down.github.failNext(100, { retriable: true, httpStatus: 503, detail: 'HTTP 503' });
    const b = await down.addTest({ repoPublic: false });
    expect(await down.run(b.id, 0)).toMatchObject({ http: 503 });
    expect((await down.get(b.id)).status).toBe('queued');
    expect(down.vms.vms()).toEqual([]);

    await down.run(b.id, MAX_ATTEMPTS - 1);
    expect(await down.get(b.id)).toMatchObject({
      status: 'error',
      message: finalRetriableMessage(GITHUB_UNAVAILABLE),
    });
  });
});

describe('the build artifact', () => {
  it('found: the VM gets its download URL, its name and a token to fetch it with', async () => {
    const h = harness({ config: BUILT });
    const test = await h.addTest({ repoPublic: true });
    await recordBuild(h, test.sha);
    const artifact = h.github.addArtifact(test.repo, 55, 'ccextractor-linux');

    await h.run(test.id);

    expect((await h.get(test.id)).status).toBe('running');
    expect(metadataOf(h)).toMatchObject({
      'vmci-artifact-url': artifact.downloadUrl,
      'vmci-artifact-name': 'ccextractor-linux',
      'vmci-github-token': expect.stringMatching(/^ghs_/),
    });
  });

  it.each([
    {
      what: 'the run has no artifact of that name',
      expired: null,
      line: artifactNotFound('ccextractor-linux'),
    },
    {
      what: 'the artifact has expired',
      expired: true,
      line: artifactNotFound('ccextractor-linux', true),
    },
  ])('$what: ends with the friendly line, no VM', async ({ expired, line }) => {
    const h = harness({ config: BUILT });
    const test = await h.addTest({ repoPublic: true });
    await recordBuild(h, test.sha);
    if (expired !== null) h.github.addArtifact(test.repo, 55, 'ccextractor-linux', { expired });
    else h.github.addArtifact(test.repo, 55, 'other-name');

    await h.run(test.id);

    expect(line).toMatch(/^Build succeeded but its artifact 'ccextractor-linux' /);
    expect(await h.get(test.id)).toMatchObject({ status: 'error', message: line });
    expect(h.vms.vms()).toEqual([]);
  });

  it('no successful build on record: the artifact cannot be found', async () => {
    const h = harness({ config: BUILT });
    const test = await h.addTest({ repoPublic: true });
    await recordBuild(h, test.sha, null);

    await h.run(test.id);

    expect(await h.get(test.id)).toMatchObject({
      status: 'error',
      message: artifactNotFound('ccextractor-linux'),
    });
  });

  it('a plain GITHUB_TOKEN cannot fetch an artifact for a VM: says so', async () => {
    const h = harness({ config: BUILT });
    h.github.setVmTokens('plain');
    const test = await h.addTest({ repoPublic: true });
    await recordBuild(h, test.sha);
    h.github.addArtifact(test.repo, 55, 'ccextractor-linux');

    await h.run(test.id);

    expect(await h.get(test.id)).toMatchObject({
      status: 'error',
      message: needsGitHubApp('artifact'),
    });
  });
});
