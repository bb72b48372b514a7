// `defer(); process.exit()`: the legacy defer() stored the task before returning; the
// shim's enqueue completes later, and nothing runs after 'exit' but its listeners.
// Real `node` child processes on the built shim (dist/, which npm test builds): the
// embedded queue keeps the task (a second process opening the same data directory sees
// it), and the Cloud Tasks backend, which cannot finish a gRPC call synchronously, logs
// each task it loses at error level. See shim/runtime/exit-guard.ts.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SteppingClock } from '../../cloud-tasks/server/clock.js';
import { CloudTasksTestServer } from '../../cloud-tasks/server/cloud-tasks-server.js';

const CHILD = fileURLToPath(new URL('./fixtures/exit-child.mjs', import.meta.url));

interface Line {
  level?: string;
  message?: string;
  fields?: Record<string, unknown>;
  ran?: number;
  tasks?: Array<{ name: string; queue: string; function: string; state: string }>;
}

function child(scenario: string, where: string): Promise<{ code: number | null; lines: Line[]; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CHILD, scenario, where], { timeout: 60_000 }, (error, stdout, stderr) => {
      const lines = stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Line);
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, lines, stderr });
    });
  });
}

const errors = (lines: Line[]) => lines.filter((line) => line.level === 'error');

async function stored(dir: string) {
  const read = await child('read', dir);
  expect(read.code).toBe(0);
  return read.lines.find((line) => line.tasks)!.tasks!.map((task) => [task.function, task.name.startsWith('task') ? 'generated' : task.name, task.state]);
}

describe('process.exit() right after an unawaited defer()', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'deferred-exit-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('keeps the tasks in the embedded queue (ESM build), for the next process to see', async () => {
    const dir = dataDir();
    const run = await child('exit', dir);
    expect(run.code).toBe(0);
    expect(errors(run.lines)).toEqual([]);
    expect(await stored(dir)).toEqual([
      ['work', 'generated', 'pending'],
      ['work', 'named-2', 'pending'],
    ]);
    // The same name again: the insert fails at exit, and the failure is logged there (not silent).
    const again = await child('duplicate', dir);
    expect(again.code).toBe(0);
    expect(errors(again.lines)).toEqual([
      {
        level: 'error',
        message: 'deferring a task failed: the task was not enqueued',
        fields: { function: 'work', queue: 'default', task: 'named-2', backend: 'embedded', error: 'TaskAlreadyExistsError' },
      },
    ]);
    expect(await stored(dir)).toHaveLength(2);
  }, 120_000);

  it('keeps them through the CommonJS build, from a timer, on an uncaught exception, and from a later exit listener', async () => {
    const cjs = dataDir();
    expect((await child('cjs-exit', cjs)).code).toBe(0);
    expect(await stored(cjs)).toEqual([
      ['work', 'generated', 'pending'],
      ['work', 'named-2', 'pending'],
    ]);
    const timer = dataDir();
    expect(errors((await child('exit-in-timer', timer)).lines)).toEqual([]);
    expect(await stored(timer)).toEqual([['work', 'generated', 'pending']]);
    const uncaught = dataDir();
    const crashed = await child('uncaught', uncaught);
    expect(crashed.code).toBe(1);
    expect(crashed.stderr).toContain('crash after defer');
    expect(await stored(uncaught)).toEqual([['work', 'generated', 'pending']]);
    const listener = dataDir();
    expect(errors((await child('exit-listener', listener)).lines)).toEqual([]);
    expect(await stored(listener)).toEqual([
      ['work', 'generated', 'pending'],
      ['work', 'from-exit-listener', 'pending'],
    ]);
  }, 120_000);

  it('keeps a task committed just before the exit without logging it, and the tasks of a backend replaced by configure()', async () => {
    const dir = dataDir();
    const run = await child('after-commit', dir);
    expect(errors(run.lines)).toEqual([]);
    expect(await stored(dir)).toEqual([['work', 'generated', 'pending']]);
    const first = dataDir();
    dirs.push(`${first}-second`);
    const switched = await child('reconfigure', first);
    expect(errors(switched.lines)).toEqual([]);
    expect(await stored(first)).toEqual([['work', 'generated', 'pending']]);
    expect(await stored(`${first}-second`)).toEqual([['work', 'generated', 'pending']]);
  }, 120_000);

  it('logs nothing for the memory backend (its tasks end with the process either way)', async () => {
    const run = await child('memory', dataDir());
    expect(run.code).toBe(0);
    expect(errors(run.lines)).toEqual([]);
  }, 60_000);
});

describe('process.exit() right after an unawaited defer() on Cloud Tasks', () => {
  let server: CloudTasksTestServer;
  beforeAll(async () => {
    // The child's tasks are due by the system clock: the server's must agree.
    server = await new CloudTasksTestServer({ project: 'test-project', location: 'us-central1', queues: ['default'], clock: new SteppingClock(Date.now()) }).start();
  });
  afterAll(() => server.close());

  it('logs each task whose CreateTask was still in flight, by function and queue; an awaited one is created', async () => {
    const lost = await child('cloud-tasks', String(server.port));
    expect(lost.code).toBe(0);
    expect(errors(lost.lines)).toHaveLength(1);
    expect(errors(lost.lines)[0]!.fields).toEqual({ function: 'work', queue: 'default', task: 'ct-lost', backend: 'cloud-tasks' });
    expect(errors(lost.lines)[0]!.message).toMatch(/enqueue is in flight, which the cloud-tasks backend cannot finish now: the task is probably not enqueued/);
    const kept = await child('cloud-tasks-awaited', String(server.port));
    expect(kept.code).toBe(0);
    expect(errors(kept.lines)).toEqual([]);
    expect(server.queued('default').map((name) => name.slice(name.lastIndexOf('/') + 1))).toEqual(['ct-kept']);
  }, 120_000);
});
