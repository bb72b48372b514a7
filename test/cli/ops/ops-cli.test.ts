// `deferred-migrate queues|tasks` (the built CLI, as a child process) against the
// queue file of a running app (another child process): failed tasks retried to
// success, pause stopping deliveries until resume, purge confirmation, JSON output,
// exit codes.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpsApp, type OpsApp } from './app-process.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = path.join(ROOT, 'dist/esm/cli/index.js');

let dataDir: string;
let app: OpsApp;

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...env };
    delete childEnv.FORCE_COLOR;
    delete childEnv.DEFERRED_DATA_DIR;
    const dirArgs = args.includes('--data-dir') ? [] : ['--data-dir', dataDir];
    execFile(process.execPath, [CLI, ...args, ...dirArgs], { cwd: ROOT, encoding: 'utf8', env: childEnv }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

async function json<T>(args: string[]): Promise<T> {
  const result = await cli([...args, '--json']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as T;
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\``);
  dataDir = mkdtempSync(path.join(tmpdir(), 'ops-cli-'));
  app = await startOpsApp(dataDir);
});

afterAll(async () => {
  await app?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('deferred-migrate tasks / queues on a running app', () => {
  it('shows a failed task with its decoded arguments and attempts, and `tasks retry` runs it to success', async () => {
    writeFileSync(path.join(dataDir, 'fail-switch'), '');
    app.send('flaky f1');
    await app.waitFor('enqueued f1');
    // task_retry_limit: 1 in the app's queue.yaml: two attempts, then failed.
    await app.waitFor(/^attempt-failed f1$/);
    await waitUntil(async () => (await json<{ tasks: Array<{ name: string }> }>(['tasks', 'ls', '--state', 'failed'])).tasks.length === 1);
    expect(app.lines.filter((l) => l === 'attempt-failed f1')).toHaveLength(2);

    const listed = await cli(['tasks', 'ls', '--state', 'failed']);
    expect(listed.code).toBe(0);
    const [header, row] = listed.stdout.trim().split('\n');
    expect(header).toMatch(/^NAME\s+QUEUE\s+STATE\s+FUNCTION\s+ETA\s+ATTEMPTS\s+LAST ERROR$/);
    expect(row).toMatch(/^f1\s+work\s+failed\s+flaky\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+2\s+TypeError: the fail switch is on/);

    const shown = await cli(['tasks', 'show', 'f1']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('Argument 1  2026-11-30T12:00:00.000Z');
    expect(shown.stdout).toContain("Argument 2  Map(1) { 'priority' => 1 }");
    expect(shown.stdout).toContain('Argument 3  <Buffer 01 02 03>');
    expect(shown.stdout).toMatch(/Attempts\s+2 \(last status 500\)/);
    expect(shown.stdout).toMatch(/#1 .* HTTP 500 {2}TypeError: the fail switch is on/);
    expect(shown.stdout).toMatch(/#2 .* HTTP 500 {2}TypeError/);
    expect(shown.stdout).toMatch(/\n {6}at flaky /);

    const detail = await json<{ state: string; args: unknown[]; attemptLog: Array<{ error: { stack: string } }> }>(['tasks', 'show', 'f1']);
    expect(detail.state).toBe('failed');
    expect(detail.args).toEqual([{ $t: 'date', v: Date.UTC(2026, 10, 30, 12) }, { $t: 'map', v: [['priority', 1]] }, { $t: 'bytes', v: 'AQID' }]);
    expect(detail.attemptLog[0]!.error.stack).toMatch(/^TypeError: the fail switch is on/);

    unlinkSync(path.join(dataDir, 'fail-switch'));
    const retried = await cli(['tasks', 'retry', 'f1']);
    expect([retried.code, retried.stdout.trim()]).toEqual([0, 'Task f1 is due now; the app runs it within a second.']);
    await app.waitFor('ran flaky f1');
    await waitUntil(async () => (await json<{ state: string }>(['tasks', 'show', 'f1'])).state === 'done');
    expect(await json<{ state: string; attempts: number }>(['tasks', 'show', 'f1'])).toMatchObject({ state: 'done', attempts: 3 });
  });

  it('`queues pause` stops deliveries until `queues resume`', async () => {
    expect((await cli(['queues', 'pause', 'held'])).code).toBe(0);
    app.send('count c1 held');
    app.send('count c2 work');
    await app.waitFor('enqueued c1');
    // The other queue goes on; a task of the paused one waits (the app polls the file every second).
    await app.waitFor('ran count c2');
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(app.lines).not.toContain('ran count c1');
    const queues = await json<Array<{ name: string; paused: boolean; counts: Record<string, number>; limits: Record<string, unknown> }>>(['queues', 'ls']);
    expect(queues.find((q) => q.name === 'held')).toMatchObject({ paused: true, counts: { pending: 1 } });
    const table = await cli(['queues', 'ls']);
    expect(table.stdout).toMatch(/^QUEUE\s+STATE\s+PENDING\s+LEASED\s+RETRY\s+FAILED\s+DONE\s+OLDEST DUE\s+LIMITS\n/);
    expect(table.stdout).toMatch(/\nheld\s+paused\s+1\s+0\s+0\s+0\s+0\s+\d+s\s+none \(not in queue\.yaml\)\n/);
    expect((await cli(['queues', 'resume', 'held'])).code).toBe(0);
    await app.waitFor('ran count c1');
  });

  it('`queues purge` asks first: refused with no terminal and no --yes, done with --yes', async () => {
    await cli(['queues', 'pause', 'held']);
    app.send('count p1 held');
    app.send('count p2 held');
    await app.waitFor('enqueued p2');
    const refused = await cli(['queues', 'purge', 'held']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/pass --yes to confirm \(stdin is not a terminal to ask on\)/);
    expect((await json<Array<{ name: string; counts: { pending: number } }>>(['queues', 'ls'])).find((q) => q.name === 'held')!.counts.pending).toBe(2);
    expect(await json<{ purged: number }>(['queues', 'purge', 'held', '--yes'])).toEqual({ queue: 'held', purged: 2 });
    await cli(['queues', 'resume', 'held']);
  });

  it('deletes a task, retries every failed task, and answers with the documented exit codes', async () => {
    writeFileSync(path.join(dataDir, 'fail-switch'), '');
    app.send('flaky g1');
    app.send('flaky g2');
    await waitUntil(async () => (await json<{ tasks: unknown[] }>(['tasks', 'ls', '--state', 'failed', '--queue', 'work'])).tasks.length === 2);
    expect((await cli(['tasks', 'delete', 'g2'])).code).toBe(0);
    expect((await cli(['tasks', 'show', 'g2'])).code).toBe(5);
    unlinkSync(path.join(dataDir, 'fail-switch'));
    expect(await json<{ retried: number }>(['tasks', 'retry', '--all-failed'])).toEqual({ retried: 1 });
    await app.waitFor('ran flaky g1');

    const missing = await cli(['tasks', 'show', 'nope']);
    expect([missing.code, missing.stderr.trim()]).toEqual([5, 'deferred-migrate: no task named "nope"']);
    expect((await cli(['tasks', 'retry'])).code).toBe(2);
    expect((await cli(['tasks', 'ls', '--state', 'sleeping'])).code).toBe(2);
    expect((await cli(['tasks', 'ls', '--limit', '0'])).code).toBe(2);
    const wrongDir = await cli(['queues', 'ls', '--data-dir', path.join(dataDir, 'nowhere')]);
    expect(wrongDir.code).toBe(5);
    expect(wrongDir.stderr).toMatch(/no embedded queue at .*nowhere.*queue\.sqlite/);
    expect(existsSync(path.join(dataDir, 'nowhere'))).toBe(false);
    const help = await cli(['tasks', 'ls', '--help']);
    for (const flag of ['--queue', '--state', '--limit', '--json', '--data-dir', '--backend', '--queue-yaml', '--color']) expect(help.stdout).toContain(flag);
  });
});

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
