// CloudTasksQueueOperations (the `queues` / `tasks` CLI's --backend cloud-tasks)
// against the test Cloud Tasks server through the real client, on tasks the shim
// enqueued with defer(): queue listing with counts, state and limits; pause,
// resume, purge; task listing, details with decoded arguments, RunTask as retry,
// delete; queue names through the shim's queuePrefix.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { wrapApp } from '../../shim/adapters/wrap-app.js';
import { defer } from '../../shim/api/defer.js';
import { register } from '../../shim/api/registry.js';
import { CloudTasksQueueOperations } from '../../shim/backends/cloud-tasks/operations.js';
import { TaskNotFoundError } from '../../shim/operations/types.js';
import { runOpsCli } from '../../cli/ops/command.js';
import { LOCATION, PROJECT, startWorld, type World } from './harness.js';

let failuresLeft = 0;
const ran: string[] = [];
function opsTask(label: string, _when: Date, _tags: Map<string, number>, _bytes: Uint8Array): void {
  if (failuresLeft > 0) {
    failuresLeft -= 1;
    throw new Error(`opsTask ${label} failed on purpose\nsecond line`);
  }
  ran.push(label);
}
register(opsTask, 'cloudOps.opsTask');

const when = new Date(Date.UTC(2025, 5, 1, 12));
const args = (label: string) => [label, when, new Map([['a', 1]]), new Uint8Array([1, 2, 3])] as const;

let world: World | undefined;
let ops: CloudTasksQueueOperations | undefined;
afterEach(async () => {
  await ops?.close();
  await world?.close();
  world = ops = undefined;
  failuresLeft = 0;
  ran.length = 0;
});

async function setUp(prefix = ''): Promise<{ world: World; ops: CloudTasksQueueOperations }> {
  const ids = ['default', 'mail'].map((q) => `${prefix}${q}`);
  world = await startWorld(() => wrapApp((_req: IncomingMessage, res: ServerResponse) => void res.writeHead(404).end(), { useDeferred: true }), {
    target: 'appengine',
    queues: { [ids[0]!]: { maxAttempts: 4, minBackoffMs: 10_000, maxConcurrentDispatches: 3 }, [ids[1]!]: {} },
    backend: prefix ? { queuePrefix: prefix } : {},
  });
  ops = new CloudTasksQueueOperations(
    { project: PROJECT, location: LOCATION, apiEndpoint: '127.0.0.1', port: world.server.port, insecure: true, ...(prefix ? { queuePrefix: prefix } : {}) },
    { env: {}, clock: world.server.clock },
  );
  return { world, ops };
}

describe('queues', () => {
  it('lists each queue with counts by state, the oldest due task, paused or not, and its limits', async () => {
    const { world, ops } = await setUp();
    await defer(opsTask, ...args('now'));
    await defer(opsTask, ...args('later'), { _countdown: 3600 });
    await defer(opsTask, ...args('mail'), { _queue: 'mail' });
    failuresLeft = 1;
    await world.advance(0); // 'now' fails once (retry), 'mail' runs
    world.server.clock.advance(2000);
    await ops.pauseQueue('mail');
    const queues = await ops.listQueues();
    expect(queues.map((q) => q.name)).toEqual(['default', 'mail']);
    const [byDefault, mail] = queues as [(typeof queues)[0], (typeof queues)[0]];
    expect(byDefault.counts).toEqual({ pending: 1, leased: 0, retry: 1, done: 0, failed: 0 });
    expect(byDefault.paused).toBe(false);
    expect(byDefault.limits).toMatchObject({ ratePerSecond: 500, maxConcurrentRequests: 3, retry: { task_retry_limit: 3, min_backoff_seconds: 10 } });
    expect(byDefault.oldestDueAgeMs).toBeUndefined(); // the retry is due in 10 s, 'later' in an hour
    expect(mail).toMatchObject({ paused: true, defined: true, counts: { pending: 0, retry: 0 } });
    await ops.resumeQueue('mail');
    expect((await ops.listQueues())[1]!.paused).toBe(false);
    world.server.clock.advance(9000);
    expect((await ops.listQueues())[0]!.oldestDueAgeMs).toBe(1000);
  });

  it('purge removes every task and says how many; an unknown queue is a clear error', async () => {
    const { ops } = await setUp();
    await defer(opsTask, ...args('a'), { _countdown: 60 });
    await defer(opsTask, ...args('b'), { _countdown: 60 });
    expect(await ops.purgeQueue('default')).toBe(2);
    expect((await ops.listTasks()).tasks).toEqual([]);
    await expect(ops.pauseQueue('nope')).rejects.toThrow(/Cloud Tasks has no queue "nope"/);
  });

  it('uses the shim\'s queue names through queuePrefix', async () => {
    const { world, ops } = await setUp('app-');
    await defer(opsTask, ...args('x'), { _queue: 'mail', _name: 'named-one' });
    expect((await ops.listQueues()).map((q) => q.name)).toEqual(['default', 'mail']);
    expect(world.server.queued('app-mail')).toHaveLength(1);
    expect(await ops.getTask('named-one', 'mail')).toMatchObject({ name: 'named-one', queue: 'mail' });
  });
});

describe('tasks', () => {
  it('lists tasks with function, eta, attempts and last error; filters by state; pages across queues', async () => {
    const { world, ops } = await setUp();
    const first = await defer(opsTask, ...args('one'));
    await defer(opsTask, ...args('two'), { _countdown: 60 });
    await defer(opsTask, ...args('three'), { _queue: 'mail', _countdown: 60 });
    failuresLeft = 1;
    await world.advance(0);
    const all = await ops.listTasks();
    expect(all.tasks).toHaveLength(3);
    const failed = all.tasks.find((t) => t.name === first.name)!;
    expect(failed).toMatchObject({ queue: 'default', state: 'retry', function: 'cloudOps.opsTask', attempts: 1, lastStatus: 500 });
    expect((await ops.listTasks({ state: 'retry' })).tasks.map((t) => t.name)).toEqual([first.name]);
    expect((await ops.listTasks({ state: 'pending', queue: 'mail' })).tasks).toHaveLength(1);
    expect((await ops.listTasks({ state: 'failed' })).tasks).toEqual([]);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await ops.listTasks({ limit: 1, ...(cursor ? { cursor } : {}) });
      expect(page.tasks.length).toBeLessThanOrEqual(1);
      seen.push(...page.tasks.map((t) => `${t.queue}/${t.name}`));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual(all.tasks.map((t) => `${t.queue}/${t.name}`).sort());
  });

  it('shows a task with its arguments decoded by the shim\'s codec and its attempts', async () => {
    const { world, ops } = await setUp();
    const task = await defer(opsTask, ...args('show'));
    failuresLeft = 1;
    await world.advance(0);
    const details = await ops.getTask(task.name);
    expect(details).toMatchObject({ name: task.name, queue: 'default', url: '/_ah/queue/deferred', function: 'cloudOps.opsTask', attempts: 1 });
    const [label, date, map, bytes] = details.args as [string, Date, Map<string, number>, Uint8Array];
    expect(label).toBe('show');
    expect(date).toBeInstanceOf(Date);
    expect(date.getTime()).toBe(when.getTime());
    expect(map).toBeInstanceOf(Map);
    expect([...map]).toEqual([['a', 1]]);
    expect([...bytes]).toEqual([1, 2, 3]);
    expect(details.attemptLog).toEqual([expect.objectContaining({ number: 1, status: 500 })]);
  });

  it('retry is RunTask: the task runs now, even in a paused queue; delete removes one; unknown names are TaskNotFoundError', async () => {
    const { world, ops } = await setUp();
    const task = await defer(opsTask, ...args('rerun'), { _countdown: 3600 });
    await ops.pauseQueue('default');
    await ops.retryTask(task.name);
    await world.server.settled();
    expect(ran).toEqual(['rerun']);
    await expect(ops.getTask(task.name)).rejects.toBeInstanceOf(TaskNotFoundError);
    const doomed = await defer(opsTask, ...args('doomed'), { _queue: 'mail', _countdown: 60 });
    await ops.deleteTask(doomed.name, 'mail');
    expect(world.server.queued('mail')).toEqual([]);
    await expect(ops.deleteTask('no-such-task')).rejects.toBeInstanceOf(TaskNotFoundError);
    await expect(ops.retryTask('no-such-task', 'mail')).rejects.toThrow(/no task named "no-such-task" in queue "mail"/);
    expect(await ops.retryAllFailed()).toBe(0);
    expect(await ops.throughput()).toEqual([]);
  });
});

it('needs a project and a location, named with their variables', () => {
  expect(() => new CloudTasksQueueOperations({}, { env: {} })).toThrow(
    'The Cloud Tasks operations need project (DEFERRED_CLOUD_TASKS_PROJECT or GOOGLE_CLOUD_PROJECT) and location (DEFERRED_CLOUD_TASKS_LOCATION).',
  );
  expect(new CloudTasksQueueOperations({}, { env: { GOOGLE_CLOUD_PROJECT: 'p', DEFERRED_CLOUD_TASKS_LOCATION: 'l' } }).config).toMatchObject({ project: 'p', location: 'l' });
});

describe('the queues / tasks CLI with --backend cloud-tasks', () => {
  async function cli(args: string[], env: Record<string, string>) {
    let stdout = '';
    let stderr = '';
    const code = await runOpsCli(
      args,
      {
        cwd: process.cwd(),
        env,
        stdout: { write: (t: string) => (stdout += t) },
        stderr: { write: (t: string) => (stderr += t) },
        stdinIsTTY: false,
        confirm: async () => false,
      },
      '0.0.0-test',
    );
    return { code, stdout, stderr };
  }

  it('lists, shows, retries, pauses, purges and deletes through the admin API; exit codes for missing things', async () => {
    const { world } = await setUp();
    const env = {
      DEFERRED_CLOUD_TASKS_PROJECT: PROJECT,
      DEFERRED_CLOUD_TASKS_LOCATION: LOCATION,
      DEFERRED_CLOUD_TASKS_ENDPOINT: `127.0.0.1:${world.server.port}`,
      DEFERRED_CLOUD_TASKS_INSECURE: '1',
    };
    const task = await defer(opsTask, ...args('cli'), { _countdown: 3600 });
    await defer(opsTask, ...args('other'), { _queue: 'mail', _countdown: 3600 });

    const queues = await cli(['queues', 'ls', '--backend', 'cloud-tasks', '--json'], env);
    expect(queues.code).toBe(0);
    expect(JSON.parse(queues.stdout).map((q: { name: string; counts: { pending: number } }) => [q.name, q.counts.pending])).toEqual([['default', 1], ['mail', 1]]);

    const listed = await cli(['tasks', 'ls', '--json'], { ...env, DEFERRED_BACKEND: 'cloud-tasks' });
    expect(JSON.parse(listed.stdout).tasks.map((t: { function: string }) => t.function)).toEqual(['cloudOps.opsTask', 'cloudOps.opsTask']);

    const shown = await cli(['tasks', 'show', task.name, '--backend', 'cloud-tasks'], env);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('cloudOps.opsTask');

    expect((await cli(['queues', 'pause', 'mail', '--backend', 'cloud-tasks'], env)).code).toBe(0);
    expect(world.server.queues.stored('mail')!.state).toBe('PAUSED');
    expect((await cli(['queues', 'resume', 'mail', '--backend', 'cloud-tasks'], env)).code).toBe(0);
    expect(world.server.queues.stored('mail')!.state).toBe('RUNNING');

    expect((await cli(['tasks', 'retry', task.name, '--backend', 'cloud-tasks'], env)).code).toBe(0);
    await world.server.settled();
    expect(ran).toEqual(['cli']);

    const purged = await cli(['queues', 'purge', 'mail', '--yes', '--backend', 'cloud-tasks', '--json'], env);
    expect(JSON.parse(purged.stdout)).toEqual({ queue: 'mail', purged: 1 });

    const missing = await cli(['tasks', 'delete', 'gone', '--backend', 'cloud-tasks'], env);
    expect(missing.code).toBe(5);
    expect(missing.stderr).toContain('no task named "gone"');
    const noQueue = await cli(['queues', 'pause', 'nope', '--backend', 'cloud-tasks'], env);
    expect(noQueue.code).toBe(5);
    expect(noQueue.stderr).toContain('Cloud Tasks has no queue "nope"');
    const unconfigured = await cli(['queues', 'ls', '--backend', 'cloud-tasks'], {});
    expect(unconfigured.code).toBe(5);
    expect(unconfigured.stderr).toContain('need project (DEFERRED_CLOUD_TASKS_PROJECT or GOOGLE_CLOUD_PROJECT) and location (DEFERRED_CLOUD_TASKS_LOCATION)');
    const port = world.server.port;
    await world.server.close();
    const unreachable = await cli(['queues', 'ls', '--backend', 'cloud-tasks'], { ...env, DEFERRED_CLOUD_TASKS_ENDPOINT: `127.0.0.1:${port}`, DEFERRED_CLOUD_TASKS_TIMEOUT_MS: '1000' });
    expect(unreachable.code).toBe(7);
    expect(unreachable.stderr).toContain('refused or did not answer');
  });
});
