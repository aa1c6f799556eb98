// What a test's VM may use on GitHub (issue 14, items 2 and 3), decided
// before the VM is made: a token limited to the test's repository and to
// reading (contents, actions), for a private repository or a build artifact;
// and the artifact of the successful build of exactly the test's commit. The
// token goes only into the VM's metadata, which the test command cannot reach
// (infra/vm/README.md); it expires on its own within the hour.
import { isPublicRepository, type PlatformConfig, type VmciConfig } from '../config';
import { artifactNotFound, needsGitHubApp, VM_TOKEN_REFUSED } from '../domain/messages';
import type { TestRecord } from '../domain/test';
import type { GitHubLookupPort, LookupResult } from '../github/lookups';
import type { Logger } from '../log';
import type { TestStore } from '../store/port';

export type VmAccessDeps = {
  store: Pick<TestStore, 'getBuild'>;
  github: Pick<GitHubLookupPort, 'vmToken' | 'artifact'>;
  config: Pick<VmciConfig, 'public'>;
  log: Logger;
};

export type VmAccess =
  /** The metadata to add (empty when the VM needs nothing). */
  | { ok: true; metadata: Record<string, string> }
  /** The test cannot run: end it with this line. */
  | { ok: false; end: string }
  /** GitHub did not answer: try again later. */
  | { ok: false; retry: string };

type Visibility = 'public' | 'private' | 'unknown';

/** Configured, else as GitHub said in the event; unknown for tests older than that field. */
function visibilityOf(config: VmAccessDeps['config'], test: TestRecord): Visibility {
  const configured = Object.keys(config.public).some(
    (r) => r.toLowerCase() === test.repo.toLowerCase(),
  );
  if (configured || test.repoPublic !== null) {
    return isPublicRepository(config, test) ? 'public' : 'private';
  }
  return 'unknown';
}

/** What failed, as the caller must act on it: try again, or end the test. */
function failure(result: Extract<LookupResult<unknown>, { ok: false }>, end: string): VmAccess {
  return result.retriable ? { ok: false, retry: result.detail } : { ok: false, end };
}

export async function prepareVmAccess(
  deps: VmAccessDeps,
  test: TestRecord,
  platform: Pick<PlatformConfig, 'artifactName' | 'buildWorkflow'>,
): Promise<VmAccess> {
  const log = deps.log.child({ testId: test.id, platform: test.platform });
  const artifact =
    platform.artifactName !== undefined && platform.buildWorkflow !== undefined
      ? { name: platform.artifactName, workflow: platform.buildWorkflow }
      : null;
  const visibility = visibilityOf(deps.config, test);
  if (artifact === null && visibility === 'public') return { ok: true, metadata: {} };

  const token = await deps.github.vmToken(test.repo);
  if (!token.ok) {
    log.warn('No token for the test VM', { httpStatus: token.httpStatus, detail: token.detail });
    return failure(token, VM_TOKEN_REFUSED);
  }
  if (token.value === null) {
    if (artifact) return { ok: false, end: needsGitHubApp('artifact') };
    if (visibility === 'private') return { ok: false, end: needsGitHubApp('private') };
    return { ok: true, metadata: {} };
  }
  const metadata: Record<string, string> = { 'vmci-github-token': token.value.token };
  if (artifact === null) return { ok: true, metadata };

  const build = await deps.store.getBuild(test.repo, test.sha, artifact.workflow);
  if (build?.outcome !== 'success' || build.runId === null) {
    log.warn('No successful build on record for the test’s artifact', {
      workflow: artifact.workflow,
      outcome: build?.outcome ?? null,
    });
    return { ok: false, end: artifactNotFound(artifact.name) };
  }
  const found = await deps.github.artifact(test.repo, build.runId, artifact.name);
  if (!found.ok) {
    log.warn('Could not look up the build artifact', {
      runId: build.runId,
      artifact: artifact.name,
      httpStatus: found.httpStatus,
      detail: found.detail,
    });
    return failure(found, artifactNotFound(artifact.name));
  }
  if (found.value === null || found.value.expired) {
    log.warn('Build artifact missing', {
      runId: build.runId,
      artifact: artifact.name,
      expired: found.value?.expired ?? false,
    });
    return { ok: false, end: artifactNotFound(artifact.name, found.value?.expired === true) };
  }
  metadata['vmci-artifact-url'] = found.value.downloadUrl;
  metadata['vmci-artifact-name'] = artifact.name;
  return { ok: true, metadata };
}
