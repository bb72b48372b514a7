// deferred-migrate/shim: the Node.js counterpart of App Engine's Python 3
// Deferred API. See docs/shim-api.md.
export * as deferred from './deferred.js';
export { wrapApp } from './adapters/wrap-app.js';
export type { DashboardOptions } from './dashboard/mount.js';
export type { AuthHook, AuthInfo } from './dashboard/security.js';
export { environFrom } from './adapters/environ.js';
export { defer } from './api/defer.js';
export {
  PermanentTaskFailure,
  SingularTaskFailure,
  TaskAlreadyExistsError,
  TombstonedTaskError,
  UnknownQueueError,
  TransactionalEnqueueError,
  TransactionalTaskDroppedError,
  InvalidTaskError,
  InvalidTaskNameError,
  InvalidEtaError,
  InvalidUrlError,
  InvalidQueueNameError,
  InvalidTaskRetryOptionsError,
} from './api/errors.js';
export { Handler } from './api/handler.js';
export { register } from './api/registry.js';
export { transactional } from './api/transactional.js';
export { configure, getRuntime } from './runtime/runtime.js';
export { ManualClock } from './runtime/clock.js';
export { getTaskContext } from './runtime/context.js';
export { run, serialize } from './serialization/envelope.js';
export { QueueFileError } from './backends/local/sqlite-store.js';
export { QueueYamlError } from './queues/queue-yaml.js';
export type { QueueConfig, QueueDefinition, QueueRate } from './queues/queue-yaml.js';
export { TaskNotFoundError, TaskStateError } from './operations/types.js';
export type * from './operations/types.js';
export type * from './api/types.js';
