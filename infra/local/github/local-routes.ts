// /github/_local/...: the stand-in's own controls, outside the GitHub API
// (not authenticated, not recorded as calls). An artifact's download URL is
// signed instead, and expires. Workflow runs and artifacts are seeded here
// over HTTP as tests seed them in process (seeds.ts), so that another process
// (`npm run demo` against a running `npm start`) can play a build.
import type { IncomingMessage } from 'node:http';
import { readJson } from '../http';
import { checkDownload } from './downloads';
import { GitHubError, notFound, type Reply } from './errors';
import { addFault } from './faults';
import { key, type GitHubState } from './state';
import { createSeeds } from './seeds';
import type { FaultSpec, WorkflowRunSeed } from './types';

function parseFault(input: unknown): FaultSpec {
  const f = (input ?? {}) as Record<string, unknown>;
  const optional = (name: string, type: string): void => {
    if (f[name] !== undefined && typeof f[name] !== type) {
      throw new GitHubError(422, `fault ${name} must be a ${type}`);
    }
  };
  optional('path', 'string');
  optional('method', 'string');
  optional('count', 'number');
  optional('retryAfter', 'number');
  optional('headers', 'object');
  return f as unknown as FaultSpec;
}

const RUN_STATUSES = ['queued', 'in_progress', 'completed', 'waiting', 'requested', 'pending'];
const RUN_CONCLUSIONS = ['success', 'failure', 'cancelled', 'skipped', 'timed_out', 'neutral'];

const RUN_FIELDS = [
  ...['id', 'head_sha', 'name', 'head_branch', 'event', 'status', 'conclusion', 'workflow_id'],
  ...['path', 'run_number', 'run_attempt', 'pull_requests'],
];

const invalid = (message: string) => new GitHubError(422, message);
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

function parseRepo(input: Record<string, unknown>): string {
  const repo = input.repo;
  if (typeof repo !== 'string' || !/^[^/\s]+\/[^/\s]+$/.test(repo)) {
    throw invalid('repo must be "owner/name"');
  }
  return repo;
}

/** `{repo, run}`: `run` as seedWorkflowRun takes it (id and head_sha required). */
function parseWorkflowRun(input: unknown): { repo: string; run: WorkflowRunSeed } {
  const body = isObject(input) ? input : {};
  const repo = parseRepo(body);
  const run = body.run;
  if (!isObject(run)) throw invalid('run must be an object');
  if (!isId(run.id)) throw invalid('run id must be a positive integer');
  if (typeof run.head_sha !== 'string' || !/^[0-9a-f]{40}$/.test(run.head_sha)) {
    throw invalid('run head_sha must be 40 lower-case hex digits');
  }
  for (const name of ['name', 'head_branch', 'event', 'path']) {
    if (run[name] !== undefined && typeof run[name] !== 'string') {
      throw invalid(`run ${name} must be a string`);
    }
  }
  for (const name of ['workflow_id', 'run_number', 'run_attempt']) {
    if (run[name] !== undefined && !isId(run[name])) {
      throw invalid(`run ${name} must be a positive integer`);
    }
  }
  if (run.status !== undefined && !RUN_STATUSES.includes(run.status as string)) {
    throw invalid(`run status must be one of ${RUN_STATUSES.join(', ')}`);
  }
  if (
    run.conclusion !== undefined &&
    run.conclusion !== null &&
    !RUN_CONCLUSIONS.includes(run.conclusion as string)
  ) {
    throw invalid(`run conclusion must be null or one of ${RUN_CONCLUSIONS.join(', ')}`);
  }
  if (
    run.pull_requests !== undefined &&
    !(Array.isArray(run.pull_requests) && run.pull_requests.every(isId))
  ) {
    throw invalid('run pull_requests must be a list of PR numbers');
  }
  // Only what a seed has: anything else in the body is left out.
  const known = Object.entries(run).filter(([name]) => RUN_FIELDS.includes(name));
  return { repo, run: Object.fromEntries(known) as unknown as WorkflowRunSeed };
}

/** `{repo, run_id, name, dataBase64, expired?}`: the zip of a run seeded before. */
function parseArtifact(state: GitHubState, input: unknown) {
  const body = isObject(input) ? input : {};
  const repo = parseRepo(body);
  if (!isId(body.run_id)) throw invalid('run_id must be a positive integer');
  if (!state.runs.has(key(repo, body.run_id))) {
    throw invalid(`run_id ${body.run_id} is no workflow run of ${repo}`);
  }
  if (typeof body.name !== 'string' || body.name === '') {
    throw invalid('name must be a non-empty string');
  }
  const base64 = body.dataBase64;
  if (typeof base64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4) {
    throw invalid('dataBase64 must be the bytes in base64');
  }
  if (body.expired !== undefined && typeof body.expired !== 'boolean') {
    throw invalid('expired must be a boolean');
  }
  return {
    repo,
    artifact: {
      run_id: body.run_id,
      name: body.name,
      data: Buffer.from(base64, 'base64'),
      ...(body.expired === undefined ? {} : { expired: body.expired }),
    },
  };
}

export function localRoutes(state: () => GitHubState, reset: () => void, now: () => number) {
  const seeds = createSeeds(state);
  return async (req: IncomingMessage, url: URL, path: string): Promise<Reply> => {
    const method = req.method ?? 'GET';
    if (method === 'POST' && path === '/_local/faults') {
      addFault(state(), parseFault(await readJson(req)));
      return { status: 201, body: { pending: state().faults.length } };
    }
    if (method === 'POST' && path === '/_local/workflow-runs') {
      const { repo, run } = parseWorkflowRun(await readJson(req));
      seeds.seedWorkflowRun(repo, run);
      return { status: 201, body: { id: run.id } };
    }
    if (method === 'POST' && path === '/_local/artifacts') {
      const { repo, artifact } = parseArtifact(state(), await readJson(req));
      return { status: 201, body: { id: seeds.seedArtifact(repo, artifact) } };
    }
    if (method === 'GET' && path === '/_local/calls') return { status: 200, body: state().calls };
    if (method === 'POST' && path === '/_local/reset') {
      reset();
      return { status: 204 };
    }
    const download = /^\/_local\/artifacts\/(\d+)\/download$/.exec(path);
    if (method === 'GET' && download) {
      const id = Number(download[1]);
      checkDownload(state(), id, url.searchParams, now());
      const artifact = state().artifacts.get(id);
      if (!artifact) throw notFound();
      return { status: 200, raw: { data: artifact.data, contentType: 'application/zip' } };
    }
    throw notFound();
  };
}
