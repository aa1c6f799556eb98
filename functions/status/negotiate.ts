// What form an answer of the status function takes: HTML when the request's
// Accept prefers text/html (a browser), JSON otherwise (no Accept, `*/*`,
// application/json), and always JSON for the `.json` form of a path
// (`/.json`, `/tests.json`, `/tests/{id}.json`). HTML answers carry a strict
// Content-Security-Policy: scripts, styles and fetches from this origin only.
import type { Request, Response } from '../../shared/http/function-app';
import type { SafeHtml } from '../../shared/status-page/escape';

export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// Only the pages have a `.json` form; a file named x.json under /files is a file.
const JSON_FORM = /^(\/|\/tests|\/tests\/[^/]+)\.json$/;

/** The path without its `.json` suffix, and whether it had one. */
export function splitJsonForm(path: string): { path: string; json: boolean } {
  const match = JSON_FORM.exec(path);
  return match ? { path: match[1]!, json: true } : { path, json: false };
}

/** Whether the request prefers text/html over application/json (a tie is JSON). */
export function prefersHtml(req: Request): boolean {
  return req.accepts(['application/json', 'text/html']) === 'text/html';
}

export function sendHtml(res: Response, status: number, body: SafeHtml): void {
  res
    .status(status)
    .set({
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': PAGE_CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
    })
    .send(body.toString());
}

/** JSON with the status; Express leaves the body out for HEAD. */
export function sendJson(res: Response, status: number, body: unknown): void {
  res.status(status).json(body);
}
