// The table of tests shared by the recent page and the commit and PR pages:
// one row per test, a state badge with its name, links to the test's page.
import { isTerminal } from '../domain/test';
import type { TestView } from '../tests/view';
import { html, type SafeHtml } from './escape';
import { badge, elapsedMs, formatDuration, refName, shortSha, timeHtml } from './format';
import { commitHref, prHref, testHref } from './links';

export interface PageContext {
  /** The status function's path (links.ts basePath). */
  base: string;
  /** GitHub's web address (links.ts githubWebBase); null: no links to GitHub. */
  web: string | null;
  now: Date;
}

export type Column =
  | 'created'
  | 'repo'
  | 'commit'
  /** The commit and PR, with the test's title below them (the recent list). */
  | 'change'
  | 'ref'
  | 'platform'
  | 'run'
  | 'state'
  | 'message'
  | 'start'
  | 'duration';

const HEADINGS: Record<Column, string> = {
  created: 'Created',
  repo: 'Repository',
  commit: 'Commit',
  change: 'Commit',
  ref: 'Branch',
  platform: 'Platform',
  run: 'Run',
  state: 'State',
  message: 'Message',
  start: 'Time to start',
  duration: 'Duration',
};

export const isLive = (test: TestView): boolean => !isTerminal(test.status);

/**
 * The title of the newest of `tests` that has one (a PR renamed since its
 * first tests goes by its newest name); null when none has (unknown or hidden).
 */
export function newestTitle(tests: readonly TestView[]): string | null {
  let newest: TestView | null = null;
  for (const test of tests) {
    if (test.title === null) continue;
    if (newest === null || (test.createdAt ?? '') > (newest.createdAt ?? '')) newest = test;
  }
  return newest?.title ?? null;
}

/** How long the test ran (or has run so far). */
export function durationOf(test: TestView, now: Date): number | null {
  return elapsedMs(test.startedAt, test.finishedAt, now, isLive(test));
}

/** The test's commit, and its PR when it has one. */
function commitLinks(test: TestView, ctx: PageContext): SafeHtml {
  const sha = html`<a class="sha" href="${commitHref(ctx.base, test.repo, test.sha)}">${shortSha(test.sha)}</a>`;
  if (test.pr === null) return sha;
  return html`${sha} <a class="pr" href="${prHref(ctx.base, test.repo, test.pr)}">#${test.pr}</a>`;
}

function cell(column: Column, test: TestView, ctx: PageContext): SafeHtml {
  switch (column) {
    case 'created':
      return html`<a href="${testHref(ctx.base, test.id)}">${timeHtml(test.createdAt)}</a>`;
    case 'repo':
      return html`${test.repo}`;
    case 'commit':
      return commitLinks(test, ctx);
    case 'change':
      return test.title === null
        ? commitLinks(test, ctx)
        : html`${commitLinks(test, ctx)}<span class="subject">${test.title}</span>`;
    case 'ref':
      return test.ref === null
        ? html`<span class="none">hidden</span>`
        : html`${refName(test.ref)}`;
    case 'platform':
      return html`<a href="${testHref(ctx.base, test.id)}">${test.platform}</a>`;
    case 'run':
      return html`${test.run}`;
    case 'state':
      return badge(test.status, test.stage);
    case 'message':
      return html`${test.message}`;
    case 'start':
      return html`${formatDuration(test.timeToStartMs)}`;
    case 'duration':
      return html`${formatDuration(durationOf(test, ctx.now))}`;
  }
}

/** The tests as a table (scrolling sideways on a narrow screen), or a line saying there are none. */
export function testsTable(
  tests: readonly TestView[],
  columns: readonly Column[],
  ctx: PageContext,
  empty: string,
): SafeHtml {
  if (tests.length === 0) return html`<p class="empty">${empty}</p>`;
  const head = columns.map((c) => html`<th scope="col" class="c-${c}">${HEADINGS[c]}</th>`);
  const rows = tests.map(
    (test) =>
      html`<tr data-test="${test.id}" data-status="${test.status}">
        ${columns.map((c) => html`<td class="c-${c}">${cell(c, test, ctx)}</td>`)}
      </tr>`,
  );
  return html`<div class="scroll">
    <table class="tests">
      <thead>
        <tr>
          ${head}
        </tr>
      </thead>
      <tbody>
        ${rows}
      </tbody>
    </table>
  </div>`;
}
