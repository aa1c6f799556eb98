// What GitHub and the code under test write reaches the status pages as
// text only: a PR whose branch name and title, and whose suite's summary,
// failing test name and failure message carry <img onerror> and </script>
// payloads, run for real on a local VM. In a real browser each page shows
// the payloads' literal text and runs none of them: no dialog, no error, no
// console error (a CSP refusal of an inline script would be one), and the
// marker every payload would set stays undefined.
import { launchChromium } from '../../infra/local/chromium';
import { changed } from '../config/fixtures';
import { idOf, PR_NUMBER, pullRequestPayload, REPO, send } from '../functions/webhook-support';
import {
  evalIn,
  open,
  pageCloud,
  summaryJson,
  useBrowser,
  waitForTest,
  WAIT_MS,
  watchedPage,
  type Watched,
} from './support';

jest.setTimeout(4 * WAIT_MS);

const { h, repo } = pageCloud();
const browser = useBrowser();

const IMG = (n: number) => `<img src=x onerror=window.__xss=${n}>`;
const SCRIPT = (n: number) => `</script><script>window.__xss=${n}</script>`;
const BRANCH = `fix/${IMG(1)}${SCRIPT(2)}`;
const TITLE = `Fix ${IMG(3)} ${SCRIPT(4)}`;
const SUMMARY = `1 passed, 1 failed ${IMG(5)} ${SCRIPT(6)}`;
const CASE = `greets_${IMG(7)}`;
const FAILURE = `expected hello, got ${SCRIPT(8)}`;

/** XML text: the JUnit file holds the payloads escaped, as any JUnit writer would. */
const xml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A suite that fails one test, leaving the payloads in its summary and JUnit file. */
function hostileSuite(): string {
  const junit =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<testsuite name="payloads" tests="2" failures="1">\n' +
    '  <testcase classname="demo" name="passes"/>\n' +
    `  <testcase classname="demo" name="${xml(CASE)}"><failure message="${xml(FAILURE)}"/></testcase>\n` +
    '</testsuite>\n';
  return [
    summaryJson(1, 1, SUMMARY),
    `cat > "$VMCI_RESULTS_DIR/junit.xml" <<'JUNIT'\n${junit}JUNIT`,
    'exit 1',
  ].join('\n');
}

/** Asserts the page ran nothing and shows each text literally. */
async function expectInert(w: Watched, texts: readonly string[]): Promise<void> {
  const shown = await evalIn<string>(w.page, 'document.body.textContent');
  for (const text of texts) expect(shown).toContain(text);
  expect(await evalIn(w.page, 'typeof window.__xss')).toBe('undefined');
  // Only our own elements: no <img>, no second <script>, no event handler attribute.
  expect(await evalIn(w.page, `document.querySelectorAll('img').length`)).toBe(0);
  expect(await evalIn(w.page, `document.scripts.length`)).toBe(1);
  expect(
    await evalIn(
      w.page,
      `[...document.querySelectorAll('*')].filter((e) =>
        [...e.attributes].some((a) => a.name.startsWith('on'))).length`,
    ),
  ).toBe(0);
  expect(w.dialogs).toEqual([]);
  expect(w.errors).toEqual([]);
  expect(w.consoleErrors).toEqual([]);
}

it('without Chromium these tests fail, saying how to install it', async () => {
  await expect(launchChromium({ executablePath: '/nonexistent/chromium' })).rejects.toThrow(
    "Chromium is missing at /nonexistent/chromium: the status pages' browser tests and " +
      'screenshots need it (apt-get install -y chromium; .ci/run installs it).',
  );
});

it('the detectors work: a payload in markup runs, an inline script under the CSP is a console error', async () => {
  const w = await watchedPage(browser());
  await w.page.setContent(`<p>${IMG(1)}</p>`, { waitUntil: 'load' });
  await w.page.waitForFunction('window.__xss === 1');
  await w.page.setContent(
    `<meta http-equiv="Content-Security-Policy" content="script-src 'self'"><script>window.__xss = 2</script>`,
  );
  await w.page.waitForFunction(() => true); // one round trip: the console message is in
  expect(await evalIn(w.page, 'window.__xss')).toBe(1);
  expect(w.consoleErrors.join('\n')).toMatch(/Content Security Policy/);
  await w.page.close();
});

it('a PR’s branch, title and test output render as text and run nothing', async () => {
  const sha = repo.commit('hostile', hostileSuite());
  const payload = changed(
    pullRequestPayload('opened', sha, { association: 'OWNER' }),
    ['pull_request.title', TITLE],
    ['pull_request.head.ref', BRANCH],
  );
  const answer = await send(h.cloud, 'pull_request', payload);
  expect(answer.status).toBe(202);
  const id = idOf(sha, 'linux', 'pull_request', PR_NUMBER);
  h.cloud.tasks.resume();
  const test = await waitForTest(h, id, (t) => t.status === 'failed');
  expect(test.ref).toBe(`refs/heads/${BRANCH}`);
  expect(test.title).toBe(TITLE);
  expect(test.result?.summary).toBe(SUMMARY);
  expect(test.failures?.cases.map((c) => [c.name, c.message])).toEqual([[CASE, FAILURE]]);

  const w = await watchedPage(browser());
  // The test's page, as a commit status links to it: title, summary, failing test, message, branch.
  await open(w, `${h.cloud.url}/status/tests/${id}`);
  await expectInert(w, [TITLE, BRANCH, SUMMARY, CASE, FAILURE, test.message]);
  expect(test.message).toContain(CASE); // the final line names the failing test
  // A second look after the page could have refreshed: it is not live, so nothing changes.
  expect(await evalIn(w.page, `document.querySelector('main').dataset.live`)).toBe('false');

  // The PR's page is headed by its number and title; it, the commit's page and
  // the recent page show the title, branch and final line, as text.
  const query = `repo=${encodeURIComponent(REPO)}`;
  await open(w, `${h.cloud.url}/status/tests?${query}&pr=${PR_NUMBER}`);
  await expectInert(w, [`#${PR_NUMBER} ${TITLE}`, test.message]);
  expect(await evalIn<string>(w.page, `document.querySelector('h1').textContent`)).toBe(
    `#${PR_NUMBER} ${TITLE}`,
  );
  await open(w, `${h.cloud.url}/status/tests?${query}&sha=${sha}`);
  await expectInert(w, [TITLE, BRANCH, test.message]);
  await open(w, `${h.cloud.url}/status`);
  await expectInert(w, [TITLE, BRANCH, test.message]);
  await w.page.close();
});
