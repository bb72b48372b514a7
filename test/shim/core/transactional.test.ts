// deferred.transactional(work): `_transactional` defers made inside work are held
// and enqueued in order once work resolves, dropped if it throws; nested scopes
// commit into the one around them; awaiting a held task inside work fails instead
// of hanging; outside a scope the call fails naming deferred.transactional.
// On the memory and the embedded backend, and on a backend whose enqueue fails.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defer } from '../../../shim/api/defer.js';
import {
  InvalidTaskError,
  TransactionalEnqueueError,
  TransactionalNotSupportedError,
  TransactionalTaskDroppedError,
} from '../../../shim/api/errors.js';
import { register } from '../../../shim/api/registry.js';
import { transactional, transactionStorage } from '../../../shim/api/transactional.js';
import type { EnqueuedTask } from '../../../shim/api/types.js';
import { drain, resetRuntime } from '../../../shim/runtime/runtime.js';
import * as deferred from '../../../shim/deferred.js';
import * as shim from '../../../shim/index.js';
import { deliverTo, freshRuntime, recordingBackend, type TestRuntime } from './helpers.js';

let rt: TestRuntime;
let calls: unknown[][];

function work(...args: unknown[]): void {
  calls.push(args);
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** A promise to block work on, and the function that lets it go on. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

/** The auto names' counter: `task3` (memory) or `task<random>-3` (embedded). */
const sequence = (task: EnqueuedTask) => Number(/(\d+)$/.exec(task.name)![1]);

it('is exported as deferred.transactional and as flat transactional', () => {
  expect(deferred.transactional).toBe(transactional);
  expect(shim.transactional).toBe(transactional);
  expect(shim.deferred.transactional).toBe(transactional);
});

describe.each(['memory', 'embedded'] as const)('on the %s backend', (backend) => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'deferred-transactional-'));
    rt = await freshRuntime({ backend, dataDir });
    calls = [];
    register(work);
    deliverTo();
  });
  afterEach(async () => {
    await resetRuntime();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('holds the tasks until work resolves, then enqueues them in order and resolves their promises', async () => {
    const { wait, open } = gate();
    const promises: Array<Promise<EnqueuedTask>> = [];
    const scope = transactional(async () => {
      promises.push(defer(work, 'a', { _transactional: true }));
      await nextTurn();
      promises.push(defer(work, 'b', { _transactional: true }));
      promises.push(defer(work, 'c', { _transactional: true }));
      void defer(work, 'ordinary');
      await wait;
      return 'committed';
    });
    await nextTurn();
    await drain();
    expect(calls).toEqual([['ordinary']]);

    open();
    expect(await scope).toBe('committed');
    const tasks = await Promise.all(promises);
    expect(tasks.map(sequence)).toEqual([2, 3, 4]);
    expect(tasks.every((task) => task.queue === 'default')).toBe(true);
    await drain();
    expect(calls.slice(1).sort()).toEqual([['a'], ['b'], ['c']]);
    expect(rt.logger.at('error')).toEqual([]);
  });

  it('drops the tasks when work throws: their promises reject with the reason, nothing is enqueued or logged', async () => {
    const failure = new Error('the commit failed');
    let held!: Promise<EnqueuedTask>;
    const scope = transactional(async () => {
      held = defer(work, 'lost', { _transactional: true });
      void defer(work, 'lost, unobserved', { _transactional: true });
      await nextTurn();
      throw failure;
    });
    await expect(scope).rejects.toBe(failure);
    const dropped = await held.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(dropped).toBeInstanceOf(TransactionalTaskDroppedError);
    expect((dropped as Error).message).toMatch(/deferred\.transactional\(work\) it was deferred in threw/);
    expect((dropped as Error).cause).toBe(failure);
    await drain();
    await nextTurn();
    expect(calls).toEqual([]);
    expect(rt.logger.at('error')).toEqual([]);
  });

  it('a synchronous throw from work drops the tasks too', async () => {
    let held!: Promise<EnqueuedTask>;
    await expect(
      transactional(() => {
        held = defer(work, 1, { _transactional: true });
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    await expect(held).rejects.toBeInstanceOf(TransactionalTaskDroppedError);
    await drain();
  });

  it('a nested scope commits into the one around it: enqueued when the outer resolves, dropped if the outer throws', async () => {
    let inner!: Promise<EnqueuedTask>;
    await expect(
      transactional(async () => {
        await transactional(async () => {
          inner = defer(work, 'inner', { _transactional: true });
        });
        await drain();
        expect(calls).toEqual([]);
        throw new Error('outer rolls back');
      }),
    ).rejects.toThrow('outer rolls back');
    await expect(inner).rejects.toBeInstanceOf(TransactionalTaskDroppedError);

    const order: Array<Promise<EnqueuedTask>> = [];
    await transactional(async () => {
      order.push(defer(work, 'outer 1', { _transactional: true }));
      await transactional(async () => {
        order.push(defer(work, 'inner', { _transactional: true }));
      });
      order.push(defer(work, 'outer 2', { _transactional: true }));
    });
    const tasks = await Promise.all(order);
    expect(tasks.map(sequence)).toEqual([1, 2, 3].map((n) => n + sequence(tasks[0]!) - 1));
    await drain();
    expect(calls.map(([value]) => value).sort()).toEqual(['inner', 'outer 1', 'outer 2']);
  });

  it('a nested scope that throws drops only its own tasks; the outer one goes on', async () => {
    let inner!: Promise<EnqueuedTask>;
    let outer!: Promise<EnqueuedTask>;
    await transactional(async () => {
      outer = defer(work, 'outer', { _transactional: true });
      await transactional(async () => {
        inner = defer(work, 'inner', { _transactional: true });
        throw new Error('inner rolls back');
      }).catch(() => undefined);
    });
    await expect(inner).rejects.toBeInstanceOf(TransactionalTaskDroppedError);
    await expect(outer).resolves.toMatchObject({ queue: 'default' });
    await drain();
    expect(calls).toEqual([['outer']]);
  });

  it('scopes running at once are independent', async () => {
    const a = gate();
    let kept!: Promise<EnqueuedTask>;
    let lost!: Promise<EnqueuedTask>;
    const committing = transactional(async () => {
      kept = defer(work, 'kept', { _transactional: true });
      await a.wait;
    });
    const failing = transactional(async () => {
      lost = defer(work, 'lost', { _transactional: true });
      await nextTurn();
      throw new Error('only this one');
    });
    await expect(failing).rejects.toThrow('only this one');
    a.open();
    await committing;
    await expect(lost).rejects.toBeInstanceOf(TransactionalTaskDroppedError);
    await expect(kept).resolves.toBeTruthy();
    await drain();
    expect(calls).toEqual([['kept']]);
  });

  it('awaiting a held task inside work rejects at once (instead of waiting forever) and drops it', async () => {
    const outcome = await transactional(async () => {
      try {
        await defer(work, 'awaited', { _transactional: true });
        return 'not reached';
      } catch (error) {
        return error;
      }
    });
    expect(outcome).toBeInstanceOf(TransactionalTaskDroppedError);
    expect((outcome as Error).message).toMatch(/awaited inside its deferred\.transactional\(work\)/);
    await expect(
      transactional(() => Promise.all([defer(work, 'all', { _transactional: true })])),
    ).rejects.toBeInstanceOf(TransactionalTaskDroppedError);
    await drain();
    expect(calls).toEqual([]);
  });

  it('a .catch handler inside work is not a wait: the task is still enqueued', async () => {
    const caught: unknown[] = [];
    let held!: Promise<EnqueuedTask>;
    await transactional(async () => {
      held = defer(work, 'caught', { _transactional: true });
      held.catch((error: unknown) => caught.push(error));
    });
    await expect(held).resolves.toBeTruthy();
    await drain();
    expect(calls).toEqual([['caught']]);
    expect(caught).toEqual([]);
  });

  it('outside a scope, _transactional: true rejects with an error that names deferred.transactional', async () => {
    const promise = defer(work, { _transactional: true });
    await expect(promise).rejects.toBeInstanceOf(TransactionalNotSupportedError);
    await expect(promise).rejects.toThrow(/deferred\.transactional\(work\)/);
    await drain();
  });

  it('a _transactional defer made after work settled (work did not await it) is not enqueued', async () => {
    const late = gate();
    let lateDefer!: Promise<{ promise: Promise<EnqueuedTask> }>;
    await transactional(async () => {
      lateDefer = late.wait.then(() => ({ promise: defer(work, 'late', { _transactional: true }) }));
    });
    late.open();
    await expect((await lateDefer).promise).rejects.toThrow(/deferred\.transactional/);
    await drain();
    expect(calls).toEqual([]);
  });

  it('bad options still throw synchronously inside work', async () => {
    await expect(
      transactional(() => {
        defer(work, { _transactional: true, _name: 'named' });
      }),
    ).rejects.toBeInstanceOf(InvalidTaskError);
  });
});

// Node 20's AsyncLocalStorage, once run, tags every async resource of the process until it is disabled.
it('switches its storage off once no scope is open', async () => {
  await freshRuntime();
  const storage = transactionStorage as unknown as { enabled?: boolean };
  if (!('enabled' in storage)) return expect(process.versions.node.split('.')[0]).not.toBe('20');
  const during: Array<boolean | undefined> = [];
  const gateA = gate();
  const a = transactional(async () => {
    await gateA.wait;
    during.push(storage.enabled);
  });
  await transactional(async () => {
    await nextTurn();
    during.push(storage.enabled);
  });
  // One scope is still open: the storage stays on for it.
  during.push(storage.enabled);
  gateA.open();
  await a;
  expect(during).toEqual([true, true, true]);
  expect(storage.enabled).toBe(false);
});

describe('when an enqueue fails after work resolved', () => {
  beforeEach(async () => {
    calls = [];
  });

  it('the other tasks are enqueued, the failed one rejects, and transactional rejects with TransactionalEnqueueError', async () => {
    const refused = new Error('backend down for this one');
    const backend = recordingBackend();
    const enqueue = backend.enqueue.bind(backend);
    backend.enqueue = async (task) => {
      if (task.transactional) throw new Error('held tasks must reach the backend as ordinary tasks');
      if (task.queue === 'broken') throw refused;
      return enqueue(task);
    };
    rt = await freshRuntime({ backend });
    register(work);
    const promises: Array<Promise<EnqueuedTask>> = [];
    const error = await transactional(async () => {
      promises.push(defer(work, 1, { _transactional: true }));
      promises.push(defer(work, 2, { _transactional: true, _queue: 'broken' }));
      promises.push(defer(work, 3, { _transactional: true }));
      return 'result of work';
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionalEnqueueError);
    expect(error).toMatchObject({ errors: [refused], result: 'result of work', message: expect.stringMatching(/1 of 3 held tasks could not be enqueued/) });
    const settled = await Promise.allSettled(promises);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(backend.enqueued.map((task) => task.queue)).toEqual(['default', 'default']);
  });

  it('work must be a function', async () => {
    await expect(transactional('nope' as never)).rejects.toThrow(TypeError);
  });
});
