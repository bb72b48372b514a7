// The QueueStore contract as tests: every store (MemoryStore here, SqliteStore in
// test/shim/embedded) must pass `describeQueueStore(name, makeStore)`.
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_RECORDED_ATTEMPTS, type NewTask, type QueueStore } from '../../../shim/backends/local/store.js';

const T0 = 1_700_000_000_000;
const LEASE = 60_000;

export function newTask(overrides: Partial<NewTask> = {}): NewTask {
  return {
    name: 'task1',
    queue: 'default',
    url: '/_ah/queue/deferred',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: Buffer.from('{"v":1,"fn":"f","args":[]}'),
    etaMs: T0,
    createdMs: T0,
    ...overrides,
  };
}

export function describeQueueStore(name: string, makeStore: () => QueueStore | Promise<QueueStore>): void {
  describe(`QueueStore conformance: ${name}`, () => {
    let store: QueueStore;
    const open = async () => (store = await makeStore());
    afterEach(() => store?.close());

    it('inserts a task and returns it with an id and zero counters', async () => {
      await open();
      const stored = store.insert(newTask({ retry: { task_retry_limit: 3 }, overflowKey: 'k1', headers: { A: 'b' } }));
      expect(stored).not.toBe('duplicate');
      expect(stored).toMatchObject({ name: 'task1', queue: 'default', retryCount: 0, executionCount: 0, retry: { task_retry_limit: 3 }, overflowKey: 'k1', headers: { A: 'b' } });
      expect(typeof (stored as { id: unknown }).id).toBe('string');
      expect(store.size()).toBe(1);
    });

    it('refuses a duplicate (queue, name) while queued, but not the same name in another queue', async () => {
      await open();
      store.insert(newTask());
      expect(store.insert(newTask())).toBe('duplicate');
      expect(store.insert(newTask({ queue: 'other' }))).not.toBe('duplicate');
      expect(store.size()).toBe(2);
    });

    it('inserts a batch in order, with a duplicate (in the store or earlier in the batch) refused alone', async () => {
      await open();
      store.insert(newTask({ name: 'taken' }));
      const results = store.insertMany([newTask({ name: 'x' }), newTask({ name: 'taken' }), newTask({ name: 'y' }), newTask({ name: 'x' })]);
      expect(results.map((r) => (typeof r === 'string' ? r : 'name' in r ? r.name : 'error'))).toEqual(['x', 'duplicate', 'y', 'duplicate']);
      expect(store.size()).toBe(3);
      expect(store.insertMany([])).toEqual([]);
    });

    it('completes a batch: tombstones, not claimable', async () => {
      await open();
      const ids = store.insertMany([newTask({ name: 'a' }), newTask({ name: 'b' }), newTask({ name: 'c' })]).map((r) => (r as { id: string }).id);
      store.completeMany([
        { id: ids[0]!, nowMs: T0 },
        { id: ids[2]!, nowMs: T0 + 1 },
      ]);
      expect(store.size()).toBe(1);
      expect(store.claimDue(T0, 10, LEASE).map((t) => t.name)).toEqual(['b']);
      expect(store.insert(newTask({ name: 'a' }))).toBe('tombstoned');
      expect(store.insert(newTask({ name: 'b' }))).toBe('duplicate');
    });

    it('keeps a completed name as a tombstone until swept', async () => {
      await open();
      const stored = store.insert(newTask()) as { id: string };
      store.complete(stored.id, T0 + 10);
      expect(store.size()).toBe(0);
      expect(store.insert(newTask())).toBe('tombstoned');
      expect(store.sweep(T0 + 10)).toBe(0);
      expect(store.sweep(T0 + 11)).toBe(1);
      expect(store.insert(newTask())).toHaveProperty('id');
    });

    it('claims due tasks only, earliest eta first, insertion order among equals, up to the limit', async () => {
      await open();
      store.insert(newTask({ name: 'late', etaMs: T0 + 5 }));
      store.insert(newTask({ name: 'b', etaMs: T0 }));
      store.insert(newTask({ name: 'a', etaMs: T0 - 5 }));
      store.insert(newTask({ name: 'c', etaMs: T0 }));
      store.insert(newTask({ name: 'future', etaMs: T0 + 1000 }));
      expect(store.claimDue(T0 + 5, 3, LEASE).map((t) => t.name)).toEqual(['a', 'b', 'c']);
      expect(store.claimDue(T0 + 5, 3, LEASE).map((t) => t.name)).toEqual(['late']);
      expect(store.claimDue(T0 + 5, 3, LEASE)).toEqual([]);
      expect(store.claimDue(T0 + 5, 0, LEASE)).toEqual([]);
    });

    it('returns the stored fields on claim', async () => {
      await open();
      const body = Buffer.from([0, 1, 2, 255]);
      store.insert(newTask({ body, headers: { 'X-A': '1' }, url: '/custom', retry: { min_backoff_seconds: 2 } }));
      const [task] = store.claimDue(T0, 1, LEASE);
      expect([...task!.body]).toEqual([0, 1, 2, 255]);
      expect(task).toMatchObject({ url: '/custom', headers: { 'X-A': '1' }, retry: { min_backoff_seconds: 2 }, etaMs: T0, createdMs: T0 });
      expect(task!.previousResponse).toBeUndefined();
    });

    it('hides a leased task until its lease expires, then delivers it again with unchanged counters', async () => {
      await open();
      store.insert(newTask());
      expect(store.claimDue(T0, 10, LEASE)).toHaveLength(1);
      expect(store.claimDue(T0 + LEASE - 1, 10, LEASE)).toEqual([]);
      expect(store.nextDueMs(T0)).toBe(T0 + LEASE);
      const again = store.claimDue(T0 + LEASE, 10, LEASE);
      expect(again.map((t) => [t.name, t.retryCount, t.executionCount])).toEqual([['task1', 0, 0]]);
    });

    it('reschedule releases the lease, moves the eta and records the attempt', async () => {
      await open();
      const { id } = store.insert(newTask()) as { id: string };
      store.claimDue(T0, 1, LEASE);
      store.reschedule(id, T0 + 100, 500, true);
      expect(store.claimDue(T0 + 99, 1, LEASE)).toEqual([]);
      expect(store.nextDueMs(T0)).toBe(T0 + 100);
      const [task] = store.claimDue(T0 + 100, 1, LEASE);
      expect(task).toMatchObject({ retryCount: 1, executionCount: 1, previousResponse: 500, etaMs: T0 + 100 });
      store.reschedule(id, T0 + 200, 0, false);
      const [next] = store.claimDue(T0 + 200, 1, LEASE);
      expect(next).toMatchObject({ retryCount: 2, executionCount: 1, previousResponse: 0 });
    });

    it('nextDueMs is the earliest eta, or undefined when empty', async () => {
      await open();
      expect(store.nextDueMs(T0)).toBeUndefined();
      store.insert(newTask({ name: 'a', etaMs: T0 + 50 }));
      store.insert(newTask({ name: 'b', etaMs: T0 + 20 }));
      expect(store.nextDueMs(T0)).toBe(T0 + 20);
    });

    it('stores blobs; complete deletes the task blob; delete of a missing blob is harmless', async () => {
      await open();
      store.putBlob('k1', Buffer.from('payload'), T0);
      store.putBlob('k2', Buffer.from('other'), T0);
      expect(Buffer.from(store.getBlob('k1')!).toString()).toBe('payload');
      const { id } = store.insert(newTask({ overflowKey: 'k1' })) as { id: string };
      store.complete(id, T0);
      expect(store.getBlob('k1')).toBeUndefined();
      expect(Buffer.from(store.getBlob('k2')!).toString()).toBe('other');
      store.deleteBlob('k2');
      store.deleteBlob('k2');
      expect(store.getBlob('k2')).toBeUndefined();
      expect(store.getBlob('never')).toBeUndefined();
    });

    it('complete of an unknown id does nothing', async () => {
      await open();
      store.insert(newTask());
      store.complete('999999', T0);
      expect(store.size()).toBe(1);
    });

    it('sweep drops old unreferenced blobs only', async () => {
      await open();
      store.putBlob('old-orphan', Buffer.from('a'), T0);
      store.putBlob('old-used', Buffer.from('b'), T0);
      store.putBlob('new-orphan', Buffer.from('c'), T0 + 1000);
      store.insert(newTask({ overflowKey: 'old-used' }));
      expect(store.sweep(T0 + 500)).toBe(1);
      expect(store.getBlob('old-orphan')).toBeUndefined();
      expect(store.getBlob('old-used')).toBeDefined();
      expect(store.getBlob('new-orphan')).toBeDefined();
    });

    describe('failed tasks and the operations queries', () => {
      const attempt = (n: number, status = 500) => ({ number: n, startedMs: T0, finishedMs: T0 + 1, status, error: { message: `Error: ${n}`, stack: `Error: ${n}\n    at f` } });

      it('fail() keeps the task, payload and attempts, out of claims and size(), until the failed retention sweeps it', async () => {
        await open();
        const { id } = store.insert(newTask({ overflowKey: 'k' })) as { id: string };
        store.putBlob('k', Buffer.from('payload'), T0);
        store.claimDue(T0, 1, LEASE);
        store.reschedule(id, T0 + 10, 500, true, attempt(1));
        store.claimDue(T0 + 10, 1, LEASE);
        store.fail(id, T0 + 20, attempt(2, 503), true);
        expect(store.size()).toBe(0);
        expect(store.claimDue(T0 + LEASE * 2, 10, LEASE)).toEqual([]);
        expect(store.nextDueMs(T0)).toBeUndefined();
        const [record] = store.findTasks('task1', undefined, T0 + 30);
        expect(record).toMatchObject({ state: 'failed', failedMs: T0 + 20, retryCount: 2, executionCount: 2, previousResponse: 503 });
        expect(record!.attempts.map((a) => a.error!.message)).toEqual(['Error: 1', 'Error: 2']);
        expect(Buffer.from(record!.body).toString()).toContain('"fn":"f"');
        expect(store.insert(newTask())).toBe('duplicate');
        expect(store.getBlob('k')).toBeDefined();
        expect(store.sweep(T0, T0 + 20)).toBe(0);
        expect(store.sweep(T0, T0 + 21)).toBe(1);
        expect(store.findTasks('task1', undefined, T0 + 30)).toEqual([]);
        expect(store.getBlob('k')).toBeUndefined();
      });

      it('keeps the latest attempts only', async () => {
        await open();
        const { id } = store.insert(newTask()) as { id: string };
        for (let n = 1; n <= MAX_RECORDED_ATTEMPTS + 5; n++) store.reschedule(id, T0, 500, true, attempt(n));
        const [record] = store.findTasks('task1', 'default', T0);
        expect(record!.attempts).toHaveLength(MAX_RECORDED_ATTEMPTS);
        expect(record!.attempts[0]!.number).toBe(6);
        expect(record!.retryCount).toBe(MAX_RECORDED_ATTEMPTS + 5);
      });

      it('reports each state, counts per queue and the oldest due eta', async () => {
        await open();
        const ids = ['p', 'l', 'r', 'd', 'f', 'later'].map(
          (name) => (store.insert(newTask({ name, queue: name === 'later' ? 'other' : 'default', etaMs: name === 'later' ? T0 + 5000 : T0 + ['p', 'l', 'r', 'd', 'f'].indexOf(name) })) as { id: string }).id,
        );
        const [, l, r, d, f] = ids as [string, string, string, string, string];
        const claimed = store.claimDue(T0 + 10, 10, LEASE);
        expect(claimed.map((t) => t.name)).toEqual(['p', 'l', 'r', 'd', 'f']);
        store.release([ids[0]!], T0 + 10);
        store.reschedule(r, T0 + 10, 500, true, attempt(1));
        store.complete(d, T0 + 11);
        store.fail(f, T0 + 12, attempt(1), true);
        void l;
        const states = Object.fromEntries(store.listTasks({ limit: 10, offset: 0 }, T0 + 20).map((t) => [t.name, t.state]));
        expect(states).toEqual({ p: 'pending', l: 'leased', r: 'retry', d: 'done', f: 'failed', later: 'pending' });
        const counts = store.countByState(T0 + 20).sort((a, b) => (a.queue + a.state < b.queue + b.state ? -1 : 1));
        expect(counts).toEqual([
          { queue: 'default', state: 'done', count: 1 },
          { queue: 'default', state: 'failed', count: 1 },
          { queue: 'default', state: 'leased', count: 1 },
          { queue: 'default', state: 'pending', count: 1 },
          { queue: 'default', state: 'retry', count: 1 },
          { queue: 'other', state: 'pending', count: 1 },
        ]);
        expect([...store.oldestDueEta(T0 + 20)]).toEqual([['default', T0]]);
        // A lease that ran out (its process died) is pending again.
        expect(store.findTasks('l', undefined, T0 + LEASE + 10)[0]!.state).toBe('pending');
        expect(store.listTasks({ state: 'pending', queue: 'default', limit: 10, offset: 0 }, T0 + 20).map((t) => t.name)).toEqual(['p']);
        // By eta: r was rescheduled to T0 + 10.
        expect(store.listTasks({ limit: 2, offset: 2 }, T0 + 20).map((t) => t.name)).toEqual(['d', 'f']);
        expect(store.finishedPerMinute(T0 - 60_000)).toEqual([{ minute: Math.floor(T0 / 60_000) * 60_000, done: 1, failed: 1 }]);
        expect(store.finishedPerMinute(T0 - 60_000, 'other')).toEqual([]);
      });

      it('pauses a queue for claims and the next due time, and resumes it', async () => {
        await open();
        store.insert(newTask({ name: 'a', queue: 'held' }));
        store.insert(newTask({ name: 'b', queue: 'open', etaMs: T0 + 5 }));
        store.setPaused('held', true);
        expect(store.pausedQueues()).toEqual(['held']);
        expect(store.nextDueMs(T0)).toBe(T0 + 5);
        expect(store.claimDue(T0 + 5, 10, LEASE).map((t) => t.name)).toEqual(['b']);
        store.setPaused('held', false);
        expect(store.pausedQueues()).toEqual([]);
        expect(store.claimDue(T0 + 5, 10, LEASE).map((t) => t.name)).toEqual(['a']);
      });

      it('claims under caps: a capped queue gives at most its cap, 0 none, others are not held back', async () => {
        await open();
        for (let i = 0; i < 4; i++) store.insert(newTask({ name: `c${i}`, queue: 'capped', etaMs: T0 + i }));
        for (let i = 0; i < 3; i++) store.insert(newTask({ name: `z${i}`, queue: 'zero', etaMs: T0 }));
        for (let i = 0; i < 3; i++) store.insert(newTask({ name: `u${i}`, queue: 'free', etaMs: T0 + 10 + i }));
        const claimed = store.claimDue(T0 + 20, 10, LEASE, { caps: { capped: 2, zero: 0 } });
        expect(claimed.map((t) => t.name)).toEqual(['c0', 'c1', 'u0', 'u1', 'u2']);
        expect(store.nextDueMs(T0 + 20, ['zero'])).toBe(T0 + 2);
        expect(store.nextDueMs(T0 + 20, ['zero', 'capped'])).toBe(T0 + 20 + LEASE);
      });

      it('retryNow makes a failed or waiting task due now; not a leased or done one', async () => {
        await open();
        const failed = (store.insert(newTask({ name: 'f' })) as { id: string }).id;
        const leased = (store.insert(newTask({ name: 'l' })) as { id: string }).id;
        const done = (store.insert(newTask({ name: 'd' })) as { id: string }).id;
        store.claimDue(T0, 10, LEASE);
        store.fail(failed, T0, attempt(1), true);
        store.complete(done, T0);
        expect(store.retryNow(failed, T0 + 100)).toBe(true);
        expect(store.retryNow(leased, T0 + 100)).toBe(false);
        expect(store.retryNow(done, T0 + 100)).toBe(false);
        expect(store.findTasks('f', undefined, T0 + 100)[0]).toMatchObject({ state: 'retry', etaMs: T0 + 100, retryCount: 1 });
        expect(store.claimDue(T0 + 100, 10, LEASE).map((t) => t.name)).toEqual(['f']);
      });

      it('deleteTask and purge spare leased tasks; purge spares tombstones; both drop overflow blobs', async () => {
        await open();
        const ids = ['a', 'b', 'c', 'd'].map((name) => (store.insert(newTask({ name, overflowKey: `k-${name}` })) as { id: string }).id);
        for (const name of ['a', 'b', 'c', 'd']) store.putBlob(`k-${name}`, Buffer.from(name), T0);
        store.insert(newTask({ name: 'elsewhere', queue: 'other' }));
        const [leased] = store.claimDue(T0, 1, LEASE);
        store.complete(ids[1]!, T0);
        expect(store.deleteTask(leased!.id, T0)).toBe(false);
        expect(store.deleteTask(ids[2]!, T0)).toBe(true);
        expect(store.getBlob('k-c')).toBeUndefined();
        expect(store.deleteTask(ids[2]!, T0)).toBe(false);
        expect(store.purge('default', T0)).toBe(1);
        expect(store.getBlob('k-d')).toBeUndefined();
        expect(store.listTasks({ limit: 10, offset: 0 }, T0).map((t) => [t.name, t.state])).toEqual([
          ['a', 'leased'],
          ['b', 'done'],
          ['elsewhere', 'pending'],
        ]);
        // A tombstone can be deleted: its name is free again.
        expect(store.deleteTask(ids[1]!, T0)).toBe(true);
        expect(store.insert(newTask({ name: 'b' }))).not.toBe('duplicate');
      });

      it('release() makes leased tasks claimable at once', async () => {
        await open();
        store.insert(newTask({ name: 'a' }));
        const [task] = store.claimDue(T0, 1, LEASE);
        expect(store.claimDue(T0 + 1, 1, LEASE)).toEqual([]);
        store.release([task!.id], T0 + 1);
        expect(store.claimDue(T0 + 1, 1, LEASE).map((t) => t.name)).toEqual(['a']);
      });
    });
  });
}
