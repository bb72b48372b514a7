// queue.yaml enforced by the local dispatcher, on the manual clock: rate and
// bucket size, max_concurrent_requests, retry parameters, unknown queues, pause.
import { beforeEach, describe, expect, it } from 'vitest';
import { defer } from '../../../shim/api/defer.js';
import { UnknownQueueError } from '../../../shim/api/errors.js';
import { register } from '../../../shim/api/registry.js';
import { getTaskContext } from '../../../shim/runtime/context.js';
import { drain, getRuntime } from '../../../shim/runtime/runtime.js';
import type { QueueOperations } from '../../../shim/operations/types.js';
import { deliverTo, freshRuntime, type TestRuntime } from '../core/helpers.js';

let rt: TestRuntime;
let runs: Array<{ at: number; queue: string; label: string }>;
let failing: Set<string>;

function work(label: string): void {
  runs.push({ at: rt.clock.now(), queue: getTaskContext()!.queue, label });
  if (failing.has(label)) throw new Error(`boom ${label}`);
}

async function setUp(queue: unknown[]): Promise<QueueOperations> {
  rt = await freshRuntime({ queues: { queue } });
  runs = [];
  failing = new Set();
  register(work);
  deliverTo();
  return rt.backend.operations!;
}

describe('rate and bucket_size', () => {
  it('rate: 5/s with bucket_size: 1 delivers 20 tasks one per 200 ms, in about 4 s of the clock', async () => {
    await setUp([{ name: 'slow', rate: '5/s', bucket_size: 1 }]);
    const start = rt.clock.now();
    for (let i = 0; i < 20; i++) await defer(work, `t${i}`, { _queue: 'slow' });
    for (let step = 0; runs.length < 20 && step < 200; step++) {
      await drain();
      rt.clock.advance(50);
    }
    const offsets = runs.map((run) => run.at - start);
    expect(offsets).toEqual(Array.from({ length: 20 }, (_, i) => i * 200));
    expect(offsets.at(-1)).toBe(3800);
  });

  it('a bucket lets a burst of bucket_size through, then the rate', async () => {
    await setUp([{ name: 'bursty', rate: '1/s', bucket_size: 3 }]);
    const start = rt.clock.now();
    for (let i = 0; i < 5; i++) await defer(work, `t${i}`, { _queue: 'bursty' });
    for (let step = 0; runs.length < 5 && step < 100; step++) {
      await drain();
      rt.clock.advance(100);
    }
    expect(runs.map((run) => run.at - start)).toEqual([0, 0, 0, 1000, 2000]);
  });

  it('a limited queue does not hold back another queue', async () => {
    await setUp([
      { name: 'slow', rate: '1/m', bucket_size: 1 },
      { name: 'fast', rate: '100/s', bucket_size: 100 },
    ]);
    for (let i = 0; i < 3; i++) await defer(work, `s${i}`, { _queue: 'slow' });
    for (let i = 0; i < 10; i++) await defer(work, `f${i}`, { _queue: 'fast' });
    await drain();
    expect(runs.filter((run) => run.queue === 'fast')).toHaveLength(10);
    expect(runs.filter((run) => run.queue === 'slow')).toHaveLength(1);
    rt.clock.advance(59_999);
    await drain();
    expect(runs.filter((run) => run.queue === 'slow')).toHaveLength(1);
    rt.clock.advance(1);
    await drain();
    expect(runs.filter((run) => run.queue === 'slow')).toHaveLength(2);
  });

  it('the implicit default queue runs at App Engine\'s 5/s with a bucket of 5 once queues are defined', async () => {
    await setUp([{ name: 'other', rate: '1/s' }]);
    for (let i = 0; i < 7; i++) await defer(work, `d${i}`);
    await drain();
    expect(runs).toHaveLength(5);
    rt.clock.advance(200);
    await drain();
    expect(runs).toHaveLength(6);
  });
});

describe('max_concurrent_requests', () => {
  it('never has more than 2 deliveries of the queue in flight', async () => {
    await setUp([{ name: 'narrow', rate: '500/s', bucket_size: 100, max_concurrent_requests: 2 }]);
    let inFlight = 0;
    let most = 0;
    const gates: Array<() => void> = [];
    async function slow(): Promise<void> {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise<void>((resolve) => gates.push(resolve));
      inFlight -= 1;
    }
    register(slow);
    for (let i = 0; i < 10; i++) await defer(slow, { _queue: 'narrow' });
    let finished = 0;
    while (finished < 10) {
      await waitFor(() => gates.length > 0);
      // Let any extra delivery the dispatcher wrongly started arrive before checking.
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(inFlight).toBeLessThanOrEqual(2);
      gates.shift()!();
      finished += 1;
    }
    await drain();
    expect(most).toBe(2);
  });
});

describe('retry_parameters', () => {
  it('task_retry_limit: 3 gives exactly 4 attempts, then a failed task with every attempt recorded', async () => {
    const ops = await setUp([{ name: 'q', rate: '10/s', retry_parameters: { task_retry_limit: 3, min_backoff_seconds: 1 } }]);
    failing.add('x');
    const { name } = await defer(work, 'x', { _queue: 'q' });
    for (let i = 0; i < 20; i++) {
      await drain();
      rt.clock.advance(10_000);
    }
    expect(runs).toHaveLength(4);
    const task = await ops.getTask(name);
    expect(task).toMatchObject({ state: 'failed', attempts: 4, lastStatus: 500, function: 'work', args: ['x'], lastError: 'Error: boom x' });
    expect(task.attemptLog.map((a) => [a.number, a.status, a.error?.message])).toEqual([
      [1, 500, 'Error: boom x'],
      [2, 500, 'Error: boom x'],
      [3, 500, 'Error: boom x'],
      [4, 500, 'Error: boom x'],
    ]);
    expect(task.attemptLog[0]!.error!.stack).toMatch(/Error: boom x\n\s+at work/);
    expect(task.finishedMs).toBe(task.attemptLog[3]!.finishedMs);
    expect((await ops.listQueues()).find((q) => q.name === 'q')!.counts).toMatchObject({ failed: 1, pending: 0, retry: 0 });
  });

  /** Delays between consecutive attempts of an always-failing task, read from its eta after each attempt. */
  async function delays(queue: unknown, attempts: number, options: Record<string, unknown> = {}): Promise<number[]> {
    const ops = await setUp([queue]);
    failing.add('x');
    const { name } = await defer(work, 'x', { _queue: 'q', ...options });
    await drain();
    const out: number[] = [];
    for (let i = 1; i < attempts; i++) {
      const task = await ops.getTask(name);
      if (task.state === 'failed') break;
      out.push((task.etaMs - rt.clock.now()) / 1000);
      rt.clock.set(task.etaMs - 1);
      expect(await drain()).toBe(0);
      rt.clock.advance(1);
      expect(await drain()).toBe(1);
    }
    return out;
  }

  it('min_backoff_seconds doubles max_doublings times, then grows linearly by 2^max_doublings * min, capped at max_backoff_seconds', async () => {
    const queue = { name: 'q', rate: '10/s', retry_parameters: { min_backoff_seconds: 10, max_backoff_seconds: 150, max_doublings: 2 } };
    expect(await delays(queue, 8)).toEqual([10, 20, 40, 80, 120, 150, 150]);
  });

  it('max_doublings: 0 retries at a constant min_backoff_seconds, growing linearly', async () => {
    const queue = { name: 'q', rate: '10/s', retry_parameters: { min_backoff_seconds: 3, max_backoff_seconds: 10, max_doublings: 0 } };
    expect(await delays(queue, 6)).toEqual([3, 6, 9, 10, 10]);
  });

  it('task_age_limit stops the retries once the task is older than it', async () => {
    const queue = { name: 'q', rate: '10/s', retry_parameters: { task_age_limit: '1m', min_backoff_seconds: 20, max_doublings: 0, max_backoff_seconds: 20 } };
    // Attempts at 0, 20, 40, 60 s (age 60 s is not over the limit), 80 s: over it, failed.
    expect(await delays(queue, 10)).toEqual([20, 20, 20, 20]);
    expect(runs).toHaveLength(5);
    expect((await getRuntime().backend.operations!.listTasks({ state: 'failed' })).tasks).toHaveLength(1);
  });

  it('with task_retry_limit and task_age_limit both set, retries until both are exceeded', async () => {
    const queue = { name: 'q', rate: '10/s', retry_parameters: { task_retry_limit: 1, task_age_limit: '30s', min_backoff_seconds: 20, max_doublings: 0, max_backoff_seconds: 20 } };
    // The retry limit is exceeded after the second attempt (20 s), the age limit too after the third (40 s).
    expect(await delays(queue, 10)).toEqual([20, 20]);
    expect(runs).toHaveLength(3);
    const queue2 = { name: 'q', rate: '10/s', retry_parameters: { task_retry_limit: 5, task_age_limit: '30s', min_backoff_seconds: 20, max_doublings: 0, max_backoff_seconds: 20 } };
    expect(await delays(queue2, 10)).toEqual([20, 20, 20, 20, 20]);
  });

  it("a task's own _retry_options win over the queue's, field by field", async () => {
    const queue = { name: 'q', rate: '10/s', retry_parameters: { task_retry_limit: 5, min_backoff_seconds: 7, max_doublings: 0 } };
    expect(await delays(queue, 10, { _retry_options: { task_retry_limit: 2 } })).toEqual([7, 14]);
    expect(runs).toHaveLength(3);
  });
});

describe('queue names', () => {
  it('with queues defined, an unknown queue fails at the call; default and defined queues are accepted', async () => {
    await setUp([{ name: 'mail', rate: '1/s' }, { name: 'pulled', mode: 'pull' }]);
    expect(() => defer(work, 'x', { _queue: 'nope' })).toThrow(UnknownQueueError);
    expect(() => defer(work, 'x', { _queue: 'nope' })).toThrow('Unknown queue "nope": it is not defined in configure({ queues }) (defined: mail).');
    expect(() => defer(work, 'x', { _queue: 'pulled' })).toThrow(/is a pull queue/);
    await expect(defer(work, 'x', { _queue: 'mail' })).resolves.toMatchObject({ queue: 'mail' });
    await expect(defer(work, 'y')).resolves.toMatchObject({ queue: 'default' });
  });

  it('with no queue.yaml, every queue name is accepted and nothing is rate limited', async () => {
    rt = await freshRuntime();
    runs = [];
    failing = new Set();
    register(work);
    deliverTo();
    for (let i = 0; i < 30; i++) await defer(work, `t${i}`, { _queue: `anything-${i % 3}` });
    await drain();
    // Every task ran, at once (the dispatcher may start them while they are still being queued).
    expect(runs.map((r) => r.label).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `t${i}`).sort());
    expect(new Set(runs.map((r) => r.at))).toEqual(new Set([rt.clock.now()]));
  });
});

describe('pause', () => {
  it('a paused queue delivers nothing until resumed; other queues go on', async () => {
    const ops = await setUp([{ name: 'a', rate: '100/s' }, { name: 'b', rate: '100/s' }]);
    await ops.pauseQueue('a');
    await defer(work, 'a1', { _queue: 'a' });
    await defer(work, 'b1', { _queue: 'b' });
    expect(await drain()).toBe(1);
    rt.clock.advance(60_000);
    expect(await drain()).toBe(0);
    expect((await ops.listQueues()).map((q) => [q.name, q.paused, q.counts.pending])).toEqual([
      ['a', true, 1],
      ['b', false, 0],
      ['default', false, 0],
    ]);
    await ops.resumeQueue('a');
    expect(await drain()).toBe(1);
    expect(runs.map((run) => run.label)).toEqual(['b1', 'a1']);
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 2));
  expect(condition()).toBe(true);
}
