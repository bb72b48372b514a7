// Group commit of enqueues and batched completions on the embedded backend
// (LocalBackend over a real SqliteStore).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TaskAlreadyExistsError } from '../../../shim/api/errors.js';
import type { TaskSpec } from '../../../shim/api/types.js';
import { LocalBackend } from '../../../shim/backends/local/backend.js';
import { SqliteStore } from '../../../shim/backends/local/sqlite-store.js';
import { ManualClock } from '../../../shim/runtime/clock.js';
import { recordingLogger } from '../core/helpers.js';

let dir: string;
let path: string;
let store: SqliteStore;
let backend: LocalBackend;
const others: SqliteStore[] = [];

function task(overrides: Partial<TaskSpec> = {}): TaskSpec {
  return {
    queue: 'default',
    url: '/_ah/queue/deferred',
    etaMs: 1_000,
    headers: { 'Content-Type': 'application/octet-stream' },
    body: new TextEncoder().encode('payload'),
    ...overrides,
  };
}

/** What another connection to the queue file sees: only committed tasks. */
function committedCount(): number {
  const other = new SqliteStore({ path });
  others.push(other);
  return other.size();
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dm-group-commit-'));
  path = join(dir, 'queue.sqlite');
  store = new SqliteStore({ path });
  backend = new LocalBackend(store, { kind: 'embedded', clock: new ManualClock(1_000), logger: recordingLogger(), signingSecret: 's' });
});

afterEach(async () => {
  await backend.close();
  for (const other of others.splice(0)) other.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('group commit', () => {
  it('commits the enqueues of one tick in one transaction, and settles none before it is durable', async () => {
    const insertMany = vi.spyOn(store, 'insertMany');
    let settled = 0;
    const enqueues = Array.from({ length: 20 }, (_, i) =>
      backend.enqueue(task({ name: `t${i}` })).then((enqueued) => {
        settled += 1;
        // Seen by another connection by the time any promise settles: committed.
        expect(committedCount()).toBe(20);
        return enqueued;
      }),
    );
    expect(committedCount()).toBe(0); // nothing is written while the calls are being made
    expect(settled).toBe(0);
    const enqueued = await Promise.all(enqueues);
    expect(enqueued.map((t) => t.name)).toEqual(Array.from({ length: 20 }, (_, i) => `t${i}`));
    expect(insertMany).toHaveBeenCalledTimes(1);
    expect(insertMany.mock.calls[0]![0]).toHaveLength(20);
  });

  it('rejects only the calls whose name is taken, in the store or earlier in the same batch', async () => {
    await backend.enqueue(task({ name: 'a' }));
    const results = await Promise.allSettled([
      backend.enqueue(task({ name: 'a' })),
      backend.enqueue(task({ name: 'b' })),
      backend.enqueue(task({ name: 'b' })),
      backend.enqueue(task()),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[0] as PromiseRejectedResult).reason).toBeInstanceOf(TaskAlreadyExistsError);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(TaskAlreadyExistsError);
    expect(committedCount()).toBe(3);
  });

  it('rejects only the call whose own insert fails', async () => {
    const results = await Promise.allSettled([
      backend.enqueue(task({ name: 'good-1' })),
      backend.enqueue(task({ name: 'bad', queue: null as unknown as string })), // NOT NULL constraint
      backend.enqueue(task({ name: 'good-2' })),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/NOT NULL/);
    expect(committedCount()).toBe(2);
  });

  it('inserts a lone enqueue without a transaction around it', async () => {
    const insertMany = vi.spyOn(store, 'insertMany');
    expect((await backend.enqueue(task({ name: 'alone' }))).name).toBe('alone');
    await expect(backend.enqueue(task({ name: 'alone' }))).rejects.toBeInstanceOf(TaskAlreadyExistsError);
    expect(insertMany).not.toHaveBeenCalled();
    expect(committedCount()).toBe(1);
  });

  it('rejects every call of a batch whose transaction fails, and stores none of them', async () => {
    vi.spyOn(store, 'insertMany').mockImplementationOnce(() => {
      throw new Error('disk I/O error');
    });
    const results = await Promise.allSettled([backend.enqueue(task({ name: 'x' })), backend.enqueue(task({ name: 'y' }))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(committedCount()).toBe(0);
    await backend.enqueue(task({ name: 'x' })); // the next batch is not affected
    expect(committedCount()).toBe(1);
  });

  it('commits enqueues accepted before close()', async () => {
    const pending = backend.enqueue(task({ name: 'late' }));
    await backend.close();
    expect((await pending).name).toBe('late');
    expect(committedCount()).toBe(1);
  });
});

describe('batched completions', () => {
  it('records successful deliveries in batches, not one transaction per task', async () => {
    const complete = vi.spyOn(store, 'complete');
    const completeMany = vi.spyOn(store, 'completeMany');
    await Promise.all(Array.from({ length: 30 }, (_, i) => backend.enqueue(task({ name: `d${i}` }))));
    backend.attach(async () => ({ status: 200, body: 'Success' }));
    await backend.drain();
    expect(store.size()).toBe(0);
    expect(complete).not.toHaveBeenCalled();
    const recorded = completeMany.mock.calls.flatMap(([batch]) => batch.map((c) => c.id));
    expect(new Set(recorded).size).toBe(30);
    expect(completeMany.mock.calls.length).toBeLessThan(30);
  });
});
