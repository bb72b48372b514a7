// LocalQueueOperations over a store: paging, name lookup across queues, the
// errors of retry/delete by state, decoded arguments, throughput per minute.
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../shim/backends/local/memory-store.js';
import type { NewTask } from '../../../shim/backends/local/store.js';
import { LocalQueueOperations } from '../../../shim/operations/local-operations.js';
import { TaskNotFoundError, TaskStateError } from '../../../shim/operations/types.js';
import { ManualClock } from '../../../shim/runtime/clock.js';
import { encodeCall, encodeOverflow } from '../../../shim/serialization/envelope.js';

const T0 = Date.UTC(2026, 0, 1, 10, 0, 30);
let store: MemoryStore;
let clock: ManualClock;
let ops: LocalQueueOperations;

function task(name: string, overrides: Partial<NewTask> = {}): string {
  const stored = store.insert({
    name,
    queue: 'default',
    url: '/_ah/queue/deferred',
    headers: {},
    body: encodeCall('send', [new Date(T0), new Map([['a', 1n]]), Buffer.from('hi')]),
    etaMs: clock.now(),
    createdMs: clock.now(),
    ...overrides,
  });
  if (typeof stored === 'string') throw new Error(stored);
  return stored.id;
}

beforeEach(() => {
  store = new MemoryStore();
  clock = new ManualClock(T0);
  ops = new LocalQueueOperations(store, {
    kind: 'memory',
    clock,
    queueLimits: new Map([['mail', { ratePerSecond: 2, bucketSize: 1, retry: { task_retry_limit: 3 } }]]),
  });
});

describe('LocalQueueOperations', () => {
  it('pages through tasks with an opaque cursor', async () => {
    for (let i = 0; i < 5; i++) task(`t${i}`, { etaMs: T0 + i });
    const first = await ops.listTasks({ limit: 2 });
    expect(first.tasks.map((t) => t.name)).toEqual(['t0', 't1']);
    const second = await ops.listTasks({ limit: 2, cursor: first.nextCursor! });
    expect(second.tasks.map((t) => t.name)).toEqual(['t2', 't3']);
    const last = await ops.listTasks({ limit: 2, cursor: second.nextCursor! });
    expect(last).toEqual({ tasks: [expect.objectContaining({ name: 't4', function: 'send', state: 'pending', attempts: 0 })] });
    await expect(ops.listTasks({ cursor: 'x' })).rejects.toThrow(/not a cursor/);
  });

  it('decodes arguments with the codec, also from an overflow blob, and says when it cannot', async () => {
    task('plain');
    store.putBlob('big', encodeCall('send', [[1, 2]]), T0);
    task('overflowed', { body: encodeOverflow('big'), overflowKey: 'big' });
    task('gone', { body: encodeOverflow('missing') });
    task('garbage', { body: Buffer.from('not json') });
    const plain = await ops.getTask('plain');
    expect(plain.args).toEqual([new Date(T0), new Map([['a', 1n]]), Buffer.from('hi')]);
    expect((await ops.getTask('overflowed')).args).toEqual([[1, 2]]);
    expect((await ops.getTask('gone')).payloadError).toBe('the overflow payload missing is gone');
    expect((await ops.getTask('garbage')).payloadError).toMatch(/not a JSON envelope/);
  });

  it('finds a name in any queue, and asks for the queue when the name is in several', async () => {
    task('same', { queue: 'a' });
    task('same', { queue: 'b' });
    await expect(ops.getTask('same')).rejects.toThrow(new TaskNotFoundError('several queues have a task named "same" (a, b); name the queue'));
    expect((await ops.getTask('same', 'b')).queue).toBe('b');
    await expect(ops.getTask('same', 'c')).rejects.toThrow('no task named "same" in queue "c"');
  });

  it('refuses to retry or delete a running task, and to retry a done one', async () => {
    const done = task('done');
    task('running');
    store.claimDue(T0, 10, 60_000);
    store.complete(done, T0);
    await expect(ops.retryTask('running')).rejects.toThrow(TaskStateError);
    await expect(ops.deleteTask('running')).rejects.toThrow(/is running now/);
    await expect(ops.retryTask('done')).rejects.toThrow(/already succeeded/);
    expect(await ops.getTask('done')).toMatchObject({ state: 'done', attempts: 1, finishedMs: T0 });
    expect((await ops.getTask('done')).args).toBeUndefined();
  });

  it('retries every failed task of a queue', async () => {
    for (const [name, queue] of [['f1', 'mail'], ['f2', 'mail'], ['f3', 'other']] as const) {
      const id = task(name, { queue });
      store.claimDue(T0, 10, 60_000);
      store.fail(id, T0, { number: 1, finishedMs: T0, status: 500 }, true);
    }
    expect(await ops.retryAllFailed('mail')).toBe(2);
    expect((await ops.listTasks({ state: 'failed' })).tasks.map((t) => t.name)).toEqual(['f3']);
    expect(await ops.retryAllFailed()).toBe(1);
  });

  it('lists defined queues with their limits, and queues seen only through tasks', async () => {
    task('x', { queue: 'adhoc', etaMs: T0 - 5000 });
    const queues = await ops.listQueues();
    expect(queues.map((q) => [q.name, q.defined, q.limits.ratePerSecond ?? null, q.oldestDueAgeMs ?? null])).toEqual([
      ['adhoc', false, null, 5000],
      ['mail', true, 2, null],
    ]);
  });

  it('counts tasks done and failed per minute for the last minutes', async () => {
    const a = task('a');
    const b = task('b');
    const c = task('c');
    store.claimDue(T0, 10, 60_000);
    store.complete(a, T0);
    clock.advance(60_000);
    store.complete(b, clock.now());
    store.fail(c, clock.now(), { number: 1, finishedMs: clock.now() }, true);
    const minute = Math.floor(T0 / 60_000) * 60_000;
    expect(await ops.throughput({ minutes: 3 })).toEqual([
      { startMs: minute - 60_000, done: 0, failed: 0 },
      { startMs: minute, done: 1, failed: 0 },
      { startMs: minute + 60_000, done: 1, failed: 1 },
    ]);
  });
});
