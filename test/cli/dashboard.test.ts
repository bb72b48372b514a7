// `deferred-migrate dashboard`: its flags, and the standalone server (loopback,
// redirect to the dashboard's path, token rule for other hosts).
import { describe, expect, it } from 'vitest';
import { parseDashboardArgs, startDashboardServer } from '../../cli/dashboard.js';
import { UsageError } from '../../cli/exit-codes.js';
import { FakeOperations } from '../shim/dashboard/fake-operations.js';

const TOKEN = 'cli-dashboard-token-123';

describe('deferred-migrate dashboard flags', () => {
  it('defaults: loopback, port 8089, the data dir from DEFERRED_DATA_DIR or .deferred', async () => {
    expect(await parseDashboardArgs([], {}, '/srv/app', '1.0.0')).toEqual({ port: 8089, host: '127.0.0.1', dataDir: '/srv/app/.deferred' });
    expect(await parseDashboardArgs(['--port', '0', '--data-dir', 'q'], { DEFERRED_DATA_DIR: '/x' }, '/srv/app', '1.0.0')).toMatchObject({ port: 0, dataDir: '/srv/app/q' });
    expect(await parseDashboardArgs([], { DEFERRED_DATA_DIR: '/x' }, '/srv/app', '1.0.0')).toMatchObject({ dataDir: '/x' });
  });

  it('refuses a non-loopback host without DEFERRED_DASHBOARD_TOKEN, bad ports and unknown flags', async () => {
    await expect(parseDashboardArgs(['--host', '0.0.0.0'], {}, '/', '1')).rejects.toThrow(/DEFERRED_DASHBOARD_TOKEN/);
    await expect(parseDashboardArgs(['--host', '0.0.0.0'], { DEFERRED_DASHBOARD_TOKEN: 'short' }, '/', '1')).rejects.toThrow(/at least 16/);
    expect(await parseDashboardArgs(['--host', '0.0.0.0'], { DEFERRED_DASHBOARD_TOKEN: TOKEN }, '/', '1')).toMatchObject({ host: '0.0.0.0', token: TOKEN });
    await expect(parseDashboardArgs(['--port', '70000'], {}, '/', '1')).rejects.toBeInstanceOf(UsageError);
    await expect(parseDashboardArgs(['--nope'], {}, '/', '1')).rejects.toBeInstanceOf(UsageError);
  });

  it('documents every flag in --help', async () => {
    const outcome = await parseDashboardArgs(['--help'], {}, '/', '1');
    expect('print' in outcome && outcome.print).toMatch(/--port[\s\S]*--host[\s\S]*--data-dir/);
  });
});

describe('the standalone dashboard server', () => {
  it('serves the dashboard on loopback, redirects / to it, and closes the operations on close', async () => {
    const ops = new FakeOperations(['default']);
    let closed = false;
    ops.close = async () => void (closed = true);
    const running = await startDashboardServer({ port: 0, host: '127.0.0.1', dataDir: '/unused' }, () => ops);
    try {
      expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/_ah\/deferred\/dashboard\/$/);
      const page = await fetch(running.url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<h1>Queues</h1>');
      const root = await fetch(new URL('/', running.url), { redirect: 'manual' });
      expect([root.status, root.headers.get('location')]).toEqual([302, '/_ah/deferred/dashboard/']);
    } finally {
      await running.close();
    }
    expect(closed).toBe(true);
  });

  it('with a token, asks loopback clients for it too', async () => {
    const running = await startDashboardServer({ port: 0, host: '127.0.0.1', dataDir: '/unused', token: TOKEN }, () => new FakeOperations());
    try {
      expect((await fetch(running.url)).status).toBe(401);
      expect((await fetch(running.url, { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    } finally {
      await running.close();
    }
  });
});
