// The operations surface of the runtime's current backend (the backend may be
// replaced by configure(), so it is looked up per request).
import type { QueueOperations } from '../operations/types.js';
import { getRuntime } from '../runtime/runtime.js';
import { OperationsUnavailableError } from './dashboard.js';

export function runtimeOperations(): QueueOperations {
  const backend = getRuntime().backend;
  if (backend.operations === undefined) {
    throw new OperationsUnavailableError(`The ${backend.kind} backend offers no queue operations, so the dashboard has nothing to show.`);
  }
  return backend.operations;
}
