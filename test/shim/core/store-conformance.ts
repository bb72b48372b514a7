// The QueueStore contract as tests: every store (MemoryStore here, SqliteStore in
// test/shim/embedded) must pass `describeQueueStore(name, makeStore)`.
import { afterEach, describe, expect, it } from 'vitest';
import type { NewTask, QueueStore } from '../../../shim/backends/local/store.js';

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
      expect(store.insert(newTask({ name: 'a' }))).toBe('duplicate');
    });

    it('keeps a completed name as a tombstone until swept', async () => {
      await open();
      const stored = store.insert(newTask()) as { id: string };
      store.complete(stored.id, T0 + 10);
      expect(store.size()).toBe(0);
      expect(store.insert(newTask())).toBe('duplicate');
      expect(store.sweep(T0 + 10)).toBe(0);
      expect(store.sweep(T0 + 11)).toBe(1);
      expect(store.insert(newTask())).not.toBe('duplicate');
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
  });
}
