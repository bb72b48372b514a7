// The legacy error classes a migrated catch may test, and what the shim has instead.

/** `google/appengine/api/taskqueue` (with `.js`, `/index`): the legacy module whose errors the legacy defer() threw. */
export const LEGACY_TASKQUEUE = /(^|\/)appengine\/api\/taskqueue(\/index)?(\.[cm]?[jt]s)?$/;
/**
 * Error classes of the legacy deferred and taskqueue modules (Python's
 * `google.appengine.api.taskqueue`, and `TaskQueueError`, the base class of the
 * Node.js port), with the class of deferred-migrate/shim a catch should test
 * instead: the same name where the shim has that class (its errors are named after
 * their classes), else the nearest one, or undefined where the shim throws nothing alike.
 * test/codemods/caught-error-tests.test.ts keeps the same-name entries equal to the shim's classes.
 */
export const LEGACY_ERROR_CLASSES: ReadonlyMap<string, string | undefined> = new Map([
  ['PermanentTaskFailure', 'PermanentTaskFailure'],
  ['SingularTaskFailure', 'SingularTaskFailure'],
  ['InvalidTaskError', 'InvalidTaskError'],
  ['InvalidTaskNameError', 'InvalidTaskNameError'],
  ['InvalidEtaError', 'InvalidEtaError'],
  ['InvalidUrlError', 'InvalidUrlError'],
  ['InvalidQueueNameError', 'InvalidQueueNameError'],
  ['InvalidTaskRetryOptionsError', 'InvalidTaskRetryOptionsError'],
  ['TaskAlreadyExistsError', 'TaskAlreadyExistsError'],
  ['TaskTooLargeError', 'TaskTooLargeError'],
  ['UnknownQueueError', 'UnknownQueueError'],
  ['TombstonedTaskError', 'TombstonedTaskError'],
  ['BadTransactionStateError', 'TransactionalNotSupportedError'],
  ['TransactionalRequestTooLargeError', 'TaskTooLargeError'],
  ['InvalidQueueError', 'InvalidQueueNameError'],
  ['DuplicateTaskNameError', 'TaskAlreadyExistsError'],
  ['TaskQueueError', 'InvalidTaskError'],
  ['TransientError', undefined],
  ['InternalError', undefined],
  ['PermissionDeniedError', undefined],
  ['TooManyTasksError', undefined],
  ['DatastoreError', undefined],
  ['BadTaskStateError', undefined],
  ['InvalidLeaseTimeError', undefined],
  ['InvalidMaxTasksError', undefined],
  ['InvalidDeadlineError', undefined],
  ['InvalidQueueModeError', undefined],
  ['TaskLeaseExpiredError', undefined],
  ['QueuePausedError', undefined],
  ['InvalidTagError', undefined],
]);

/**
 * Legacy classes the shim has but throws on some backends only: a test of one still
 * never matches where the app runs on another, so it stays reported, with this reason.
 */
export const BACKEND_DEPENDENT_ERROR_CLASSES: ReadonlyMap<string, string> = new Map([
  [
    'TombstonedTaskError',
    'only the embedded queue throws TombstonedTaskError (a name whose task already ran); Cloud Tasks answers ALREADY_EXISTS for a queued and a tombstoned name alike, so there both are a TaskAlreadyExistsError (which TombstonedTaskError extends): test TaskAlreadyExistsError to match both',
  ],
]);

/**
 * Legacy classes whose errors the shim throws under that name and, in some cases, as a
 * subclass of another name: `instanceof` still matches them all, a test of the name
 * (`error.name === '...'`, a `case`) misses the subclass's.
 */
export const NAME_SPLIT_ERROR_CLASSES: ReadonlyMap<string, string> = new Map([
  [
    'TaskAlreadyExistsError',
    "the legacy defer() threw TaskAlreadyExistsError also for a name whose task already ran, where the embedded and memory queues throw TombstonedTaskError: a subclass of TaskAlreadyExistsError, named TombstonedTaskError, so this test of the name misses it (Cloud Tasks throws TaskAlreadyExistsError for both). Test `error instanceof TaskAlreadyExistsError` (from deferred-migrate/shim), which matches both",
  ],
]);
