// The dashboard in a real headless Chromium, served by a running wrapped Express
// app (memory backend, development mode, loopback): a failed task's error, retry
// from the page and the task succeeding (seen through the live refresh), pausing a
// queue stops deliveries until it is resumed, attacker-controlled text stays text,
// a cross-site form post is refused, and a token-protected dashboard asks to sign in.
// Screenshots of the main pages go to a temporary directory (printed); with
// UPDATE_SCREENSHOTS=1 they also replace docs/images/dashboard-*.png.
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defer, register, wrapApp } from '../../../shim/index.js';
import { runtimeOperations } from '../../../shim/dashboard/runtime-operations.js';
import { configure, resetRuntime } from '../../../shim/runtime/runtime.js';
import { launchChromium, noBrowserReason } from '../../support/browser.js';
import { listen, type Listening } from '../../support/listen.js';

const BASE = '/_ah/deferred/dashboard';
const TOKEN = 'browser-test-dashboard-token';
const REPO_IMAGES = join(import.meta.dirname, '..', '..', '..', 'docs', 'images');

if (noBrowserReason) console.warn(`dashboard browser tests skipped: ${noBrowserReason}`);

let failing = true;
const ran: string[] = [];

export function buildReport(label: string): void {
  if (failing) throw new Error(`report ${label} failed: upstream returned 503`);
  ran.push(`report:${label}`);
}
register(buildReport);

export function sendMail(to: string): void {
  ran.push(`mail:${to}`);
}
register(sendMail);

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

async function until<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stateOf(name: string, queue = 'default'): Promise<string | undefined> {
  try {
    return (await runtimeOperations().getTask(name, queue)).state;
  } catch {
    return undefined;
  }
}

describe.skipIf(noBrowserReason !== undefined)('the dashboard in Chromium', () => {
  let browser: Browser;
  let page: Page;
  let app: Listening;
  let protectedApp: Listening;
  let base: string;
  const shots = mkdtempSync(join(tmpdir(), 'dm-dashboard-screenshots-'));

  async function screenshot(name: string): Promise<void> {
    const file = join(shots, `dashboard-${name}.png`);
    await page.screenshot({ path: file as `${string}.png`, fullPage: true });
    if (process.env.UPDATE_SCREENSHOTS === '1') {
      mkdirSync(REPO_IMAGES, { recursive: true });
      copyFileSync(file, join(REPO_IMAGES, `dashboard-${name}.png`));
    }
  }

  /** Follows a form submission (a POST answered with a redirect) to the page it lands on. */
  async function submit(selector: string): Promise<void> {
    await Promise.all([page.waitForNavigation(), page.click(selector)]);
  }

  beforeAll(async () => {
    configure({
      backend: 'memory',
      mode: 'development',
      logger: quiet,
      queues: {
        queue: [
          { name: 'default', rate: '20/s', bucket_size: 10, retry_parameters: { task_retry_limit: 5 } },
          { name: 'mail', rate: '10/s', max_concurrent_requests: 2 },
        ],
      },
    });
    const wrapped = wrapApp(express(), { useDeferred: true, dashboard: true });
    wrapped.get('/', (_req, res) => void res.send('the app'));
    app = await listen(wrapped as unknown as (req: IncomingMessage, res: ServerResponse) => void);
    base = `${app.baseUrl}${BASE}`;
    // A second app of the same process, serving only a token-protected dashboard.
    const guarded = wrapApp(express(), { useDeferred: true, deliver: false, dashboard: { token: TOKEN } });
    protectedApp = await listen(guarded as unknown as (req: IncomingMessage, res: ServerResponse) => void);
    browser = await launchChromium();
    page = await browser.newPage();
    await page.setViewport({ width: 1100, height: 480 });
    console.info(`dashboard screenshots: ${shots}`);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await protectedApp?.close();
    await resetRuntime();
  });

  it('shows a failed task\u2019s error; Retry runs it again and the page sees it succeed', async () => {
    failing = true;
    await defer(buildReport, 'weekly', { _name: 'weekly-report', _retry_options: { task_retry_limit: 0 } });
    await defer(sendMail, 'ops@example.com', { _queue: 'mail' });
    await until(async () => (await stateOf('weekly-report')) === 'failed', 'the task to fail');

    await page.goto(`${base}/`);
    expect(await page.$eval('h1', (h) => h.textContent)).toBe('Queues');
    expect(await page.$eval('.failed-count', (e) => e.textContent)).toBe('1');
    const limits = await page.$$eval('#queues-live tbody tr', (rows) => rows.map((row) => row.cells[row.cells.length - 2]!.textContent));
    expect(limits).toEqual(['20/s, bucket 10, task_retry_limit 5', '10/s, bucket 5, 2 concurrent']);
    await screenshot('queues');

    await page.click(`a[href="${BASE}/queues/default"]`);
    await page.waitForSelector('#state-filter');
    await page.select('#state-filter', 'failed');
    await Promise.all([page.waitForNavigation(), page.click('form.filters button')]);
    expect(page.url()).toContain('state=failed');
    await screenshot('queue');

    await Promise.all([page.waitForNavigation(), page.click(`a[href="${BASE}/queues/default/tasks/weekly-report"]`)]);
    expect(await page.$eval('#task-live .state', (e) => e.textContent)).toBe('Failed');
    expect(await page.$eval('.attempts pre', (e) => e.textContent)).toContain('report weekly failed: upstream returned 503');
    await screenshot('task');

    failing = false;
    await submit('form[action$="/weekly-report/retry"] button');
    expect(await page.$eval('.flash', (e) => e.textContent)).toBe('Task queued to run now.');
    await until(() => ran.includes('report:weekly'), 'the retried task to run');
    // No reload: the live refresh swaps the state in.
    await page.waitForFunction(() => document.querySelector('#task-live .state')?.textContent === 'Done', { timeout: 10_000 });
  });

  it('pausing a queue stops its deliveries until it is resumed', async () => {
    await until(() => ran.includes('mail:ops@example.com'), 'the first mail');
    await page.goto(`${base}/`);
    await submit('button[aria-label="Pause queue mail"]');
    expect(await page.$eval('.flash', (e) => e.textContent)).toMatch(/^Queue paused/);

    for (const to of ['a@example.com', 'b@example.com', 'c@example.com']) await defer(sendMail, to, { _queue: 'mail' });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(ran.filter((r) => r.startsWith('mail:') && r !== 'mail:ops@example.com')).toEqual([]);
    await page.waitForFunction(() => /Pending:\s*3\b/.test(document.querySelector('#queue-live')?.textContent ?? ''), { timeout: 10_000 });

    await submit('form[action$="/queues/mail/resume"] button');
    await until(() => ran.filter((r) => r.startsWith('mail:')).length === 4, 'the paused mails to be delivered');
  });

  it('shows task arguments and errors containing markup as text, running none of it', async () => {
    failing = true;
    const hostile = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
    await defer(buildReport, hostile, { _name: 'hostile', _retry_options: { task_retry_limit: 0 } });
    await until(async () => (await stateOf('hostile')) === 'failed', 'the hostile task to fail');
    await page.goto(`${base}/queues/default/tasks/hostile`);
    expect(await page.$eval('.args pre', (e) => e.textContent)).toBe(`'${hostile}'`);
    expect(await page.$eval('.attempts pre', (e) => e.textContent)).toContain(hostile);
    expect(await page.$$('main img, main script')).toHaveLength(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
  });

  it('refuses a form posted from another site', async () => {
    // An attacker page on another site (localhost vs 127.0.0.1) posting to the dashboard.
    const target = `${base}/queues/default/tasks/hostile/delete`;
    const attacker = createServer((_req, res) => {
      res.setHeader('Content-Type', 'text/html');
      res.end(`<form method="post" action="${target}"><input type="hidden" name="csrf" value="guess"><button id="win">Win a prize</button></form>`);
    });
    const evil = await listen(attacker);
    try {
      await page.goto(evil.baseUrl.replace('127.0.0.1', 'localhost'));
      const [response] = await Promise.all([page.waitForNavigation(), page.click('#win')]);
      expect(response?.status()).toBe(403);
      expect(await page.$eval('main p', (e) => e.textContent)).toMatch(/^Refused a cross-site request/);
      expect(await stateOf('hostile')).toBe('failed');
    } finally {
      await evil.close();
    }
  });

  it('asks for the token on a protected dashboard (401), then lets the signed-in user in', async () => {
    const response = await page.goto(`${protectedApp.baseUrl}${BASE}/`);
    expect(response?.status()).toBe(401);
    await page.type('#token', TOKEN);
    await submit('form[action$="/login"] button');
    expect(await page.$eval('h1', (h) => h.textContent)).toBe('Queues');
  });

  it('exposes landmarks and a name for every control to assistive technology', async () => {
    type AxNode = { role: string; name?: string; children?: AxNode[] };
    const flatten = (node: AxNode | null): AxNode[] => (node ? [node, ...(node.children ?? []).flatMap(flatten)] : []);
    for (const path of ['/', '/queues/default', '/queues/default/tasks/hostile']) {
      await page.goto(`${base}${path}`);
      const nodes = flatten((await page.accessibility.snapshot({ interestingOnly: true })) as AxNode | null);
      const roles = new Set(nodes.map((n) => n.role));
      for (const landmark of ['banner', 'navigation', 'main', 'heading']) expect(roles, `${path}: ${landmark}`).toContain(landmark);
      const unnamed = nodes.filter((n) => ['button', 'link', 'combobox', 'textbox', 'image'].includes(n.role) && !n.name?.trim());
      expect(unnamed, path).toEqual([]);
    }
  });

  it('works without JavaScript and by keyboard: purge, confirmed on a page of its own', async () => {
    await page.setJavaScriptEnabled(false);
    try {
      await page.goto(`${base}/queues/default`);
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
      expect(await page.$eval('#queue-live', (e) => e.textContent)).toMatch(/Failed:\s*1/);
      await page.focus(`a[href="${BASE}/queues/default/purge"]`);
      await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
      await screenshot('purge');
      await page.focus('.confirm button.danger');
      await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
      expect(await page.$eval('.flash', (e) => e.textContent)).toMatch(/^Queue purged: 1 task\(s\) deleted/);
      expect(await stateOf('hostile')).toBeUndefined();
    } finally {
      await page.setJavaScriptEnabled(true);
    }
  });
});
