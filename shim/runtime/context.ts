// The metadata of the task being run, reachable from anywhere inside the task
// function through AsyncLocalStorage.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Environ, TaskContext } from '../api/types.js';
import { sharedSlot } from './global-state.js';

const storage = sharedSlot('taskContextStorage', () => new AsyncLocalStorage<TaskContext>());

/** The context of the task currently running, or undefined outside a task. */
export function getTaskContext(): TaskContext | undefined {
  return storage.getStore();
}

export function runWithTaskContext<T>(context: TaskContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** Builds the context from the `HTTP_X_APPENGINE_*` keys of a task request. */
export function taskContextFromEnviron(environ: Environ): TaskContext {
  // App Engine targets send X-AppEngine-*; Cloud Tasks HTTP targets the same facts as X-CloudTasks-*.
  const header = (name: string): string | undefined => {
    const value = environ[`HTTP_${name}`] ?? environ[`HTTP_${name.replace('X_APPENGINE_', 'X_CLOUDTASKS_')}`];
    return typeof value === 'string' ? value : undefined;
  };
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(environ)) {
    if (key.startsWith('HTTP_') && typeof value === 'string') {
      headers[key.slice(5).toLowerCase().replace(/_/g, '-')] = value;
    }
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
