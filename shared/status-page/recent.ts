// The recent page (`GET /`): each platform's queue and slots, then the newest
// tests across the configured repositories, filtered by a plain GET form
// (repository, commit, pull request, platform, state) that needs no script.
import { TEST_STATUSES } from '../domain/test';
import type { TestView } from '../tests/view';
import { html, type SafeHtml } from './escape';
import { formatDuration, timeHtml } from './format';
import { page } from './layout';
import { homeHref, recentHref } from './links';
import { queryFields, type RecentQuery } from './recent-query';
import { isLive, testsTable, type PageContext } from './table';

/** A platform's queue and slots (shared/tests/platform-summary.ts PlatformSummary has these). */
export interface PlatformQueue {
  platform: string;
  maintenance: boolean;
  maxConcurrent: number;
  slotsInUse: number;
  counts: { waiting: number; pending: number; queued: number };
  oldestWaitingAt: Date | null;
}

export interface RecentPageModel extends PageContext {
  platforms: readonly PlatformQueue[];
  tests: readonly TestView[];
  query: RecentQuery;
  /** What the form offers. */
  choices: { repos: readonly string[]; platforms: readonly string[] };
  /** The next (older) page; null when this is the last. */
  older: RecentQuery | null;
  /** Whether this viewer sees private repositories' tests. */
  viewer: boolean;
  /** A bad query: said above the form, nothing listed. */
  problem?: string;
}

function platformsSection(platforms: readonly PlatformQueue[], now: Date): SafeHtml {
  if (platforms.length === 0) return html``;
  const rows = platforms.map((p) => {
    const queue = p.counts.waiting + p.counts.pending + p.counts.queued;
    const waited = p.oldestWaitingAt ? now.getTime() - p.oldestWaitingAt.getTime() : null;
    return html`<tr data-platform="${p.platform}">
      <th scope="row">${p.platform}</th>
      <td>
        ${
          p.maintenance
            ? html`<span class="badge s-maintenance">maintenance</span>`
            : html`<span class="badge s-open">open</span>`
        }
      </td>
      <td class="num">
        ${queue}<span class="detail">
          (${p.counts.waiting} waiting, ${p.counts.pending} pending, ${p.counts.queued} queued)</span>
      </td>
      <td class="num">${p.slotsInUse} of ${p.maxConcurrent}</td>
      <td>${waited === null ? html`<span class="none">—</span>` : formatDuration(waited)}</td>
    </tr>`;
  });
  return html`<section class="platforms" aria-labelledby="platforms-h">
    <h2 id="platforms-h">Platforms</h2>
    <div class="scroll">
      <table class="platforms">
        <thead>
          <tr>
            <th scope="col">Platform</th>
            <th scope="col">State</th>
            <th scope="col">Queue</th>
            <th scope="col">Slots in use</th>
            <th scope="col">Longest wait</th>
          </tr>
        </thead>
        <tbody>
          ${rows}
        </tbody>
      </table>
    </div>
  </section>`;
}

function select(
  name: string,
  label: string,
  options: readonly string[],
  chosen: string | undefined,
): SafeHtml {
  const items = options.map(
    (value) =>
      html`<option value="${value}" ${value === chosen ? html`selected` : ''}>${value}</option>`,
  );
  return html`<label>${label}
    <select name="${name}">
      <option value="">any</option>
      ${items}
    </select>
  </label>`;
}

function filterForm(model: RecentPageModel): SafeHtml {
  const { query, choices } = model;
  // A value asked for that the configuration does not list is still offered (and chosen).
  const withChosen = (list: readonly string[], chosen: string | undefined) =>
    chosen === undefined || list.includes(chosen) ? list : [...list, chosen];
  return html`<form class="filters" method="get" action="${homeHref(model.base)}" role="search">
    ${select('repo', 'Repository', withChosen(choices.repos, query.repo), query.repo)}
    <label>Commit
      <input name="sha" value="${query.sha ?? ''}" placeholder="40-character sha" size="12"
        maxlength="40" autocomplete="off" spellcheck="false">
    </label>
    <label>Pull request
      <input name="pr" value="${query.pr ?? ''}" inputmode="numeric" size="5" maxlength="10"
        autocomplete="off">
    </label>
    ${select('platform', 'Platform', withChosen(choices.platforms, query.platform), query.platform)}
    ${select('status', 'State', TEST_STATUSES, query.status)}
    <button type="submit">Filter</button> <a href="${homeHref(model.base)}">Clear</a>
  </form>`;
}

const filtered = (q: RecentQuery) =>
  q.repo !== undefined ||
  q.sha !== undefined ||
  q.pr !== undefined ||
  q.platform !== undefined ||
  q.status !== undefined;

export function renderRecentPage(model: RecentPageModel): SafeHtml {
  const live =
    model.tests.some(isLive) ||
    model.platforms.some((p) => p.slotsInUse > 0 || p.counts.pending + p.counts.queued > 0);
  const note = model.viewer
    ? ''
    : html`<p class="note">Private repositories’ tests are listed for status viewers only.</p>`;
  const older = model.older
    ? html`<p class="more">
        <a rel="next" href="${recentHref(model.base, queryFields(model.older))}">Older tests</a>
      </p>`
    : '';
  const list = model.problem
    ? html`<p class="problem" role="alert">${model.problem}</p>`
    : testsTable(
        model.tests,
        ['state', 'platform', 'change', 'message', 'ref', 'repo', 'duration', 'created'],
        model,
        filtered(model.query) ? 'No tests match these filters.' : 'No tests yet.',
      );
  const main = html`${platformsSection(model.platforms, model.now)}
    <section class="recent" aria-labelledby="recent-h">
      <h2 id="recent-h">Recent tests</h2>
      ${note} ${list} ${older}
      <p class="updated">As of ${timeHtml(model.now.toISOString())}</p>
    </section>`;
  return page({
    base: model.base,
    title: 'Recent tests',
    live,
    before: html`<nav class="filters-nav" aria-label="Filters">${filterForm(model)}</nav>`,
    main,
  });
}
