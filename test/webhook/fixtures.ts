// Real GitHub payloads from @octokit/webhooks-examples, a configuration that
// accepts their repositories, and small helpers to change one field of a clone.
import examples from '@octokit/webhooks-examples';
import { configSchema, type VmciConfig } from '../../shared/config/schema';
import { parseWebhook, type WebhookEvent } from '../../shared/webhook/events';
import { changed, validConfig, type Change } from '../config/fixtures';

export type Payload = Record<string, unknown>;

const ALL = examples as unknown as { name: string; examples: Payload[] }[];

/** Every example payload of an event, each a fresh clone. */
export function examplesOf(event: string): Payload[] {
  const entry = ALL.find((e) => e.name === event);
  if (!entry || entry.examples.length === 0) throw new Error(`no examples of ${event}`);
  return entry.examples.map((payload) => structuredClone(payload));
}

/** The first example of `event` (with `action`, when given), a fresh clone, with changes applied. */
export function example(event: string, action?: string, ...changes: readonly Change[]): Payload {
  const payload = examplesOf(event).find((p) => action === undefined || p.action === action);
  if (!payload) throw new Error(`no example of ${event}.${action}`);
  return changed(payload, ...changes);
}

export const DELIVERY = '72d3162e-cc78-11e3-81ab-4c9367dc0958';

export function headersFor(event: string, delivery = DELIVERY): Record<string, string> {
  return { 'x-github-event': event, 'x-github-delivery': delivery };
}

/** Parses a payload that must parse; the test fails with the problems otherwise. */
export function eventOf(event: string, payload: unknown, delivery = DELIVERY): WebhookEvent {
  const result = parseWebhook(headersFor(event, delivery), payload);
  if (!result.ok) throw new Error(`${event} did not parse: ${result.problems.join('; ')}`);
  return result.event;
}

export const REPO = 'Codertocat/Hello-World';
export const SHA = 'ec26c3e57ca3a959ca5aad62de7213c562f8c821'; // the pull_request examples' head
export const PUSH_SHA = '6113728f27ae82c7b1a177c8d03f9e96e0adf246';
export const RUN_SHA = '3484a3fb816e0859fd6e1cea078d76385ff50625'; // the workflow_run examples'

/** linux (no build), windows (built by build.yml); both example repositories configured. */
export function configWith(...changes: readonly Change[]): VmciConfig {
  const base = changed(
    validConfig(),
    ['repositories', [REPO, 'octo-org/octo-repo']],
    [
      'platforms.windows',
      {
        ...(validConfig().platforms as Record<string, Payload>).windows,
        buildWorkflow: 'build.yml',
        artifactName: 'ccextractor-windows',
      },
    ],
  );
  return configSchema.parse(changed(base, ...changes));
}

export const NOW = new Date('2024-05-01T12:00:00Z');
