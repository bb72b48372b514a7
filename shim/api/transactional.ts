// `deferred.transactional(work)`: `defer(fn, ..., { _transactional: true })` calls
// made while `work` runs (in its async context) are held, and enqueued, in the
// order they were made, only once `work` resolves; if `work` throws they are
// dropped. No backend enqueues inside the app's own database transaction, so this
// is "after commit", not atomic with it: a crash between the commit and the
// enqueue loses the held tasks (docs/shim-api.md says how to live with that).
//
// Like the task context (runtime/context.ts), the storage is switched off whenever
// no scope is open, so an app that never uses transactional scopes pays nothing.
import { AsyncLocalStorage } from 'node:async_hooks';
import { sharedSlot } from '../runtime/global-state.js';
import { TransactionalEnqueueError, TransactionalTaskDroppedError } from './errors.js';
import type { EnqueuedTask } from './types.js';

type Outcome = 'open' | 'committed' | 'rolled-back';

/** One `_transactional` defer waiting for its scope to commit. */
export interface HeldTask {
  /** Starts the real enqueue (called once, after the commit). */
  readonly enqueue: () => Promise<EnqueuedTask>;
  readonly resolve: (task: EnqueuedTask) => void;
  readonly reject: (error: unknown) => void;
  settled: boolean;
  /** Dropped because its scope threw: the intended outcome, so no failure is logged. */
  rolledBack?: boolean;
  /** The scope that will pass it on (to its parent) or enqueue it when it commits. */
  owner: TransactionScope;
}

export class TransactionScope {
  outcome: Outcome = 'open';
  readonly held: HeldTask[] = [];

  constructor(readonly parent: TransactionScope | undefined) {}

  /** Holds a task until this scope (and every open scope around it) commits. */
  hold(enqueue: () => Promise<EnqueuedTask>, resolve: (task: EnqueuedTask) => void, reject: (error: unknown) => void): HeldTask {
    const task: HeldTask = { enqueue, resolve, reject, settled: false, owner: this };
    if (this.outcome !== 'open') {
      // Work started this call without awaiting it, and has settled since.
      task.settled = true;
      reject(new TransactionalTaskDroppedError('Not enqueued: the deferred.transactional(work) around this _transactional defer had already settled (work did not await the code that made it).'));
      return task;
    }
    this.held.push(task);
    return task;
  }
}

interface TransactionalState {
  storage: AsyncLocalStorage<TransactionScope>;
  /** Scopes open now, in every async context; shared by the ESM and CommonJS builds. */
  open: number;
}

const state = sharedSlot<TransactionalState>('transactional', () => ({ storage: new AsyncLocalStorage<TransactionScope>(), open: 0 }));

/** The storage itself, for tests that check it is switched off when no scope is open. */
export const transactionStorage = state.storage;

/** The innermost `deferred.transactional` scope of the current async context, open or not. */
export function currentTransactionScope(): TransactionScope | undefined {
  return state.storage.getStore();
}

/**
 * Runs `work`; the `_transactional: true` defers it makes are enqueued once it
 * resolves (inside an enclosing scope: once the outermost one resolves), and
 * dropped if it throws, their promises rejecting with
 * `TransactionalTaskDroppedError`. Resolves to what `work` resolves to, after the
 * held tasks are enqueued; rejects with what `work` throws, or with
 * `TransactionalEnqueueError` when `work` resolved but some tasks could not be
 * enqueued (those tasks' own promises reject with the reason).
 */
export async function transactional<T>(work: () => T | PromiseLike<T>): Promise<Awaited<T>> {
  if (typeof work !== 'function') throw new TypeError('deferred.transactional(work): work must be a function.');
  const around = currentTransactionScope();
  const scope = new TransactionScope(around?.outcome === 'open' ? around : undefined);
  let result: Awaited<T>;
  state.open += 1;
  try {
    result = await state.storage.run(scope, work);
  } catch (error) {
    scope.outcome = 'rolled-back';
    drop(scope.held, new TransactionalTaskDroppedError('Not enqueued: the deferred.transactional(work) it was deferred in threw, so its tasks were dropped.', { cause: error }), true);
    throw error;
  } finally {
    state.open -= 1;
    if (state.open === 0) state.storage.disable();
  }
  scope.outcome = 'committed';
  const next = destination(scope);
  // Not `instanceof`: the scope around may come from the other build (ESM/CommonJS), sharing the storage.
  if (typeof next === 'object') {
    // A nested scope commits into the open one around it, like a savepoint.
    for (const task of scope.held) task.owner = next;
    next.held.push(...scope.held);
    return result;
  }
  if (next === 'drop') {
    drop(scope.held, new TransactionalTaskDroppedError('Not enqueued: an enclosing deferred.transactional(work) threw before this nested one resolved.'), true);
    return result;
  }
  const failures = await enqueueInOrder(scope.held);
  if (failures.length > 0) {
    throw new TransactionalEnqueueError(
      `deferred.transactional: work resolved, but ${failures.length} of ${scope.held.length} held tasks could not be enqueued (their defer() promises reject with the reasons).`,
      failures,
      result,
    );
  }
  return result;
}

/** Where a committed scope's tasks go: the nearest open scope around it, else enqueued now, or dropped if one around it rolled back. */
function destination(scope: TransactionScope): TransactionScope | 'enqueue' | 'drop' {
  for (let around = scope.parent; around !== undefined; around = around.parent) {
    if (around.outcome === 'open') return around;
    if (around.outcome === 'rolled-back') return 'drop';
  }
  return 'enqueue';
}

async function enqueueInOrder(tasks: HeldTask[]): Promise<unknown[]> {
  const failures: unknown[] = [];
  for (const task of tasks) {
    if (task.settled) continue;
    task.settled = true;
    try {
      task.resolve(await task.enqueue());
    } catch (error) {
      failures.push(error);
      task.reject(error);
    }
  }
  return failures;
}

function drop(tasks: HeldTask[], error: TransactionalTaskDroppedError, rolledBack: boolean): void {
  for (const task of tasks) {
    if (task.settled) continue;
    task.settled = true;
    task.rolledBack = rolledBack;
    task.reject(error);
  }
}

/**
 * Called when someone waits for a held task's promise (`await`, `.then(f)`,
 * `Promise.all`). Waiting from inside a scope the task waits for can never end,
 * so the task is dropped and the promise rejects, with what to do instead.
 */
export function refuseWaitFromInside(task: HeldTask): void {
  if (task.settled) return;
  const pending = new Set<TransactionScope>();
  for (let scope: TransactionScope | undefined = task.owner; scope?.outcome === 'open'; scope = scope.parent) pending.add(scope);
  for (let scope = currentTransactionScope(); scope !== undefined; scope = scope.parent) {
    if (!pending.has(scope)) continue;
    task.settled = true;
    task.owner.held.splice(task.owner.held.indexOf(task), 1);
    task.reject(
      new TransactionalTaskDroppedError(
        'Not enqueued: a _transactional defer was awaited inside its deferred.transactional(work), which would wait forever ' +
          '(the task is enqueued only after work resolves). Do not await it inside work; await deferred.transactional(...) instead.',
      ),
    );
    return;
  }
}
