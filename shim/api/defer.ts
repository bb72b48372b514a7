// `defer(fn, ...args, options?)`: everything that can be wrong with the call
// (unregistered function, bad options, unserializable argument) throws
// synchronously at the call site; only the enqueue itself is asynchronous.
import { guardEnqueue } from '../runtime/exit-guard.js';
import { getRuntime, type Runtime } from '../runtime/runtime.js';
import { encodeCall, encodeOverflow, MAX_PAYLOAD_BYTES } from '../serialization/envelope.js';
import { findQueue, type QueueConfig } from '../queues/queue-yaml.js';
import { TaskTooLargeError, UnknownQueueError } from './errors.js';
import { resolveOptions, splitDeferArgs } from './options.js';
import { requireName } from './registry.js';
import { currentTransactionScope, refuseWaitFromInside, type HeldTask } from './transactional.js';
import type { Backend, EnqueuedTask, Logger, TaskSpec } from './types.js';

/** Task size as App Engine counts it: method + payload + URL + (name + value + 4) per header. */
export function taskSize(task: Pick<TaskSpec, 'body' | 'url' | 'headers'>): number {
  let size = 'POST'.length + task.body.byteLength + task.url.length;
  for (const [name, value] of Object.entries(task.headers)) size += name.length + value.length + 4;
  return size;
}

/**
 * Enqueues a call of the registered function `fn` with `args`. The last argument
 * is the options object when it is a plain object whose own keys all begin
 * with `_`. The returned promise rejects when the enqueue fails; when nobody
 * awaits or catches it, the failure is logged at error level instead, so an
 * un-awaited call neither loses the task silently nor crashes the process.
 * With `_transactional: true` inside `deferred.transactional(work)` the task is
 * held and the promise settles once work has resolved (see transactional.ts).
 */
export function defer<F extends (...args: never[]) => unknown>(fn: F, ...rest: unknown[]): Promise<EnqueuedTask> {
  const name = requireName(fn);
  const { args, options } = splitDeferArgs(rest);
  const runtime = getRuntime();
  const resolved = resolveOptions(options, runtime.clock.now());
  requireKnownQueue(runtime.queues, resolved.queue);
  const body = encodeCall(name, args);
  if (body.byteLength > MAX_PAYLOAD_BYTES) {
    throw new TaskTooLargeError(`The arguments of ${name} encode to ${body.byteLength} bytes; the limit is ${MAX_PAYLOAD_BYTES}.`);
  }
  const spec: TaskSpec = { ...resolved, body };
  let settle!: { resolve: (task: EnqueuedTask) => void; reject: (error: unknown) => void };
  const result = new ObservedPromise<EnqueuedTask>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const scope = spec.transactional ? currentTransactionScope() : undefined;
  let held: HeldTask | undefined;
  if (scope === undefined) {
    // Outside deferred.transactional a `_transactional` task goes to the backend, which refuses it.
    startEnqueue(runtime, spec, name).then(settle.resolve, settle.reject);
  } else {
    // Enqueued as an ordinary task once the scope commits, on the backend configured then.
    held = scope.hold(() => startEnqueue(getRuntime(), { ...spec, transactional: false }, name), settle.resolve, settle.reject);
    const task = held;
    result.onWait = () => refuseWaitFromInside(task);
  }
  // Our own handler keeps an unobserved rejection from crashing the process; the
  // failure is logged only when no caller awaited or caught the promise by the
  // next turn of the event loop (a caller who handles the error gets no noise).
  // A task dropped because its transactional scope threw is not a failure.
  Promise.prototype.then.call(result, undefined, (error: unknown) => {
    setImmediate(() => {
      if (!result.observed && held?.rolledBack !== true) logEnqueueFailure(runtime.logger, name, spec, error);
    });
  });
  return result;
}

/** With queues defined, only those (and App Engine's implicit `default`) take tasks, as on App Engine. */
function requireKnownQueue(config: QueueConfig | undefined, queue: string): void {
  if (!config) return;
  const definition = findQueue(config, queue);
  if (definition?.mode === 'pull') {
    throw new UnknownQueueError(queue, `Queue "${queue}" is a pull queue (mode: pull); deferred tasks need a push queue.`);
  }
  if (definition || queue === 'default') return;
  const names = config.queues.filter((q) => q.mode === 'push').map((q) => q.name);
  throw new UnknownQueueError(
    queue,
    `Unknown queue "${queue}": it is not defined in ${config.source ?? 'the queue configuration'} (defined: ${names.join(', ') || 'none'}).`,
  );
}

function startEnqueue(runtime: Runtime, spec: TaskSpec, fn: string): Promise<EnqueuedTask> {
  const backend = runtime.backend;
  const enqueued = taskSize(spec) > backend.maxTaskSizeBytes ? enqueueOverflowing(backend, spec) : backend.enqueue(spec);
  // Known until it settles, so a process.exit() before then neither loses it silently nor (embedded queue) at all.
  runtime.track(enqueued, guardEnqueue(fn, spec, backend, runtime.logger));
  return enqueued;
}

/** A promise that knows whether anyone called `then` (which `await`, `catch` and `finally` do). */
class ObservedPromise<T> extends Promise<T> {
  observed = false;
  /** Called when someone attaches a fulfilment handler, i.e. waits for the value (`await`, `.then(f)`, `Promise.all`). */
  onWait: (() => void) | undefined;

  override then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    this.observed = true;
    if (onFulfilled && this.onWait) this.onWait();
    return super.then(onFulfilled, onRejected);
  }
}

/** The payload goes to the overflow store and the task carries its key; the blob is deleted if the enqueue fails. */
async function enqueueOverflowing(backend: Backend, spec: TaskSpec): Promise<EnqueuedTask> {
  const key = await backend.overflow.put(spec.body, { queue: spec.queue, ...(spec.name !== undefined && { taskName: spec.name }) });
  const small: TaskSpec = { ...spec, body: encodeOverflow(key), overflowKey: key };
  try {
    const size = taskSize(small);
    if (size > backend.maxTaskSizeBytes) {
      throw new TaskTooLargeError(
        `The task is ${size} bytes even with its payload in the overflow store (limit ${backend.maxTaskSizeBytes}); shorten its headers or URL.`,
      );
    }
    return await backend.enqueue(small);
  } catch (error) {
    await backend.overflow.delete(key).catch((cleanupError: unknown) =>
      getRuntime().logger.warn('could not delete the overflow payload of a task that was not enqueued', { key, error: cleanupError }),
    );
    throw error;
  }
}

function logEnqueueFailure(logger: Logger, fn: string, spec: TaskSpec, error: unknown): void {
  logger.error('deferring a task failed: the task was not enqueued', {
    function: fn,
    queue: spec.queue,
    ...(spec.name !== undefined && { task: spec.name }),
    error,
  });
}
