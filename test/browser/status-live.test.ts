// The status pages in a real browser, against the local cloud: a push's
// tests listed on the recent and commit pages, and one test's page following
// it from queued to passed by itself, in the same window (no reload), while
// the real startup script runs the suite on a local VM.
import { isTerminal } from '../../shared/domain/test';
import { testView } from '../../shared/tests/view';
import { idOf, pushPayload, REPO, send } from '../functions/webhook-support';
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

/** Each row's test id and state, in order, on the page shown. */
const rowsOf = (w: Watched) =>
  evalIn<{ id: string; status: string; text: string }[]>(
    w.page,
    `[...document.querySelectorAll('main table.tests tbody tr')].map((tr) => ({
      id: tr.dataset.test, status: tr.dataset.status, text: tr.textContent.replace(/\\s+/g, ' ').trim(),
    }))`,
  );

function expectNothingWrong(w: Watched): void {
  expect(w.dialogs).toEqual([]);
  expect(w.errors).toEqual([]);
  expect(w.consoleErrors).toEqual([]);
}

async function push(label: string, script: string): Promise<string> {
  const sha = repo.commit(label, script);
  const answer = await send(h.cloud, 'push', pushPayload(sha));
  expect(answer.status).toBe(202);
  return sha;
}

it('a test’s page goes from queued to passed by itself, in the same window', async () => {
  const sha = await push('passes', `echo "2 checks"; ${summaryJson(2, 0)}; exit 0`);
  const id = idOf(sha, 'linux');
  await waitForTest(h, id, (t) => t.status === 'queued');
  const w = await watchedPage(browser());

  await open(w, `${h.cloud.url}/status/tests/${id}`);
  expect(await evalIn(w.page, `document.querySelector('main').dataset.live`)).toBe('true');
  expect(await evalIn(w.page, `document.querySelector('main .state .badge').dataset.status`)).toBe(
    'queued',
  );
  await w.page.evaluate('window.__sameWindow = "marker set before the update"');
  const navigations = w.navigations;

  h.cloud.tasks.resume();
  await w.page.waitForFunction(
    `document.querySelector('main .state .badge')?.dataset.status === 'passed'`,
    { timeout: WAIT_MS, polling: 100 },
  );

  // The same window, never reloaded: the marker is still there.
  expect(await evalIn(w.page, 'window.__sameWindow')).toBe('marker set before the update');
  expect(w.navigations).toBe(navigations);
  // Ended: the page says so, and nothing more is live.
  expect(await evalIn(w.page, `document.querySelector('main').dataset.live`)).toBe('false');
  const text = await evalIn<string>(w.page, `document.querySelector('main').textContent`);
  expect(text).toContain('All tests passed (2 passed)');
  expect(text).toMatch(/Passed\s*2/);
  const test = await waitForTest(h, id, (t) => isTerminal(t.status));
  expect(text).toContain(test.instance!.name);
  // The timeline as the test's view has it (each change once), each state in order.
  const timeline = await evalIn<string[]>(
    w.page,
    `[...document.querySelectorAll('ol.timeline li .badge')].map((b) => b.dataset.status)`,
  );
  expect(timeline).toEqual(testView(test, { showDetails: true }).timeline.map((e) => e.status));
  expect(timeline).toEqual(expect.arrayContaining(['queued', 'starting', 'running', 'passed']));
  expectNothingWrong(w);
  await w.page.close();
});

it('the recent and commit pages list one row per test, with platform queues above', async () => {
  const first = await push('first', `${summaryJson(1, 0)}; exit 0`);
  const second = await push('second', `${summaryJson(0, 1)}; exit 1`);
  const w = await watchedPage(browser(), 390);

  // Queued: the queue shows them, newest first in the list.
  await open(w, `${h.cloud.url}/status`);
  const queued = await rowsOf(w);
  // Newest first (the second push), then by id, descending.
  expect(queued.map((r) => r.id)).toEqual([
    idOf(second, 'linux'),
    idOf(second, 'debian'),
    idOf(first, 'linux'),
    idOf(first, 'debian'),
  ]);
  expect(queued.every((r) => r.status === 'queued')).toBe(true);
  const platforms = await evalIn<Record<string, string>>(
    w.page,
    `Object.fromEntries([...document.querySelectorAll('tr[data-platform]')].map((tr) =>
      [tr.dataset.platform, tr.textContent.replace(/\\s+/g, ' ').trim()]))`,
  );
  expect(Object.keys(platforms).sort()).toEqual(['debian', 'linux']);
  expect(platforms.linux).toContain('2 (0 waiting, 0 pending, 2 queued)');
  expect(platforms.linux).toContain('0 of 2');
  // A phone-width page scrolls its table, not the page.
  expect(
    await evalIn<boolean>(w.page, 'document.documentElement.scrollWidth <= window.innerWidth'),
  ).toBe(true);

  // The filter form, without script: platform debian.
  await w.page.select('select[name="platform"]', 'debian');
  await Promise.all([w.page.waitForNavigation(), w.page.click('form.filters button')]);
  expect(w.page.url()).toContain('platform=debian');
  expect((await rowsOf(w)).map((r) => r.id)).toEqual([
    idOf(second, 'debian'),
    idOf(first, 'debian'),
  ]);

  // The commit page: one row per platform; it follows them to their ends.
  h.cloud.tasks.resume();
  await open(w, `${h.cloud.url}/status/tests?repo=${encodeURIComponent(REPO)}&sha=${second}`);
  expect((await rowsOf(w)).map((r) => r.id).sort()).toEqual(
    [idOf(second, 'linux'), idOf(second, 'debian')].sort(),
  );
  await w.page.waitForFunction(`document.querySelector('main').dataset.live === 'false'`, {
    timeout: WAIT_MS,
    polling: 200,
  });
  const ended = await rowsOf(w);
  expect(ended.map((r) => r.status)).toEqual(['failed', 'failed']);
  for (const row of ended) expect(row.text).toContain('1 of 1 tests failed');
  const github = await evalIn<string>(w.page, `document.querySelector('a.github').href`);
  expect(github).toBe(`${h.cloud.url}/${REPO}/commit/${second}`);
  expectNothingWrong(w);
  await w.page.close();
});
