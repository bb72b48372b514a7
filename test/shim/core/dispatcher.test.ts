// The local dispatcher end to end: defer -> memory store -> dispatcher ->
// light-my-request -> Handler -> function, on a ManualClock.
import { beforeEach, describe, expect, it } from 'vitest';
import { defer } from '../../../shim/api/defer.js';
import { PermanentTaskFailure, SingularTaskFailure } from '../../../shim/api/errors.js';
import { register } from '../../../shim/api/registry.js';
import type { DeliveryRequest, TaskContext } from '../../../shim/api/types.js';
import type { LocalBackend } from '../../../shim/backends/local/backend.js';
import { getTaskContext } from '../../../shim/runtime/context.js';
import { drain, getRuntime } from '../../../shim/runtime/runtime.js';
import { deliverTo, freshRuntime, type TestRuntime } from './helpers.js';

let rt: TestRuntime;
let contexts: TaskContext[];
/** What the next calls of `task` do, in order; afterwards they succeed. */
let script: Array<() => void>;

function task(label: string): string {
  contexts.push(getTaskContext()!);
  script.shift()?.();
  return label;
}

beforeEach(async () => {
  rt = await freshRuntime({ mode: 'production' });
  contexts = [];
  script = [];
  register(task);
  deliverTo();
});

const fail = () => {
  throw new Error('boom');
};

describe('delivery', () => {
  it('delivers due tasks with the App Engine headers and a valid signature (production mode)', async () => {
    const enqueued = await defer(task, 'a', { _headers: { 'X-Custom': 'yes' } });
    expect(await drain()).toBe(1);
    expect(contexts).toHaveLength(1);
    const context = contexts[0]!;
    expect(context).toMatchObject({ name: enqueued.name, queue: 'default', retryCount: 0, executionCount: 0 });
    expect(context.eta?.getTime()).toBe(rt.clock.now());
    expect(context.previousResponse).toBeUndefined();
    expect(context.headers['x-custom']).toBe('yes');
    expect(context.headers['x-deferred-signature']).toMatch(/^[\w-]{43}$/);
    expect(rt.logger.at('error')).toEqual([]);
    expect(rt.logger.at('info').map((e) => e.message)).toContainEqual(expect.stringMatching(/X_APPENGINE_TASKNAME:task1/));
  });

  it('honours countdown and eta, waking when the clock moves', async () => {
    await defer(task, 'later', { _countdown: 60 });
    await defer(task, 'at', { _eta: new Date(rt.clock.now() + 120_000) });
    expect(await drain()).toBe(0);
    rt.clock.advance(59_999);
    expect(await drain()).toBe(0);
    const delivered = new Promise<void>((resolve) => script.push(resolve));
    rt.clock.advance(1);
    await delivered; // woken by the clock, no drain()
    expect(contexts.map((c) => c.eta?.getTime())).toEqual([rt.clock.now()]);
    rt.clock.advance(60_000);
    await drain();
    expect(contexts).toHaveLength(2);
    expect(await drain()).toBe(0);
  });

  it('keeps tasks while no target is attached, then delivers them', async () => {
    rt = await freshRuntime();
    register(task);
    await defer(task, 'waiting');
    expect(await drain()).toBe(0);
    deliverTo();
    expect(await drain()).toBe(1);
    expect(contexts).toHaveLength(1);
  });

  it('delivers tasks deferred by a running task in the same drain', async () => {
    const chain = register(async function chain(n: number) {
      contexts.push(getTaskContext()!);
      if (n > 0) await defer(chain, n - 1);
    });
    await defer(chain, 3);
    expect(await drain()).toBe(4);
    expect(contexts.map((c) => c.name)).toEqual(['task1', 'task2', 'task3', 'task4']);
  });

  it('runs at most 10 deliveries at once', async () => {
    let running = 0;
    let peak = 0;
    const gates: Array<() => void> = [];
    const slow = register(async function slow() {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise<void>((resolve) => gates.push(resolve));
      running -= 1;
    });
    for (let i = 0; i < 25; i++) await defer(slow);
    let done = false;
    const drained = drain().finally(() => (done = true));
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 1000 && running < 10; i++) await turn();
    for (let i = 0; i < 20; i++) await turn();
    expect(running).toBe(10);
    while (!done) {
      gates.splice(0).forEach((open) => open());
      await turn();
    }
    expect(await drained).toBe(25);
    expect(peak).toBe(10);
  });
});

describe('retries', () => {
  it('retries an error (500) with backoff, sending retry count and previous response', async () => {
    script.push(fail, fail);
    await defer(task, 'x', { _retry_options: { min_backoff_seconds: 10, max_doublings: 3 } });
    expect(await drain()).toBe(1);
    expect(await drain()).toBe(0);
    rt.clock.advance(9_999);
    expect(await drain()).toBe(0);
    rt.clock.advance(1);
    expect(await drain()).toBe(1);
    rt.clock.advance(19_999);
    expect(await drain()).toBe(0);
    rt.clock.advance(1);
    expect(await drain()).toBe(1);
    expect(contexts.map((c) => [c.retryCount, c.executionCount, c.previousResponse])).toEqual([
      [0, 0, undefined],
      [1, 1, 500],
      [2, 2, 500],
    ]);
    await expect(getRuntime().backend.drain()).resolves.toBe(0);
    expect(rt.logger.at('error').map((e) => e.message)).toEqual([
      'Task failed with an error; it will be retried',
      'Task failed with an error; it will be retried',
    ]);
  });

  it('retries SingularTaskFailure (408) quietly and stops on PermanentTaskFailure (200)', async () => {
    script.push(() => {
      throw new SingularTaskFailure();
    });
    script.push(() => {
      throw new PermanentTaskFailure('never');
    });
    await defer(task, 'x');
    await drain();
    expect(rt.logger.at('error')).toEqual([]);
    rt.clock.advance(100);
    expect(await drain()).toBe(1);
    expect(contexts[1]!.previousResponse).toBe(408);
    expect(rt.logger.at('error').map((e) => e.message)).toEqual(['Permanent failure attempting to execute task']);
    rt.clock.advance(3_600_000);
    expect(await drain()).toBe(0);
    expect(contexts).toHaveLength(2);
  });

  it('stops retrying a task once task_retry_limit is exceeded, logging it and keeping it as failed', async () => {
    script.push(fail, fail, fail, fail);
    await defer(task, 'x', { _retry_options: { task_retry_limit: 2, min_backoff_seconds: 1 } });
    for (let i = 0; i < 5; i++) {
      await drain();
      rt.clock.advance(60_000);
    }
    expect(contexts).toHaveLength(3);
    expect(rt.logger.at('error').at(-1)).toMatchObject({
      message: 'task failed and its retries are exhausted: keeping it as failed',
      fields: { task: 'task1', status: 500, retryCount: 3 },
    });
    expect((rt.backend as LocalBackend).store.size()).toBe(0);
    const [kept] = await rt.backend.operations!.listTasks({ state: 'failed' }).then((page) => page.tasks);
    expect(kept).toMatchObject({ name: 'task1', state: 'failed', attempts: 3, lastStatus: 500 });
  });

  it('with both limits, keeps retrying until the age limit is exceeded too', async () => {
    script.push(...Array.from({ length: 10 }, () => fail));
    await defer(task, 'x', { _retry_options: { task_retry_limit: 1, task_age_limit: 100, min_backoff_seconds: 30, max_doublings: 0 } });
    for (let i = 0; i < 10; i++) {
      await drain();
      rt.clock.advance(30_000 * (i + 1));
    }
    // Attempts at t = 0, 30, 90, 180 s: the fourth failure is past both limits.
    expect(contexts).toHaveLength(4);
  });

  it('retries a task with zero backoff one millisecond later, not in a loop at the same instant', async () => {
    script.push(...Array.from({ length: 100 }, () => fail));
    await defer(task, 'x', { _retry_options: { min_backoff_seconds: 0, max_backoff_seconds: 0 } });
    expect(await drain()).toBe(1);
    rt.clock.advance(1);
    expect(await drain()).toBe(1);
    expect(contexts).toHaveLength(2);
  });
});

describe('delivery failures outside the app', () => {
  it('reschedules when the target itself throws, without counting an execution', async () => {
    const seen: DeliveryRequest[] = [];
    let broken = true;
    getRuntime().attach(async (request) => {
      seen.push(request);
      if (broken) throw new Error('socket hang up');
      return { status: 200, body: 'Success' };
    });
    await defer(task, 'x');
    await drain();
    broken = false;
    rt.clock.advance(100);
    await drain();
    expect(seen.map((r) => [r.headers['X-AppEngine-TaskRetryCount'], r.headers['X-AppEngine-TaskExecutionCount']])).toEqual([
      ['0', '0'],
      ['1', '0'],
    ]);
    expect(rt.logger.at('error')[0]!.message).toBe('task delivery failed before reaching the app');
  });
});

describe('store failures', () => {
  it('an enqueue succeeds even when the dispatcher cannot read the queue; delivery resumes on the next wake', async () => {
    const { LocalBackend } = await import('../../../shim/backends/local/backend.js');
    const { MemoryStore } = await import('../../../shim/backends/local/memory-store.js');
    class FlakyStore extends MemoryStore {
      failures = 0;
      override claimDue(nowMs: number, limit: number, leaseMs: number) {
        if (this.failures-- > 0) throw new Error('database is locked');
        return super.claimDue(nowMs, limit, leaseMs);
      }
    }
    const store = new FlakyStore();
    const { clock, logger } = rt;
    const backend = new LocalBackend(store, { kind: 'memory', clock, logger, signingSecret: 's' });
    await freshRuntime({ backend, clock, logger });
    register(task);
    deliverTo();
    store.failures = 1;
    await expect(defer(task, 'x')).resolves.toMatchObject({ name: 'task1' });
    expect(logger.at('error')[0]).toMatchObject({ message: 'the dispatcher could not read the queue; retrying in 1 s' });
    expect(contexts).toHaveLength(0);
    clock.advance(0);
    await drain();
    expect(contexts).toHaveLength(1);
  });
});
