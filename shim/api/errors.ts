// Errors of the deferred API. The ESM and CommonJS builds each define these
// classes, and user code may load one build while the Handler comes from the
// other: `instanceof` therefore also accepts an error branded by the twin class
// of the other build (same class name, same brand symbol).

const BRAND = Symbol.for('deferred-migrate.error-classes');

type Branded = { [BRAND]?: readonly string[] };

export class DeferredError extends Error {
  declare readonly [BRAND]: readonly string[];

  constructor(message?: string, options?: { cause?: unknown }) {
    super(message, options);
    const chain: string[] = [];
    for (let cls: unknown = new.target; typeof cls === 'function' && cls !== Error; cls = Object.getPrototypeOf(cls)) {
      chain.push((cls as { name: string }).name);
    }
    Object.defineProperty(this, BRAND, { value: chain, enumerable: false });
    this.name = new.target.name;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    const chain = (value as Branded | null | undefined)?.[BRAND];
    return Array.isArray(chain) && chain.includes(this.name);
  }
}

/**
 * The task will never succeed: answered 200 so the queue drops it, logged at error level.
 * An app's subclass is named `PermanentTaskFailure` unless it names itself, as the legacy
 * class (a `name` field) made it: task code testing `error.name` sees the same.
 */
export class PermanentTaskFailure extends DeferredError {
  constructor(message?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentTaskFailure';
  }
}

/** This attempt failed, retry quietly: answered 408, logged at debug level. Subclasses named as PermanentTaskFailure's. */
export class SingularTaskFailure extends DeferredError {
  constructor(message?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SingularTaskFailure';
  }
}

/** A task with this name is queued, or was in the recent past (tombstone). */
export class TaskAlreadyExistsError extends DeferredError {
  constructor(
    readonly taskName: string,
    readonly queue: string,
    message = `A task named "${taskName}" already exists (or existed recently) in queue "${queue}"; task names are unique per queue.`,
  ) {
    super(message);
  }
}

/**
 * The task of this name already ran, and its name is kept as a tombstone: Task Queue's
 * TombstonedTaskError, told apart where the backend can (the embedded queue; Cloud Tasks
 * answers ALREADY_EXISTS for both, so there it is a plain TaskAlreadyExistsError). In
 * Python it was a sibling of TaskAlreadyExistsError; here it is a subclass, so that a
 * catch of TaskAlreadyExistsError (the one class the legacy Node.js API threw for both,
 * and what this shim threw before) still sees it.
 */
export class TombstonedTaskError extends TaskAlreadyExistsError {
  constructor(taskName: string, queue: string) {
    super(taskName, queue, `A task named "${taskName}" already ran in queue "${queue}", and its name stays taken (tombstoned) for a while; task names are unique per queue.`);
  }
}

/** Bad `_` options (countdown with eta, bad name, URL, eta too far out, unknown key...). */
export class InvalidTaskError extends DeferredError {}

// The Task Queue API raised these subclasses for the failures it told apart; code
// migrated from it may test them (`instanceof`, `error.name`), and a test of
// InvalidTaskError still matches them all. (In Python, InvalidQueueNameError and
// InvalidTaskRetryOptionsError were not InvalidTaskErrors; here they are, so that a
// catch of InvalidTaskError written against this shim keeps seeing every bad option.)

/** `_name` does not match `^[a-zA-Z0-9_-]{1,500}$`, or names a transactional task. */
export class InvalidTaskNameError extends InvalidTaskError {}

/** `_eta` is not a Date or epoch seconds, or the ETA is more than 30 days ahead. */
export class InvalidEtaError extends InvalidTaskError {}

/** `_url` is not a relative path starting with `/`, has a fragment, or is longer than 2083 characters. */
export class InvalidUrlError extends InvalidTaskError {}

/** `_queue` does not match `^[a-zA-Z0-9-]{1,100}$`. */
export class InvalidQueueNameError extends InvalidTaskError {}

/** `_retry_options` has an unknown key or a value out of range. */
export class InvalidTaskRetryOptionsError extends InvalidTaskError {}

/** `defer`/`serialize` got a function that was never registered, or a payload names an unknown function. */
export class NotRegisteredError extends DeferredError {}

/** An argument cannot be carried across the queue (function, symbol, class instance, cycle...). */
export class UnserializableArgumentError extends DeferredError {}

/** A payload could not be decoded (not an envelope, corrupt, too deep, too large). */
export class PayloadDecodeError extends DeferredError {}

/** `_transactional: true` outside `deferred.transactional(work)`, on a backend that has no transactions. */
export class TransactionalNotSupportedError extends DeferredError {
  constructor(backendKind: string) {
    super(
      `The ${backendKind} backend has no transactions, so _transactional: true cannot be honoured outside deferred.transactional(work). ` +
        'Make the call inside deferred.transactional(async () => { ...commit...; defer(fn, { _transactional: true }) }) to enqueue it only once work resolves, ' +
        'or drop _transactional and defer after your transaction commits.',
    );
  }
}

/** A task held by `deferred.transactional(work)` that was never enqueued: work threw, or the task was awaited inside work. */
export class TransactionalTaskDroppedError extends DeferredError {}

/** `deferred.transactional(work)`: work resolved (committed), but some held tasks could not be enqueued. */
export class TransactionalEnqueueError extends DeferredError {
  constructor(
    message: string,
    /** Why each task that was not enqueued failed, in deferral order. */
    readonly errors: readonly unknown[],
    /** What work resolved to. */
    readonly result: unknown,
  ) {
    super(message, { cause: errors[0] });
  }
}

/** The task does not fit even after its payload moved to the overflow store (e.g. huge headers). */
export class TaskTooLargeError extends DeferredError {}

/** Queues are defined (queue.yaml) and this one is not among them, or it is a pull queue. */
export class UnknownQueueError extends DeferredError {
  constructor(
    readonly queue: string,
    message: string,
  ) {
    super(message);
  }
}
