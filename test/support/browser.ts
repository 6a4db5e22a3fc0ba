import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium; playwright-core never downloads a browser. */
export const CHROMIUM_PATH = process.env.BTFWATCH_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Screenshots land here (gitignored; CI keeps them as artifacts). */
export const SCREENSHOT_DIR = new URL('../../test-output/screenshots/', import.meta.url).pathname;

/** A laptop screen. */
export const LAPTOP = { width: 1366, height: 768 };

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

/** Listens on a free loopback port; returns the base URL (no trailing slash). */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Uncaught exceptions, console errors (CSP violations among them) other than failed HTTP statuses. */
  errors: string[];
  /** Responses with status >= 400, as "STATUS URL". */
  failedResponses: string[];
  /** Requests to anything but the service under test (the dashboard must work offline); they are aborted. */
  offOrigin: string[];
  close(): Promise<void>;
}

/** A fresh browser context (own sessionStorage) that records what went wrong while the page ran. */
export async function openPage(browser: Browser, baseUrl: string, viewport = LAPTOP): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport, serviceWorkers: 'block' });
  const errors: string[] = [];
  const failedResponses: string[] = [];
  const offOrigin: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(`${baseUrl}/`) || url === baseUrl) return route.continue();
    offOrigin.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource'))
      errors.push(`console: ${msg.text()}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400) failedResponses.push(`${res.status()} ${res.url()}`);
  });
  return { page, context, errors, failedResponses, offOrigin, close: () => context.close() };
}

export async function screenshot(page: Page, name: string, fullPage = false): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage });
  return path;
}
