// Serves the Cloud Functions that exist behind one port, each at `/<name>`, as
// the Functions Framework serves it when deployed (its own middleware: raw
// body, JSON parsing). The function sees the path below its name, as a
// deployed function sees the path below its URL.
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type { LocalService } from './http';

/** The functions of DESIGN §1, in the order of the flow. */
export const FUNCTION_NAMES = [
  'webhook',
  'runTest',
  'sweepPending',
  'sweepExpired',
  'progress',
  'status',
] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

const FUNCTIONS_DIR = join(__dirname, '..', '..', 'functions');

/** The functions whose module is in the tree (functions/<name>/index.ts). */
export function presentFunctions(dir = FUNCTIONS_DIR): FunctionName[] {
  return FUNCTION_NAMES.filter((name) =>
    ['index.ts', 'index.js'].some((file) => existsSync(join(dir, name, file))),
  );
}

/**
 * Imports each function's module (which registers it with the Functions
 * Framework) and mounts it at `/<name>`. Import it after the environment the
 * functions read at cold start (VMCI_CONFIG, secrets, endpoints) is set.
 */
export function mountFunctions(names: readonly FunctionName[], dir = FUNCTIONS_DIR): LocalService {
  const servers = new Map<string, Server>();
  for (const name of names) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a module path known only at run time
    require(join(dir, name)); // registers `name`
    servers.set(name, getTestServer(name));
  }
  return {
    async handle(req, _res, url) {
      const [, first = '', ...rest] = url.pathname.split('/');
      const server = servers.get(first);
      if (!server) return false;
      req.url = `/${rest.join('/')}${url.search}`;
      server.emit('request', req, _res);
      return true;
    },
    async close() {},
  };
}
