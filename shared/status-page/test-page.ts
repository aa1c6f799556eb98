// One test's page (`/tests/{id}`): its live state, commit and PR, VM, result
// counts, failing tests, log and files, and its timeline. Built from the test
// view only (shared/tests/view.ts), so what a private repository hides from
// this viewer is not there to show.
import type { TestView } from '../tests/view';
import { html, type SafeHtml } from './escape';
import { badge, counted, formatDuration, refName, shortSha, timeHtml } from './format';
import { page } from './layout';
import {
  commitHref,
  githubCommitUrl,
  githubPrUrl,
  prHref,
  testFilesHref,
  testLogHref,
} from './links';
import { durationOf, isLive, type PageContext } from './table';

export interface TestPageModel extends PageContext {
  test: TestView;
}

const none = html`<span class="none">—</span>`;

function row(label: string, value: SafeHtml | string | number | null): SafeHtml {
  return html`<tr>
    <th scope="row">${label}</th>
    <td>${value === null ? none : value}</td>
  </tr>`;
}

function commitCell(model: TestPageModel): SafeHtml {
  const { test, web, base } = model;
  const github =
    web === null
      ? ''
      : html` · <a class="github" href="${githubCommitUrl(web, test.repo, test.sha)}"
            rel="noreferrer">on GitHub</a>`;
  return html`<a class="sha" href="${commitHref(base, test.repo, test.sha)}">${test.sha}</a>${github}`;
}

function prCell(model: TestPageModel): SafeHtml | null {
  const { test, web, base } = model;
  if (test.pr === null) return null;
  const github =
    web === null
      ? ''
      : html` · <a class="github" href="${githubPrUrl(web, test.repo, test.pr)}"
            rel="noreferrer">on GitHub</a>`;
  return html`<a class="pr" href="${prHref(base, test.repo, test.pr)}">#${test.pr}</a>${github}`;
}

function resultSection(test: TestView): SafeHtml {
  const { result, failures } = test;
  if (!result && !failures) return html``;
  const counts = result
    ? html`<table class="facts">
        ${row('Exit code', result.exitCode)}
        ${row('Passed', result.passed)}
        ${row('Failed', result.failed)}
        ${test.detailsHidden ? '' : row('Summary', result.summary === '' ? null : result.summary)}
      </table>`
    : '';
  let failing: SafeHtml | string = '';
  if (failures) {
    const { counts: c, cases } = failures;
    const items = cases.map(
      (f) =>
        html`<tr class="failure">
          <td><span class="badge s-failed">${f.kind}</span></td>
          <td class="case">
            ${f.classname ? html`<span class="classname">${f.classname}</span>` : ''}
            <strong>${f.name}</strong>
            ${f.suite ? html`<div class="detail">suite ${f.suite}</div>` : ''}
          </td>
          <td class="message-cell">${f.message ?? none}</td>
          <td class="file">${f.file}</td>
        </tr>`,
    );
    failing = html`<h3>Failing tests</h3>
      <p class="counts">
        ${counted(c.tests, 'test')}: ${counted(c.failures, 'failure')},
        ${counted(c.errors, 'error')}, ${c.skipped} skipped
      </p>
      ${
        cases.length
          ? html`<div class="scroll">
              <table class="failures">
                <thead>
                  <tr>
                    <th scope="col">Kind</th>
                    <th scope="col">Test</th>
                    <th scope="col">Message</th>
                    <th scope="col">File</th>
                  </tr>
                </thead>
                <tbody>
                  ${items}
                </tbody>
              </table>
            </div>`
          : ''
      }`;
  }
  return html`<section aria-labelledby="result-h">
    <h2 id="result-h">Result</h2>
    ${counts} ${failing}
  </section>`;
}

function filesSection(model: TestPageModel): SafeHtml {
  const { test, base } = model;
  if (test.files === null) return html``;
  const log =
    test.files.log !== null ? html`<a href="${testLogHref(base, test.id)}">Log</a> · ` : '';
  const list = html`<a href="${testFilesHref(base, test.id)}">All files (${test.files.count})</a>`;
  return html`<section aria-labelledby="files-h">
    <h2 id="files-h">Files</h2>
    <p>${log}${list}</p>
  </section>`;
}

function timelineSection(test: TestView): SafeHtml {
  const entries = test.timeline.map(
    (e) =>
      html`<li>
        <span class="when">${timeHtml(e.at)}</span> ${badge(e.status, e.stage ?? null)}
        <span class="message">${e.message}</span>
      </li>`,
  );
  return html`<section aria-labelledby="timeline-h">
    <h2 id="timeline-h">Timeline</h2>
    ${
      entries.length
        ? html`<ol class="timeline">
            ${entries}
          </ol>`
        : html`<p class="empty">Nothing yet.</p>`
    }
  </section>`;
}

export function renderTestPage(model: TestPageModel): SafeHtml {
  const { test, now } = model;
  const live = isLive(test);
  const vm = test.instance
    ? html`${test.instance.name}${test.instance.zone ? html` <span class="detail">in ${test.instance.zone}</span>` : ''}
        <span class="detail">(${test.instance.provisioning.toLowerCase()})</span>`
    : null;
  const title = `${test.platform} · ${test.repo} @ ${shortSha(test.sha)}`;
  const hidden = test.detailsHidden
    ? html`<p class="note">
        This repository is private: its title, branch, author, summary, zone, failing tests and
        files are shown to status viewers only.
      </p>`
    : '';
  const main = html`<h1>
      ${test.platform} <span class="title">${test.repo} @ ${shortSha(test.sha)}</span>
    </h1>
    ${test.title === null ? '' : html`<p class="subject">${test.title}</p>`}
    <p class="state">
      ${badge(test.status, test.stage)} <span class="message">${test.message}</span>
    </p>
    ${hidden}
    <section aria-labelledby="about-h">
      <h2 id="about-h">About</h2>
      <table class="facts">
        ${row('Repository', test.repo)}
        ${row('Commit', commitCell(model))}
        ${row('Pull request', prCell(model))}
        ${test.detailsHidden ? '' : row('Branch', refName(test.ref))}
        ${test.detailsHidden ? '' : row('Author', test.author)}
        ${row('Trigger', test.trigger)}
        ${row('Run', test.run)}
        ${row('VM', vm)}
        ${row('Attempts', test.attempts)}
        ${row('Created', timeHtml(test.createdAt))}
        ${row('Started', timeHtml(test.startedAt))}
        ${row('Finished', timeHtml(test.finishedAt))}
        ${row('Time to start', formatDuration(test.timeToStartMs))}
        ${row(live && test.startedAt ? 'Running for' : 'Duration', formatDuration(durationOf(test, now)))}
      </table>
    </section>
    ${resultSection(test)}
    ${filesSection(model)}
    ${timelineSection(test)}
    <p class="updated">
      As of ${timeHtml(now.toISOString())}${live ? ' · this page updates itself' : ''}
    </p>`;
  return page({ base: model.base, title, live, main });
}
