// The status pages' two static files, served by the status function itself
// (`/assets/page.js`, `/assets/page.css`): no build step, nothing inline, so
// the pages' Content-Security-Policy allows only 'self'.
//
// page.js keeps a live page fresh without a reload: every few seconds it
// fetches the same URL as HTML, parses it with DOMParser (which runs nothing)
// and puts the new <main> in place of the old one, as nodes, never as a string.
// It stops once the page's <main data-live="false">, waits while the tab is
// hidden or text in it is selected, and backs off when the server does not answer.
// The page is complete without it.

export const PAGE_JS = `(function () {
  'use strict';
  var PERIOD_MS = 2500;
  var MAX_BACKOFF_MS = 60000;
  var timer = null;
  var failures = 0;
  var inFlight = false;

  function currentMain() {
    return document.querySelector('main');
  }
  function isLive() {
    var main = currentMain();
    return main !== null && main.getAttribute('data-live') === 'true';
  }
  function selecting() {
    var selection = window.getSelection ? window.getSelection() : null;
    return selection !== null && !selection.isCollapsed;
  }
  function schedule(ms) {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(refresh, ms);
  }
  function refresh() {
    timer = null;
    if (!isLive() || inFlight) return;
    if (document.hidden || selecting()) {
      schedule(PERIOD_MS);
      return;
    }
    inFlight = true;
    fetch(window.location.href, {
      headers: { Accept: 'text/html' },
      credentials: 'same-origin',
      cache: 'no-store',
    })
      .then(function (res) {
        var type = res.headers.get('content-type') || '';
        if (!res.ok || type.indexOf('text/html') !== 0) throw new Error('status ' + res.status);
        return res.text();
      })
      .then(function (text) {
        var next = new DOMParser().parseFromString(text, 'text/html');
        var fresh = next.querySelector('main');
        var main = currentMain();
        if (fresh === null || main === null) throw new Error('no <main>');
        main.replaceWith(document.importNode(fresh, true));
        if (next.title) document.title = next.title;
        failures = 0;
      })
      .catch(function () {
        failures += 1;
      })
      .then(function () {
        inFlight = false;
        if (!isLive()) return;
        schedule(failures === 0 ? PERIOD_MS : Math.min(PERIOD_MS * Math.pow(2, failures), MAX_BACKOFF_MS));
      });
  }
  document.addEventListener('visibilitychange', function () {
    if (!document.hidden && isLive() && timer === null && !inFlight) schedule(0);
  });
  if (isLive()) schedule(PERIOD_MS);
})();
`;

export const PAGE_CSS = `:root {
  color-scheme: light dark;
  --fg: #1f2328; --muted: #59636e; --bg: #ffffff; --line: #d1d9e0; --soft: #f6f8fa; --link: #0969da;
  --grey: #59636e; --blue: #0969da; --amber: #9a6700; --green: #1a7f37; --red: #cf222e; --purple: #8250df;
}
@media (prefers-color-scheme: dark) {
  :root {
    --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --line: #3d444d; --soft: #151b23; --link: #4493f8;
    --grey: #9198a1; --blue: #4493f8; --amber: #d29922; --green: #3fb950; --red: #f85149; --purple: #ab7df8;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0 auto; max-width: 80rem; padding: 0 1rem 2rem;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--fg); background: var(--bg);
}
a { color: var(--link); text-decoration: none; }
a:hover, a:focus { text-decoration: underline; }
header.top { display: flex; align-items: baseline; gap: .5rem; padding: .75rem 0; border-bottom: 1px solid var(--line); }
.brand { font-weight: 700; font-size: 1.15rem; color: var(--fg); }
.tagline, .detail, .none, .updated, .note, .counts, .context { color: var(--muted); }
.updated { font-size: .85rem; }
h1 { font-size: 1.35rem; margin: 1rem 0 .5rem; overflow-wrap: anywhere; }
h1 .title { font-weight: 400; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
p.subject { font-size: 1.05rem; margin: 0 0 .5rem; overflow-wrap: anywhere; }
h1 + p.context { margin-top: 0; }
h3 { font-size: 1rem; margin: 1rem 0 .25rem; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; max-width: 100%; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .35rem .6rem .35rem 0; border-bottom: 1px solid var(--line); }
thead th { font-size: .85rem; color: var(--muted); font-weight: 600; white-space: nowrap; }
table.tests td { white-space: nowrap; }
table.tests td.c-message, table.tests td.c-ref, table.failures td { white-space: normal; overflow-wrap: anywhere; min-width: 10rem; }
table.tests td.c-ref { min-width: 7rem; }
table.tests td .subject { display: block; white-space: normal; overflow-wrap: anywhere; min-width: 9rem; max-width: 18rem; font-size: .9rem; color: var(--muted); }
table.facts { width: auto; max-width: 100%; }
table.facts th { font-weight: 600; white-space: nowrap; padding-right: 1.25rem; }
table.facts td { overflow-wrap: anywhere; }
td.num { font-variant-numeric: tabular-nums; }
.sha, .file, code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
.badge {
  display: inline-block; padding: 0 .5rem; border-radius: 1rem; border: 1px solid currentColor;
  font-size: .8rem; font-weight: 600; line-height: 1.5; white-space: nowrap; color: var(--grey);
}
.s-pending, .s-queued, .s-waiting { color: var(--grey); }
.s-starting, .s-running { color: var(--amber); }
.s-passed, .s-open { color: var(--green); }
.s-failed, .s-error, .s-timed_out { color: var(--red); }
.s-canceled { color: var(--grey); }
.s-maintenance { color: var(--purple); }
.state { font-size: 1.05rem; }
.problem { color: var(--red); font-weight: 600; }
form.filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: flex-end; margin: 1rem 0 0; padding: .75rem; background: var(--soft); border: 1px solid var(--line); border-radius: .5rem; }
form.filters label { display: flex; flex-direction: column; font-size: .8rem; color: var(--muted); gap: .15rem; }
form.filters input, form.filters select, form.filters button { font: inherit; font-size: .95rem; padding: .25rem .4rem; color: var(--fg); background: var(--bg); border: 1px solid var(--line); border-radius: .3rem; }
form.filters button { cursor: pointer; font-weight: 600; }
ol.timeline { list-style: none; padding: 0; margin: 0; }
ol.timeline li { padding: .3rem 0; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
ol.timeline .when { color: var(--muted); font-size: .85rem; margin-right: .25rem; font-variant-numeric: tabular-nums; }
@media (max-width: 40rem) {
  body { padding: 0 .6rem 1.5rem; font-size: 14px; }
  .detail { display: none; }
  form.filters label { flex: 1 1 9rem; }
}
`;
