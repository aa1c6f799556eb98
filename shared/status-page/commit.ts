// A commit's page (`/tests?repo=&sha=`) or a pull request's (`/tests?repo=&pr=`):
// one row per test (platform, run) with its state, message, time to start
// and duration, and the commit or PR on GitHub. The PR's title heads its page
// ("#12 Fix the parser"); a pushed commit's title stands under the commit's
// heading, and the PRs that tested it are named with theirs.
import type { ListQuery } from '../tests/list-query';
import type { TestView } from '../tests/view';
import { html, joinHtml, type SafeHtml } from './escape';
import { refName, shortSha, timeHtml } from './format';
import { page } from './layout';
import { commitHref, githubCommitUrl, githubPrUrl, prHref, recentHref } from './links';
import { isLive, newestTitle, testsTable, type Column, type PageContext } from './table';

export interface CommitPageModel extends PageContext {
  query: ListQuery;
  tests: readonly TestView[];
}

function githubLink(ctx: PageContext, query: ListQuery): SafeHtml {
  if (ctx.web === null) return html``;
  const url =
    'sha' in query
      ? githubCommitUrl(ctx.web, query.repo, query.sha)
      : githubPrUrl(ctx.web, query.repo, query.pr);
  const label = 'sha' in query ? 'The commit on GitHub' : 'The pull request on GitHub';
  return html`<a class="github" href="${url}" rel="noreferrer">${label}</a>`;
}

/** The PRs and branches the commit's tests name (a commit can be tested as a push and in PRs). */
function context(model: CommitPageModel): SafeHtml {
  const { query, tests } = model;
  if (!('sha' in query)) {
    const shas = [...new Set(tests.map((t) => t.sha))];
    const links = shas.map(
      (sha) =>
        html` <a class="sha" href="${commitHref(model.base, query.repo, sha)}">${shortSha(sha)}</a>`,
    );
    return shas.length ? html`<p class="context">Commits tested:${links}</p>` : html``;
  }
  const prs = [...new Set(tests.flatMap((t) => (t.pr === null ? [] : [t.pr])))];
  const refs = [...new Set(tests.flatMap((t) => (t.ref === null ? [] : [refName(t.ref)!])))];
  const parts: SafeHtml[] = [];
  if (refs.length) parts.push(html`<p class="context">Branch: ${refs.join(', ')}</p>`);
  if (prs.length) {
    const links = prs.map((pr) => {
      const title = newestTitle(tests.filter((t) => t.pr === pr));
      const link = html`<a class="pr" href="${prHref(model.base, query.repo, pr)}">#${pr}</a>`;
      return title === null ? link : html`${link} <span class="subject">${title}</span>`;
    });
    parts.push(html`<p class="context">Pull request: ${joinHtml(links, ' · ')}</p>`);
  }
  return html`${parts}`;
}

/**
 * The page's heading: "Commit owner/name @ abc1234" with the pushed commit's
 * title under it; "#12 <PR title>" with its repository under it, or "Pull
 * request owner/name #12" when the title is not known (or hidden).
 */
function heading(query: ListQuery, tests: readonly TestView[]): SafeHtml {
  if ('sha' in query) {
    // A PR test's title is the PR's, not the commit's: only a push tells the commit's.
    const title = newestTitle(tests.filter((t) => t.trigger === 'push'));
    return html`<h1>Commit <span class="title">${query.repo} @ ${shortSha(query.sha)}</span></h1>
      ${title === null ? '' : html`<p class="subject">${title}</p>`}`;
  }
  const title = newestTitle(tests);
  if (title === null) {
    return html`<h1>Pull request <span class="title">${query.repo} #${query.pr}</span></h1>`;
  }
  return html`<h1><span class="title">#${query.pr}</span> ${title}</h1>
    <p class="context">Pull request in ${query.repo}</p>`;
}

export function renderCommitPage(model: CommitPageModel): SafeHtml {
  const { query, tests } = model;
  const isCommit = 'sha' in query;
  const title = isCommit ? `${query.repo} @ ${shortSha(query.sha)}` : `${query.repo} #${query.pr}`;
  const columns: Column[] = isCommit
    ? ['platform', 'run', 'state', 'message', 'start', 'duration', 'created']
    : ['platform', 'commit', 'run', 'state', 'message', 'start', 'duration', 'created'];
  const filter = isCommit
    ? { repo: query.repo, sha: query.sha }
    : { repo: query.repo, pr: String(query.pr) };
  const main = html`${heading(query, tests)}
    <p class="links">${githubLink(model, query)}</p>
    ${context(model)}
    ${testsTable(tests, columns, model, isCommit ? 'No tests for this commit.' : 'No tests for this pull request.')}
    <p class="more"><a href="${recentHref(model.base, filter)}">In the recent list</a></p>
    <p class="updated">As of ${timeHtml(model.now.toISOString())}</p>`;
  return page({ base: model.base, title, live: tests.some(isLive), main });
}
