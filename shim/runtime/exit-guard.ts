// The legacy defer() stored its task before it returned, so `defer(); process.exit()`
// kept it. The shim's enqueue completes later (the local backends group-commit on
// process.nextTick, Cloud Tasks answers over the network), and Node runs no timer,
// tick or promise reaction after the 'exit' event. So every enqueue in flight is
// known here until it settles, and an 'exit' listener (process.exit(), an uncaught
// exception or unhandled rejection) settles what the backend can store synchronously
// (the embedded queue: Backend.settleOnExit) and logs at error level, synchronously,
// each task that is not stored: never silent.
// (process.abort(), process.reallyExit() and a fatal signal end the process without
// the event: the codemod awaits or reports a defer() those follow.)
import type { Backend, ExitOutcome, Logger, TaskSpec } from '../api/types.js';
import { sharedSlot } from './global-state.js';

interface InFlight {
  /** The registered name of the deferred function. */
  fn: string;
  spec: TaskSpec;
  backend: Backend;
  logger: Logger;
  // An intrusive list: adding and removing the entry of every defer() hashes nothing.
  prev: InFlight | undefined;
  next: InFlight | undefined;
}

interface GuardState {
  /** The first entry in flight (newest first). */
  head: InFlight | undefined;
  /** The 'exit' listener is installed (once per process, for both builds). */
  installed: boolean;
  /** The 'exit' event has been emitted: an enqueue started now (by a later 'exit' listener) is settled at once. */
  exiting: boolean;
}

const ADVICE = 'Await defer() before the process exits (docs/shim-api.md#when-the-process-exits).';

const state = sharedSlot<GuardState>('exitGuard', () => ({ head: undefined, installed: false, exiting: false }));

/** What `guardEnqueue` returns, for `releaseEnqueue` once the enqueue settles. */
export type GuardedEnqueue = object;

/**
 * Keeps the enqueue of `spec` (the spec given to `backend.enqueue`) known until
 * `releaseEnqueue` is given what this returns, when it settles (`runtime.track` does:
 * one promise reaction per enqueue, not two).
 */
export function guardEnqueue(fn: string, spec: TaskSpec, backend: Backend, logger: Logger): GuardedEnqueue {
  const entry: InFlight = { fn, spec, backend, logger, prev: undefined, next: state.head };
  if (state.exiting) {
    settle([entry]);
    return entry;
  }
  if (state.head) state.head.prev = entry;
  state.head = entry;
  if (!state.installed) {
    state.installed = true;
    process.on('exit', onExit);
  }
  return entry;
}

export function releaseEnqueue(guarded: GuardedEnqueue): void {
  const entry = guarded as InFlight;
  if (entry.prev) entry.prev.next = entry.next;
  else if (state.head === entry) state.head = entry.next;
  else return; // settled at exit already, or released twice
  if (entry.next) entry.next.prev = entry.prev;
  entry.prev = entry.next = undefined;
}

function onExit(): void {
  state.exiting = true;
  const entries: InFlight[] = [];
  for (let entry = state.head; entry; entry = entry.next) entries.push(entry);
  state.head = undefined;
  // Oldest first, as they were deferred.
  settle(entries.reverse());
}

/** Settles what each backend can store now and logs every task that is not stored. */
function settle(entries: readonly InFlight[]): void {
  const outcomes = new Map<Backend, ReadonlyMap<TaskSpec, ExitOutcome> | undefined>();
  for (const entry of entries) {
    const { backend, spec, logger } = entry;
    if (!outcomes.has(backend)) outcomes.set(backend, settleBackend(entry));
    const outcome = outcomes.get(backend)?.get(spec);
    if (outcome && 'task' in outcome) continue;
    const fields = { function: entry.fn, queue: spec.queue, ...(spec.name !== undefined && { task: spec.name }), backend: backend.kind };
    try {
      if (outcome) logger.error('deferring a task failed: the task was not enqueued', { ...fields, error: outcome.error });
      else if (backend.settleOnExit) logger.error(`the process is exiting before this deferred task was stored: the task is lost. ${ADVICE}`, fields);
      else logger.error(`the process is exiting while this deferred task's enqueue is in flight, which the ${backend.kind} backend cannot finish now: the task is probably not enqueued. ${ADVICE}`, fields);
    } catch {
      // A logger that throws at exit must not hide the other tasks.
    }
  }
}

function settleBackend(entry: InFlight): ReadonlyMap<TaskSpec, ExitOutcome> | undefined {
  try {
    return entry.backend.settleOnExit?.();
  } catch (error) {
    try {
      entry.logger.error('storing the pending tasks at process exit failed', { backend: entry.backend.kind, error });
    } catch {
      // As above.
    }
    return undefined;
  }
}
