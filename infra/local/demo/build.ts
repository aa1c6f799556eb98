// The demo's build: what GitHub Actions would do for each commit, played on the
// local GitHub over HTTP (so a running `npm start` takes it too): a completed,
// successful run of .github/workflows/build.yml and its artifact, hello-linux,
// a zip with greeting.txt; then the signed workflow_run webhook that tells
// vm-ci. A cloud whose linux platform builds with build.yml (the demo's own,
// `npm start -- --build`) waits for it and hands the VM the artifact; another
// answers that the workflow builds no platform, and its tests run without it.
import type { VmciConfig } from '../../../shared/config';
import { sendWebhook } from '../send-webhook';
import { short } from './follow';
import { workflowRunPayload } from './payload';
import type { DemoCommit } from './repo';
import { storedZip } from './zip';

export const BUILD_WORKFLOW = 'build.yml';
export const BUILD_WORKFLOW_PATH = `.github/workflows/${BUILD_WORKFLOW}`;
export const ARTIFACT_NAME = 'hello-linux';
export const GREETING_FILE = 'greeting.txt';

/** `config` with its linux platform built by build.yml and tested with its artifact. */
export function withDemoBuild(config: VmciConfig): VmciConfig {
  const linux = config.platforms.linux;
  if (!linux) throw new Error('the configuration has no linux platform to build');
  return {
    ...config,
    platforms: {
      ...config.platforms,
      linux: { ...linux, buildWorkflow: BUILD_WORKFLOW, artifactName: ARTIFACT_NAME },
    },
  };
}

/** The commit's run id: its own, and the same on every run of the demo. */
export function runIdOf(sha: string): number {
  return Number.parseInt(sha.slice(0, 9), 16) + 1;
}

/** What the commit's artifact says; its test's log shows it. */
export function greetingOf(commit: Pick<DemoCommit, 'sha'>): string {
  return `Hello from ${BUILD_WORKFLOW} run ${runIdOf(commit.sha)}, built from ${short(commit.sha)}`;
}

export type BuildOutcome =
  /** vm-ci took the build: the commit's tests wait for it and get the artifact. */
  | { kind: 'built'; line: string }
  /** This cloud builds nothing with build.yml: the tests run without an artifact. */
  | { kind: 'ignored'; line: string }
  | { kind: 'failed'; line: string };

async function seed(url: string, what: string, body: unknown): Promise<string | undefined> {
  const res = await fetch(`${url}/github/_local/${what}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  if (res.ok) {
    await res.body?.cancel();
    return undefined;
  }
  const text = await res.text();
  let message = text.slice(0, 200);
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? message;
  } catch {
    // not JSON: the text as it is
  }
  return `HTTP ${res.status}: ${message}`;
}

/** Seeds the commit's successful build and its artifact, and sends its workflow_run. */
export async function buildCommit(
  cloud: { url: string; webhookSecret: string },
  repo: string,
  commit: DemoCommit,
): Promise<BuildOutcome> {
  const name = `build ${short(commit.sha)}`;
  const runId = runIdOf(commit.sha);
  const failed = (why: string): BuildOutcome => ({ kind: 'failed', line: `${name}: ${why}` });
  try {
    const run = {
      id: runId,
      head_sha: commit.sha,
      name: 'Build',
      head_branch: 'main',
      event: 'push',
      path: BUILD_WORKFLOW_PATH,
      status: 'completed',
      conclusion: 'success',
    };
    const notRun = await seed(cloud.url, 'workflow-runs', { repo, run });
    if (notRun) return failed(`the local GitHub did not take the workflow run (${notRun})`);
    const zip = storedZip([{ name: GREETING_FILE, data: `${greetingOf(commit)}\n` }]);
    const notUploaded = await seed(cloud.url, 'artifacts', {
      repo,
      run_id: runId,
      name: ARTIFACT_NAME,
      dataBase64: zip.toString('base64'),
    });
    if (notUploaded) return failed(`the local GitHub did not take the artifact (${notUploaded})`);
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? String(err);
    return failed(`could not reach the local GitHub at ${cloud.url}/github (${cause})`);
  }
  const built = `${BUILD_WORKFLOW} run ${runId} succeeded, artifact ${ARTIFACT_NAME} (${GREETING_FILE})`;
  const answer = await sendWebhook({
    url: `${cloud.url}/webhook`,
    secret: cloud.webhookSecret,
    event: 'workflow_run',
    payload: workflowRunPayload(commit, runId, BUILD_WORKFLOW_PATH),
  }).catch((err: unknown) => {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? String(err);
    return { status: 0, body: '', error: cause };
  });
  const sent = `${name}: ${built} → workflow_run`;
  if ('error' in answer) return failed(`could not send the workflow_run webhook (${answer.error})`);
  let body: { ignored?: string; released?: unknown; error?: string } = {};
  try {
    body = JSON.parse(answer.body) as typeof body;
  } catch {
    // not JSON: said below with the status
  }
  if (answer.status === 202 && body.ignored) {
    return {
      kind: 'ignored',
      line: `${sent} HTTP 202, ignored: ${body.ignored}; the tests run without the artifact (\`npm start -- --build\` builds)`,
    };
  }
  if (answer.status === 202) {
    const moved = Array.isArray(body.released) ? body.released.length : 0;
    return {
      kind: 'built',
      line: `${sent} HTTP 202, ${moved} test${moved === 1 ? '' : 's'} released`,
    };
  }
  return failed(
    `${built}, but the workflow_run webhook answered HTTP ${answer.status}: ${body.error ?? (answer.body.slice(0, 200) || '(empty answer)')}`,
  );
}
