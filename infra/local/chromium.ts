// Headless Chromium for the status pages' browser tests and screenshots:
// Debian's /usr/bin/chromium (apt-get install chromium) driven by
// puppeteer-core, which never downloads a browser. Missing, it is an error
// that says how to install it.
import { existsSync } from 'node:fs';
import puppeteer, { type Browser } from 'puppeteer-core';

export const CHROMIUM = '/usr/bin/chromium';

export const missingChromium = (path: string): string =>
  `Chromium is missing at ${path}: the status pages' browser tests and screenshots need it ` +
  '(apt-get install -y chromium; .ci/run installs it).';

export async function launchChromium(
  options: { executablePath?: string; timeoutMs?: number } = {},
): Promise<Browser> {
  const executablePath = options.executablePath ?? CHROMIUM;
  if (!existsSync(executablePath)) throw new Error(missingChromium(executablePath));
  return puppeteer.launch({
    executablePath,
    headless: true,
    // CI runs as root, where Chromium's sandbox refuses to start.
    args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage'],
    protocolTimeout: options.timeoutMs ?? 90_000,
  });
}
