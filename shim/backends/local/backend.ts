// The local backends (embedded SQLite, in-memory): one implementation over any
// QueueStore, with an in-process Dispatcher delivering due tasks to the app.
import { randomBytes, randomUUID } from 'node:crypto';
import { TaskAlreadyExistsError, TombstonedTaskError, TransactionalNotSupportedError } from '../../api/errors.js';
import type {
  Backend,
  Clock,
  DeliveryTarget,
  EnqueuedTask,
  Environ,
  ExitOutcome,
  Logger,
  OverflowStore,
  TaskSpec,
  Verification,
} from '../../api/types.js';
import { LocalQueueOperations } from '../../operations/local-operations.js';
import type { QueueLimits } from '../../operations/types.js';
import { SIGNATURE_ENVIRON_KEY, verifyTaskSignature } from '../../runtime/signing.js';
import { Dispatcher } from './dispatcher.js';
import type { InsertResult, NewTask, QueueStore } from './store.js';

/** An enqueue waiting for the next group commit; `name` undefined: generate one. */
interface PendingInsert {
  task: Omit<NewTask, 'name'>;
  name: string | undefined;
  resolve: (enqueued: EnqueuedTask) => void;
  reject: (error: unknown) => void;
  /** The spec `enqueue` was given: what settleOnExit reports the outcome by. */
  spec: TaskSpec;
  /** Set when the commit stores it, or fails it (the promise's reactions may never run: see settleOnExit). */
  stored?: EnqueuedTask;
  failure?: { error: unknown };
}

/** App Engine's MAX_PUSH_TASK_SIZE_BYTES. */
export const MAX_TASK_SIZE_BYTES = 100 * 1024;
/** Tombstones and unreferenced overflow blobs are kept this long (names of finished tasks stay taken meanwhile). */
const RETENTION_MS = 7 * 24 * 3600 * 1000;
/** Failed tasks are kept this long by default, for an operator to look at and retry. */
export const DEFAULT_FAILED_RETENTION_MS = 7 * 24 * 3600 * 1000;
const SWEEP_INTERVAL_MS = 3600 * 1000;

export interface LocalBackendOptions {
  kind: 'embedded' | 'memory';
  clock: Clock;
  logger: Logger;
  signingSecret: string;
  /** Prefix of generated task names (default: "task" for memory, "task" plus a random tag for embedded so names stay unique across restarts). */
  autoNamePrefix?: string;
  concurrency?: number;
  leaseMs?: number;
  /** See DispatcherOptions.pollMs: set for the embedded queue, whose file other processes may share. */
  pollMs?: number;
  /** Per-queue limits (queue.yaml); empty or unset: every queue unlimited. */
  queueLimits?: ReadonlyMap<string, QueueLimits>;
  /** How long failed tasks are kept (default 7 days). */
  failedRetentionMs?: number;
}

function fail(pending: PendingInsert, error: unknown): void {
  pending.failure = { error };
  pending.reject(error);
}

export class LocalBackend implements Backend {
  readonly kind: 'embedded' | 'memory';
  readonly maxTaskSizeBytes = MAX_TASK_SIZE_BYTES;
  readonly overflow: OverflowStore;
  readonly operations: LocalQueueOperations;
  private readonly dispatcher: Dispatcher;
  private readonly autoNamePrefix: string;
  private nameCounter = 0;
  private pendingInserts: PendingInsert[] = [];
  /** The batch of the latest commit, with its outcomes (settleOnExit). */
  private lastBatch: PendingInsert[] = [];
  private readonly sweepTimer: NodeJS.Timeout;
  private closed = false;

  constructor(
    readonly store: QueueStore,
    private readonly options: LocalBackendOptions,
  ) {
    this.kind = options.kind;
    this.autoNamePrefix = options.autoNamePrefix ?? (options.kind === 'memory' ? 'task' : `task${randomBytes(4).toString('hex')}-`);
    this.dispatcher = new Dispatcher(store, options);
    this.operations = new LocalQueueOperations(store, {
      kind: options.kind,
      clock: options.clock,
      queueLimits: options.queueLimits ?? new Map(),
      onDue: () => this.dispatcher.wake(),
    });
    this.overflow = {
      put: async (data) => {
        const key = `overflow-${randomUUID()}`;
        store.putBlob(key, data, options.clock.now());
        return key;
      },
      get: async (key) => store.getBlob(key),
      delete: async (key) => store.deleteBlob(key),
    };
    this.sweep();
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  enqueue(task: TaskSpec): Promise<EnqueuedTask> {
    if (this.closed) return Promise.reject(new Error(`The ${this.kind} backend is closed; configure() a new one before deferring.`));
    if (task.transactional) return Promise.reject(new TransactionalNotSupportedError(this.kind));
    const base = {
      queue: task.queue,
      url: task.url,
      headers: task.headers,
      body: task.body,
      etaMs: task.etaMs,
      createdMs: this.options.clock.now(),
      ...(task.retry !== undefined && { retry: task.retry }),
      ...(task.overflowKey !== undefined && { overflowKey: task.overflowKey }),
    };
    return new Promise<EnqueuedTask>((resolve, reject) => {
      this.pendingInserts.push({ task: base, name: task.name, resolve, reject, spec: task });
      // nextTick, not setImmediate: a lone awaited defer() costs no extra turn of the
      // event loop, and it runs once the microtask queue is empty, so calls made
      // together (a loop, Promise.all, N callers resumed by the previous commit) are
      // all in the batch. (Not queueMicrotask: it wraps every callback in an
      // AsyncResource, measured at several µs per call.)
      if (this.pendingInserts.length === 1) process.nextTick(() => this.commitPending());
    });
  }

  /**
   * Group commit: the enqueues made together (before the microtask queue empties) go
   * into the store in one transaction (one WAL append instead of one per task). Each
   * promise settles only after that commit, so no task is reported enqueued before it
   * is durable; a task whose own insert fails (a taken `_name`) rejects alone.
   */
  private commitPending(): void {
    let batch = this.pendingInserts;
    this.pendingInserts = [];
    this.lastBatch = batch;
    while (batch.length > 0) {
      let results: InsertResult[];
      try {
        // One task: a plain autocommit insert, without BEGIN and COMMIT around it.
        results = batch.length === 1 ? [this.store.insert(this.named(batch[0]!))] : this.store.insertMany(batch.map((pending) => this.named(pending)));
      } catch (error) {
        for (const pending of batch) fail(pending, error);
        return;
      }
      // A generated name can only collide with a tombstone of an earlier run: those go again with the next name.
      const again: PendingInsert[] = [];
      let stored = false;
      for (let i = 0; i < batch.length; i += 1) {
        const pending = batch[i]!;
        const result = results[i]!;
        if (result === 'duplicate' || result === 'tombstoned') {
          if (pending.name === undefined) again.push(pending);
          else if (result === 'tombstoned') fail(pending, new TombstonedTaskError(pending.name, pending.task.queue));
          else fail(pending, new TaskAlreadyExistsError(pending.name, pending.task.queue));
        } else if ('error' in result) fail(pending, result.error);
        else {
          stored = true;
          const task = { name: result.name, queue: result.queue, eta: new Date(result.etaMs), url: result.url, headers: { ...result.headers } };
          pending.stored = task;
          pending.resolve(task);
        }
      }
      if (stored) this.dispatcher.wake();
      batch = again;
    }
  }

  /**
   * At process exit: commits the pending batch now (better-sqlite3 is synchronous), so
   * `defer(); process.exit()` keeps its task, and gives the outcome of that batch and of
   * the latest one before it (settled, but its promises' reactions may not have run:
   * `process.exit()` in a nextTick queued after the commit's).
   */
  settleOnExit(): ReadonlyMap<TaskSpec, ExitOutcome> {
    const previous = this.lastBatch;
    const pending = this.pendingInserts;
    if (pending.length > 0) this.commitPending();
    const outcomes = new Map<TaskSpec, ExitOutcome>();
    for (const settled of [...previous, ...pending]) {
      if (settled.stored) outcomes.set(settled.spec, { task: settled.stored });
      else if (settled.failure) outcomes.set(settled.spec, settled.failure);
    }
    return outcomes;
  }

  private named(pending: PendingInsert): NewTask {
    return { ...pending.task, name: pending.name ?? `${this.autoNamePrefix}${++this.nameCounter}` };
  }

  async verify(environ: Environ, body: Uint8Array): Promise<Verification> {
    const signature = environ[SIGNATURE_ENVIRON_KEY];
    const queue = environ.HTTP_X_APPENGINE_QUEUENAME;
    const taskName = environ.HTTP_X_APPENGINE_TASKNAME;
    if (typeof signature !== 'string') return { ok: false, reason: 'the X-Deferred-Signature header is missing' };
    if (typeof queue !== 'string' || typeof taskName !== 'string') {
      return { ok: false, reason: 'the X-AppEngine-QueueName or X-AppEngine-TaskName header is missing' };
    }
    return verifyTaskSignature(this.options.signingSecret, { queue, taskName, body }, signature)
      ? { ok: true }
      : { ok: false, reason: 'the X-Deferred-Signature header does not match the request' };
  }

  attach(target: DeliveryTarget): void {
    this.dispatcher.attach(target);
  }

  drain(): Promise<number> {
    return this.dispatcher.drain();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweepTimer);
    this.commitPending(); // enqueues accepted before close() are kept, not dropped
    await this.dispatcher.close();
    this.store.close();
  }

  /**
   * Stops claiming, lets deliveries in flight finish for up to `deadlineMs`,
   * releases the leases of the rest (another process claims them at once), closes.
   */
  async shutdown(deadlineMs: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweepTimer);
    await this.dispatcher.shutdown(deadlineMs);
    this.store.close();
  }

  private sweep(): void {
    try {
      const now = this.options.clock.now();
      this.store.sweep(now - RETENTION_MS, now - (this.options.failedRetentionMs ?? DEFAULT_FAILED_RETENTION_MS));
    } catch (error) {
      this.options.logger.warn('sweeping old tombstones and overflow blobs failed', { error });
    }
  }
}
