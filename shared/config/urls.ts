// Where each function is served. `publicUrl` is either one base under which
// every function has a path (`<publicUrl>/<function>`: Cloud Functions' URLs,
// the local cloud) or a template with `{function}`, replaced by the function's
// name in lower case (one Cloud Run service per function, e.g.
// `https://vmci-{function}-123456789012.us-central1.run.app`).

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

export const FUNCTION_PLACEHOLDER = '{function}';

/** The URL `fn` is served at, from a publicUrl (base or template). */
export function functionUrlOf(publicUrl: string, fn: FunctionName): string {
  const base = publicUrl.replace(/\/+$/, '');
  return base.includes(FUNCTION_PLACEHOLDER)
    ? base.replace(FUNCTION_PLACEHOLDER, fn.toLowerCase())
    : `${base}/${fn}`;
}

/** The URL `fn` is served at: its callers' token audience, its link, its callback. */
export function functionUrl(config: { publicUrl: string }, fn: FunctionName): string {
  return functionUrlOf(config.publicUrl, fn);
}
