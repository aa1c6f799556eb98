// Headless Chromium for the status pages' browser tests: Debian's
// /usr/bin/chromium driven by puppeteer-core (no browser download). A machine
// without it fails these tests with a line that says how to install it: they
// never skip. One browser per file, launched before its tests, closed after.
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { launchChromium, missingChromium, CHROMIUM } from '../../infra/local/chromium';
import type { VmciConfig } from '../../shared/config';
import type { TestRecord } from '../../shared/domain/test';
import { useWebhookCloud, type WebhookCloud } from '../functions/webhook-support';
import { useSuiteRepo, type SuiteRepo } from '../support/suite-repo';

const ROOT = join(__dirname, '..', '..');
/** Generous: CI is a busy 2-core machine. */
export const WAIT_MS = 90_000;

export const MISSING_CHROMIUM = missingChromium(CHROMIUM);

export const launchBrowser = () => launchChromium({ timeoutMs: WAIT_MS });

/** The file's browser: launched in beforeAll, closed in afterAll. */
export function useBrowser(): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchBrowser();
  }, WAIT_MS);
  afterAll(async () => {
    await browser?.close();
  });
  return () => {
    if (!browser) throw new Error(MISSING_CHROMIUM);
    return browser;
  };
}

/** What a page did that it should not: dialogs, uncaught errors, console errors (CSP refusals among them). */
export interface Watched {
  page: Page;
  dialogs: string[];
  errors: string[];
  consoleErrors: string[];
  /** Main-frame navigations (a reload counts). */
  navigations: number;
}

export async function watchedPage(browser: Browser, width = 1000): Promise<Watched> {
  const page = await browser.newPage();
  await page.setViewport({ width, height: 900 });
  page.setDefaultTimeout(WAIT_MS);
  const watched: Watched = { page, dialogs: [], errors: [], consoleErrors: [], navigations: 0 };
  page.on('dialog', (dialog) => {
    watched.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  page.on('pageerror', (error) => watched.errors.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') watched.consoleErrors.push(message.text());
  });
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) watched.navigations += 1;
  });
  return watched;
}

/** An expression evaluated in the page (the tests' TypeScript has no DOM types). */
export function evalIn<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate(expression) as Promise<T>;
}

/** Opens `url` as a browser would (Accept prefers text/html) and checks that it is a page. */
export async function open(watched: Watched, url: string): Promise<void> {
  const res = await watched.page.goto(url, { waitUntil: 'load' });
  expect(res?.status()).toBe(200);
  expect(res?.headers()['content-type']).toBe('text/html; charset=utf-8');
}

export const LINUX_ONLY_CONFIG = join(ROOT, 'config/vmci.local.yaml');

/**
 * A local cloud whose VMs run the real Linux startup script against a local
 * repository, on two platforms (linux and debian, the same VM), with the
 * queue paused until a test resumes it.
 */
export function pageCloud(): { h: WebhookCloud; repo: SuiteRepo } {
  const repo = useSuiteRepo('vmci-browser-repo-');
  const h = useWebhookCloud({
    configPath: LINUX_ONLY_CONFIG,
    configure: (config: VmciConfig): VmciConfig => {
      const linux = { ...config.platforms.linux!, maxRunMinutes: 120 };
      return {
        ...config,
        cloneUrls: { [config.repositories[0]!]: repo.dir },
        platforms: { linux, debian: linux },
      };
    },
    functions: ['webhook', 'runTest', 'progress', 'status'],
    queue: 'paused',
    bootVms: true,
    vmEnv: { VMCI_REPORT_DELAY_SECONDS: '0.1' },
  });
  return { h, repo };
}

/** Polls the store until `done` holds for test `id`. */
export async function waitForTest(
  h: WebhookCloud,
  id: string,
  done: (test: TestRecord) => boolean,
): Promise<TestRecord> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const test = await h.store.getTest(id);
    if (test && done(test)) return test;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for test ${id}: ${JSON.stringify(test?.timeline)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** summary.json with these counts and summary (JSON-escaped), as a suite leaves it. */
export function summaryJson(passed: number, failed: number, summary = ''): string {
  const body = JSON.stringify({ passed, failed, summary });
  return `printf '%s' '${body.replace(/'/g, `'\\''`)}' > "$VMCI_RESULTS_DIR/summary.json"`;
}
