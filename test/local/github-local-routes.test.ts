// The stand-in's own controls over HTTP (/github/_local/...): a build seeded
// from another process (`npm run demo` against a running `npm start`) is the
// same as one seeded in process: the Actions API lists the run and its
// artifact, whose zip downloads as it was given; a body that is not a run or
// an artifact is refused with what is wrong, and nothing is seeded.
import { REPO, SHA, startGitHub, TOKEN, type GitHubHarness } from './github-setup';

let h: GitHubHarness;

beforeAll(async () => {
  h = await startGitHub();
});
afterAll(() => h.close());
beforeEach(() => h.github.reset());

const FULL = `${REPO.owner}/${REPO.repo}`;
const ZIP = Buffer.from('PK\x03\x04 the zip bytes \x00\xff');
const RUN = {
  id: 4242,
  head_sha: SHA,
  name: 'Build',
  head_branch: 'main',
  event: 'push',
  path: '.github/workflows/build.yml',
  status: 'completed',
  conclusion: 'success',
};

async function post(path: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${h.baseUrl}/_local/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

describe('POST /github/_local/workflow-runs and /github/_local/artifacts', () => {
  it('seed a run and its artifact that the Actions API lists and serves', async () => {
    expect(await post('workflow-runs', { repo: FULL, run: { ...RUN, extra: 'dropped' } })).toEqual({
      status: 201,
      body: { id: 4242 },
    });
    const seeded = await post('artifacts', {
      repo: FULL,
      run_id: 4242,
      name: 'hello-linux',
      dataBase64: ZIP.toString('base64'),
    });
    expect(seeded).toEqual({ status: 201, body: { id: expect.any(Number) } });
    const id = (seeded.body as { id: number }).id;

    const octokit = h.client();
    const { data: runs } = await octokit.actions.listWorkflowRuns({
      ...REPO,
      workflow_id: 'build.yml',
      head_sha: SHA,
    });
    expect(runs.workflow_runs).toEqual([
      expect.objectContaining({
        id: 4242,
        head_sha: SHA,
        path: '.github/workflows/build.yml',
        status: 'completed',
        conclusion: 'success',
      }),
    ]);
    expect(runs.workflow_runs[0]).not.toHaveProperty('extra');
    const { data: listed } = await octokit.actions.listWorkflowRunArtifacts({
      ...REPO,
      run_id: 4242,
    });
    expect(listed.artifacts).toEqual([
      expect.objectContaining({ id, name: 'hello-linux', size_in_bytes: ZIP.length }),
    ]);
    const redirect = await fetch(`${h.baseUrl}/repos/${FULL}/actions/artifacts/${id}/zip`, {
      headers: { authorization: `token ${TOKEN}` },
      redirect: 'manual',
    });
    expect(redirect.status).toBe(302);
    const zip = await fetch(redirect.headers.get('location')!);
    expect(Buffer.from(await zip.arrayBuffer())).toEqual(ZIP);

    // Controls, not API calls: only the three Actions calls were recorded.
    expect(h.github.calls().map((c) => c.path)).toEqual([
      `/repos/${FULL}/actions/workflows/build.yml/runs`,
      `/repos/${FULL}/actions/runs/4242/artifacts`,
      `/repos/${FULL}/actions/artifacts/${id}/zip`,
    ]);
  });

  it.each([
    ['without a repo', { run: RUN }, 'repo must be "owner/name"'],
    ['of an owner alone', { repo: 'octo-org', run: RUN }, 'repo must be "owner/name"'],
    ['without a run', { repo: FULL }, 'run must be an object'],
    ['with id 0', { repo: FULL, run: { ...RUN, id: 0 } }, 'run id must be a positive integer'],
    ['with a text id', { repo: FULL, run: { ...RUN, id: '4242' } }, 'run id must be a positive'],
    ['on a branch name', { repo: FULL, run: { ...RUN, head_sha: 'main' } }, 'run head_sha must'],
    ['with a number path', { repo: FULL, run: { ...RUN, path: 7 } }, 'run path must be a string'],
    ['on attempt 1.5', { repo: FULL, run: { ...RUN, run_attempt: 1.5 } }, 'run run_attempt must'],
    ['"done"', { repo: FULL, run: { ...RUN, status: 'done' } }, 'run status must be one of'],
    ['concluded "ok"', { repo: FULL, run: { ...RUN, conclusion: 'ok' } }, 'run conclusion must'],
    ['of PR 0', { repo: FULL, run: { ...RUN, pull_requests: [0] } }, 'run pull_requests must'],
    ['in a list', [RUN], 'repo must be "owner/name"'],
  ])('refuse a run %s with 422, seeding nothing', async (_, body, message) => {
    const answer = await post('workflow-runs', body);
    expect(answer).toMatchObject({ status: 422, body: { message: expect.any(String) } });
    expect((answer.body as { message: string }).message).toContain(message);
    const { data } = await h.client().actions.listWorkflowRuns({
      ...REPO,
      workflow_id: 'build.yml',
    });
    expect(data.total_count).toBe(0);
  });

  it('refuse an artifact of no run, without a name or with bytes not in base64', async () => {
    expect((await post('workflow-runs', { repo: FULL, run: RUN })).status).toBe(201);
    const good = { repo: FULL, run_id: 4242, name: 'hello-linux', dataBase64: 'UEsDBA==' };
    for (const [body, message] of [
      [{ ...good, run_id: 4243 }, `run_id 4243 is no workflow run of ${FULL}`],
      [{ ...good, repo: 'octo-org/other' }, 'run_id 4242 is no workflow run of octo-org/other'],
      [{ ...good, run_id: -1 }, 'run_id must be a positive integer'],
      [{ ...good, name: '' }, 'name must be a non-empty string'],
      [{ ...good, dataBase64: 'not base64!' }, 'dataBase64 must be the bytes in base64'],
      [{ ...good, dataBase64: 'UEsDB' }, 'dataBase64 must be the bytes in base64'],
      [{ ...good, expired: 'yes' }, 'expired must be a boolean'],
    ] as const) {
      expect(await post('artifacts', body)).toMatchObject({ status: 422, body: { message } });
    }
    const { data } = await h.client().actions.listWorkflowRunArtifacts({ ...REPO, run_id: 4242 });
    expect(data.total_count).toBe(0);
  });

  it('refuse a body that is not JSON with 400', async () => {
    expect(await post('workflow-runs', '{"repo":')).toMatchObject({
      status: 400,
      body: { message: 'request body is not JSON' },
    });
    expect((await post('artifacts', 'nope')).status).toBe(400);
  });
});
