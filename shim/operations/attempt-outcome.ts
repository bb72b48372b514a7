// How the task endpoint tells the local dispatcher why an attempt failed. The
// HTTP answer carries only a status (a stack must not leave the process), so the
// Handler leaves the error here, keyed by queue and task name, and the
// dispatcher of the same process takes it when the delivery returns, to record
// it with the attempt. A PermanentTaskFailure answers 200 (App Engine drops the
// task); this is also how the dispatcher learns to keep it as failed instead.
// Bounded: entries nobody takes (a task delivered by Cloud Tasks or by another
// process) are evicted oldest first.
import { sharedSlot } from '../runtime/global-state.js';

export interface AttemptFailure {
  /** PermanentTaskFailure (or an undecodable payload): never retried. */
  permanent: boolean;
  message: string;
  stack?: string;
}

const MAX_ENTRIES = 1000;
const failures = sharedSlot('attemptFailures', () => new Map<string, AttemptFailure>());

export function reportAttemptFailure(queue: string, taskName: string, error: unknown, permanent: boolean): void {
  const key = keyOf(queue, taskName);
  failures.delete(key);
  if (failures.size >= MAX_ENTRIES) failures.delete(failures.keys().next().value!);
  const failure: AttemptFailure =
    error instanceof Error
      ? { permanent, message: `${error.name}: ${error.message}`, ...(error.stack !== undefined && { stack: error.stack }) }
      : { permanent, message: String(error) };
  failures.set(key, failure);
}

export function takeAttemptFailure(queue: string, taskName: string): AttemptFailure | undefined {
  const key = keyOf(queue, taskName);
  const failure = failures.get(key);
  failures.delete(key);
  return failure;
}

function keyOf(queue: string, taskName: string): string {
  return `${queue}\u0000${taskName}`;
}
