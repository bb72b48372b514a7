// Shared set-up of the shim core tests: a memory backend on a ManualClock whose
// due tasks are delivered, in process, to a Handler instance used as a Node listener.
import type { Backend, Environ, LogLevel, Logger, TaskSpec } from '../../../shim/api/types.js';
import { Handler } from '../../../shim/api/handler.js';
import { clearRegistry } from '../../../shim/api/registry.js';
import { nodeListenerTarget } from '../../../shim/adapters/inject.js';
import { ManualClock } from '../../../shim/runtime/clock.js';
import { configure, getRuntime, resetRuntime, type Mode, type RuntimeOptions } from '../../../shim/runtime/runtime.js';

export interface LogEntry {
  level: LogLevel;
  message: string;
  fields: Record<string, unknown> | undefined;
}

export function recordingLogger(): Logger & { entries: LogEntry[]; at(level: LogLevel): LogEntry[] } {
  const entries: LogEntry[] = [];
  const log = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    entries.push({ level, message, fields });
  };
  return {
    entries,
    at: (level) => entries.filter((entry) => entry.level === level),
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
  };
}

export interface TestRuntime {
  clock: ManualClock;
  logger: ReturnType<typeof recordingLogger>;
  backend: Backend;
}

/** Fresh registry and runtime: memory backend, manual clock, recording logger. */
export async function freshRuntime(options: RuntimeOptions & { mode?: Mode } = {}): Promise<TestRuntime> {
  await resetRuntime();
  clearRegistry();
  const clock = new ManualClock(Date.UTC(2025, 0, 1));
  const logger = recordingLogger();
  const runtime = configure({ backend: 'memory', clock, logger, mode: 'development', ...options });
  return { clock, logger, backend: runtime.backend };
}

/** Delivers due tasks to `handler` (default a plain Handler) through light-my-request. */
export function deliverTo(runtimeHandler: Handler = new Handler()): void {
  getRuntime().attach(nodeListenerTarget(runtimeHandler));
}

/** The environ a development-server task request would have, for `Handler.post`. */
export function taskEnviron(body: Uint8Array, overrides: Partial<Environ> = {}): Environ {
  return {
    REQUEST_METHOD: 'POST',
    PATH_INFO: '/_ah/queue/deferred',
    CONTENT_LENGTH: String(body.byteLength),
    'wsgi.input': body,
    SERVER_SOFTWARE: 'Development/1.0: unittest',
    HTTP_X_APPENGINE_TASKNAME: 'taskname-goes-here',
    ...overrides,
  };
}

/** A Backend that records what it is asked to enqueue (and delivers nothing). */
export function recordingBackend(overrides: Partial<Backend> = {}): Backend & { enqueued: TaskSpec[] } {
  const enqueued: TaskSpec[] = [];
  const blobs = new Map<string, Uint8Array>();
  let counter = 0;
  return {
    kind: 'recording',
    maxTaskSizeBytes: 100 * 1024,
    overflow: {
      put: async (data) => {
        const key = `blob${++counter}`;
        blobs.set(key, data);
        return key;
      },
      get: async (key) => blobs.get(key),
      delete: async (key) => void blobs.delete(key),
    },
    enqueued,
    async enqueue(task) {
      enqueued.push(task);
      return { name: task.name ?? `task${enqueued.length}`, queue: task.queue, eta: new Date(task.etaMs), url: task.url, headers: task.headers };
    },
    verify: async () => ({ ok: true }),
    attach: () => {},
    drain: async () => 0,
    close: async () => {},
    ...overrides,
  };
}
