// The operations surface of the runtime's current backend (one per backend object).
import type { Backend } from '../api/types.js';
import type { QueueOperations } from '../operations/types.js';
import { getRuntime } from '../runtime/runtime.js';

const byBackend = new WeakMap<Backend, QueueOperations>();

export function runtimeOperations(): QueueOperations {
  const backend = getRuntime().backend;
  let operations = byBackend.get(backend);
  if (!operations) byBackend.set(backend, (operations = operationsOf(backend)));
  return operations;
}

function operationsOf(backend: Backend): QueueOperations {
  throw new Error(`the ${backend.kind} backend offers no queue operations yet`);
}
