/**
 * A minimal Chromium launcher for the example-app browser tests, until the
 * shared test/helpers/browser.ts (explorer branch) lands; then swap this for it.
 * Launches Debian's /usr/bin/chromium headless through playwright-core (never
 * a downloaded browser) and records, per page, console errors and requests.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SCREENSHOTS = path.join(ROOT, 'test-results', 'example-app');

/** Whether Chromium is here; under CI=true its absence is a failure, not a skip. */
export function chromiumAvailable(): boolean {
  const ci = process.env.CI === 'true' || process.env.CI === '1';
  if (existsSync(CHROMIUM)) return true;
  if (ci) throw new Error(`Chromium is missing at ${CHROMIUM}: .ci/run installs the Debian package "chromium"`);
  console.warn(`\n*** SKIPPING the browser tests: no Chromium at ${CHROMIUM} (apt-get install chromium; CI=true makes this a failure)\n`);
  return false;
}

/** Launches headless Chromium with flags that keep it from calling home. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** What one page did: console errors, uncaught exceptions, and every request URL. */
export interface PageRecord {
  readonly errors: string[];
  readonly requests: string[];
}

/** Starts recording a page's console errors, page errors and requests. */
export function recordPage(page: Page): PageRecord {
  const record: PageRecord = { errors: [], requests: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') record.errors.push(message.text());
  });
  page.on('pageerror', (error) => record.errors.push(`pageerror: ${error.message}`));
  page.on('request', (request) => record.requests.push(request.url()));
  return record;
}

/** Saves a full-page screenshot under test-results/example-app/. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
