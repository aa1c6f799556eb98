// One deploy run: facts → desired → observed → plan → (confirm) → apply.
// Everything it prints goes through `out`; no line ever holds a secret value.
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../../shared/config/load';
import { functionUrl } from '../../../shared/config/urls';
import type { VmciConfig } from '../../../shared/config';
import { applySteps } from './apply';
import { desiredResources, expectedPublicUrl, serviceName } from './desired';
import { bundleHashes, gatherFacts } from './facts';
import type { Gcloud } from './gcloud';
import { cachedGcloud, observeAll, ReadError, type Clients } from './observe';
import { formatPlan, isChange, planSteps, type Step } from './plan';
import { platformsOffNetwork } from './network';
import { WEBHOOK_SECRET } from './secrets';

export interface DeployOptions {
  configPath: string;
  /** The folder of built bundles, as given to --source (e.g. ".deploy"). */
  bundleRoot: string;
  dryRun: boolean;
  gcloud: Gcloud;
  clients: Clients;
  out: (line: string) => void;
  /** Asked before changing anything (unless dryRun); false stops the run. */
  confirm: () => Promise<boolean>;
}

export type DeployOutcome =
  | { result: 'planned' | 'unchanged' | 'applied' | 'declined'; steps: Step[] }
  | { result: 'failed'; lines: string[] };

function readConfig(path: string): VmciConfig | string[] {
  const parsed = parseConfig(readFileSync(path, 'utf8'), path);
  return parsed.ok ? parsed.config : [`Invalid configuration ${path}:`, ...parsed.problems];
}

/** Reads the project and plans; a ReadError's message is the one line to act on. */
export async function planDeploy(config: VmciConfig, options: DeployOptions) {
  const ports = {
    gcloud: cachedGcloud(options.gcloud),
    project: config.project,
    region: config.region,
    ...options.clients,
  };
  const facts = await gatherFacts(ports, {
    root: options.bundleRoot,
    hashes: bundleHashes(options.bundleRoot),
  });
  const expected = expectedPublicUrl(config, facts.projectNumber);
  if (config.publicUrl !== expected) {
    throw new ReadError(
      `publicUrl is ${config.publicUrl}, but the services deploy makes are served at ${expected}: set "publicUrl: ${expected}" in ${options.configPath}`,
    );
  }
  const resources = desiredResources(config, facts);
  return planSteps(resources, await observeAll(resources, ports));
}

export function webhookInstructions(config: VmciConfig): string[] {
  const url = functionUrl(config, 'webhook');
  const filter = `resource.type="cloud_run_revision" AND resource.labels.service_name="${serviceName('webhook')}"`;
  return [
    `Webhook URL: ${url}`,
    'In GitHub, Settings → Webhooks → Add webhook, for each configured repository:',
    `  Payload URL: ${url}`,
    '  Content type: application/json',
    `  Secret: the value you stored in Secret Manager secret ${WEBHOOK_SECRET.secret}`,
    '  Events: push, pull_request, workflow_run, issue_comment (for /retest)',
    'Follow the first delivery:',
    `  gcloud logging read '${filter}' --project=${config.project} --freshness=10m --limit=50`,
  ];
}

export async function deploy(options: DeployOptions): Promise<DeployOutcome> {
  const config = readConfig(options.configPath);
  if (Array.isArray(config)) return { result: 'failed', lines: config };
  const fail = (error: unknown): DeployOutcome => {
    if (error instanceof ReadError) return { result: 'failed', lines: [error.message] };
    throw error;
  };
  let steps: Step[];
  try {
    steps = await planDeploy(config, options);
  } catch (error) {
    return fail(error);
  }
  for (const line of formatPlan(steps)) options.out(line);
  for (const line of platformsOffNetwork(config)) options.out(line);
  if (options.dryRun) return { result: 'planned', steps };
  const blocked = steps.some((s) => s.action === 'blocked');
  if (!steps.some(isChange) && !blocked) {
    options.out('Nothing to change.');
    for (const line of webhookInstructions(config)) options.out(line);
    return { result: 'unchanged', steps };
  }
  if (!(await options.confirm())) return { result: 'declined', steps };
  const applied = await applySteps(
    steps,
    { ...options.clients, gcloud: options.gcloud, project: config.project },
    options.out,
  );
  if (!applied.ok) return { result: 'failed', lines: applied.lines };
  options.out(`Applied ${applied.applied} changes.`);
  for (const line of webhookInstructions(config)) options.out(line);
  return { result: 'applied', steps };
}
