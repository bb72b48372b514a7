// `deferred-migrate dashboard`: its flags, the standalone server (loopback,
// redirect to the dashboard's path, token rule for other hosts), and the built
// bin serving a real queue file until SIGTERM.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDashboardArgs, startDashboardServer } from '../../cli/dashboard.js';
import { UsageError } from '../../cli/exit-codes.js';
import { defer, register } from '../../shim/index.js';
import { configure, resetRuntime } from '../../shim/runtime/runtime.js';
import { REPO_ROOT } from '../e2e/support/workspace.js';
import { FakeOperations } from '../shim/dashboard/fake-operations.js';

const CLI = join(REPO_ROOT, 'dist/esm/cli/index.js');

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

export function notifyTeam(channel: string, message: { text: string; at: Date }): void {
  void channel;
  void message;
}
register(notifyTeam);

describe('the built bin', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'dm-dashboard-cli-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('serves the dashboard of an embedded queue file until SIGTERM', async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does it first)`);
    // A queue file with two tasks waiting (no app attached, so nothing delivers them).
    configure({ backend: 'embedded', dataDir, logger: { debug() {}, info() {}, warn() {}, error() {} } });
    await defer(notifyTeam, '#ops', { text: 'deploy <b>done</b>', at: new Date(Date.UTC(2026, 10, 30)) }, { _name: 'notify-1', _countdown: 3600 });
    await defer(notifyTeam, '#ops', { text: 'second', at: new Date(0) }, { _countdown: 3600 });
    await resetRuntime();

    const child = spawn(process.execPath, [CLI, 'dashboard', '--port', '0', '--data-dir', dataDir], { env: { ...process.env, DEFERRED_QUEUES: '' } });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /(http:\/\/127\.0\.0\.1:\d+\/_ah\/deferred\/dashboard\/)/.exec(stdout);
        if (match) resolve(match[1]!);
      });
      void exited.then((code) => reject(new Error(`the dashboard exited (${code}) before listening: ${stderr}`)));
    });
    try {
      const queues = await (await fetch(url)).text();
      expect(queues).toMatch(/<a href="\/_ah\/deferred\/dashboard\/queues\/default">default<\/a><\/th>\n<td><span class="state state-active">Active<\/span><\/td>\n<td class="num">2<\/td>/);
      const task = await (await fetch(`${url}queues/default/tasks/notify-1`)).text();
      expect(task).toContain('<code>notifyTeam</code>');
      expect(task).toContain('deploy &lt;b&gt;done&lt;/b&gt;');
      expect(task).toContain('2026-11-30T00:00:00.000Z');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
  });

  it('exits 5 when there is no queue file at --data-dir', async () => {
    const child = spawn(process.execPath, [CLI, 'dashboard', '--port', '0', '--data-dir', join(dataDir, 'absent')]);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(5);
    expect(stderr).toMatch(/no embedded queue at .*absent/);
  });
});
