// The `deferred` namespace (`import { deferred } from 'deferred-migrate/shim'`),
// mirroring Python's `google.appengine.ext.deferred` module.
export { defer } from './api/defer.js';
export { PermanentTaskFailure, SingularTaskFailure } from './api/errors.js';
export { Handler } from './api/handler.js';
export { register, registerModule } from './api/registry.js';
export { transactional } from './api/transactional.js';
export type { Environ } from './api/types.js';
export { environFrom as environ } from './adapters/environ.js';
export { getTaskContext } from './runtime/context.js';
export { run, serialize } from './serialization/envelope.js';
