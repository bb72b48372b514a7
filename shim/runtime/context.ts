// The metadata of the task being run, reachable from anywhere inside the task
// function through AsyncLocalStorage.
//
// On Node 20 an AsyncLocalStorage that has been `run()` once installs async hooks
// that tag every async resource the process creates from then on (each socket,
// timer and promise of every ordinary request), which cost about 1% of an Express
// app's CPU per request in the overhead bench. The storage is therefore switched off
// again whenever no task is running (`disable()` also removes the hooks when no
// other storage needs them), so the app pays only while tasks run.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Environ, TaskContext } from '../api/types.js';
import { sharedSlot } from './global-state.js';
import { headerNameOf } from './header-names.js';

interface TaskContextState {
  storage: AsyncLocalStorage<TaskContext>;
  /** Tasks inside `runWithTaskContext` now; shared, like the storage, by the ESM and CommonJS builds. */
  running: number;
}

const state = sharedSlot<TaskContextState>('taskContext', () => ({ storage: new AsyncLocalStorage<TaskContext>(), running: 0 }));

/** The storage itself, for tests that check it is switched off between tasks. */
export const taskContextStorage = state.storage;

/**
 * The context of the task currently running, or undefined outside a task. Inside a
 * task it is there until the task function's promise settles; work the task starts
 * without awaiting it may find it gone once no task is running.
 */
export function getTaskContext(): TaskContext | undefined {
  return state.storage.getStore();
}

export async function runWithTaskContext<T>(context: TaskContext, fn: () => T): Promise<Awaited<T>> {
  state.running += 1;
  try {
    return await state.storage.run(context, fn);
  } finally {
    state.running -= 1;
    if (state.running === 0) state.storage.disable();
  }
}

/** Builds the context from the `HTTP_X_APPENGINE_*` keys of a task request. */
export function taskContextFromEnviron(environ: Environ): TaskContext {
  // App Engine targets send X-AppEngine-*; Cloud Tasks HTTP targets the same facts as X-CloudTasks-*.
  const header = (name: string): string | undefined => {
    const value = environ[`HTTP_${name}`] ?? environ[`HTTP_${name.replace('X_APPENGINE_', 'X_CLOUDTASKS_')}`];
    return typeof value === 'string' ? value : undefined;
  };
  const headers: Record<string, string> = {};
  for (const key in environ) {
    const value = environ[key];
    if (typeof value === 'string' && key.startsWith('HTTP_')) headers[headerNameOf(key)] = value;
  }
  const context: TaskContext = {
    name: header('X_APPENGINE_TASKNAME') ?? '',
    queue: header('X_APPENGINE_QUEUENAME') ?? '',
    retryCount: toCount(header('X_APPENGINE_TASKRETRYCOUNT')),
    executionCount: toCount(header('X_APPENGINE_TASKEXECUTIONCOUNT')),
    headers,
  };
  const etaSeconds = Number(header('X_APPENGINE_TASKETA'));
  if (header('X_APPENGINE_TASKETA') !== undefined && Number.isFinite(etaSeconds)) context.eta = new Date(etaSeconds * 1000);
  const previous = Number(header('X_APPENGINE_TASKPREVIOUSRESPONSE'));
  if (header('X_APPENGINE_TASKPREVIOUSRESPONSE') !== undefined && Number.isInteger(previous)) context.previousResponse = previous;
  return context;
}

function toCount(value: string | undefined): number {
  const n = Number(value);
  return value !== undefined && Number.isInteger(n) && n >= 0 ? n : 0;
}
