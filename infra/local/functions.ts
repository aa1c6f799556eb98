// Serves the Cloud Functions that exist behind one port, each at `/<name>`,
// through the same app each one serves when deployed (shared/http/function-app.ts:
// the door reads its own raw body). The function sees the path below its name,
// as a deployed function sees the path below its URL.
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { LocalService } from './http';

import { FUNCTION_NAMES, type FunctionName } from '../../shared/config/urls';

export { FUNCTION_NAMES, type FunctionName };

const FUNCTIONS_DIR = join(__dirname, '..', '..', 'functions');

/** The functions whose module is in the tree (functions/<name>/index.ts). */
export function presentFunctions(dir: string = FUNCTIONS_DIR): FunctionName[] {
  return FUNCTION_NAMES.filter((name) =>
    ['index.ts', 'index.js'].some((file) => existsSync(join(dir, name, file))),
  );
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Imports each function's module (which builds its app at cold start) and
 * mounts its `app` at `/<name>`. Import it after the environment the functions
 * read at cold start (VMCI_CONFIG, secrets, endpoints) is set.
 */
export function mountFunctions(
  names: readonly FunctionName[],
  dir: string = FUNCTIONS_DIR,
): LocalService {
  const apps = new Map<string, RequestListener>();
  for (const name of names) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a module path known only at run time
    const { app } = require(join(dir, name)) as { app?: RequestListener };
    if (typeof app !== 'function') throw new Error(`functions/${name} exports no app`);
    apps.set(name, app);
  }
  return {
    async handle(req, res, url) {
      const [, first = '', ...rest] = url.pathname.split('/');
      const app = apps.get(first);
      if (!app) return false;
      req.url = `/${rest.join('/')}${url.search}`;
      app(req, res);
      return true;
    },
    async close() {},
  };
}
