// Process-wide configuration and the lazily created backend. `configure()` may be
// called any time before the first use; options win over DEFERRED_* env vars,
// which win over the defaults.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTaskModules, type TaskModule } from '../api/registry.js';
import type { Backend, Clock, DeliveryTarget, Logger, LogLevel } from '../api/types.js';
import { createBackend, type BackendKind, type CloudTasksOptions } from '../backends/index.js';
import { systemClock } from './clock.js';
import { sharedSlot } from './global-state.js';
import { consoleLogger, isLogLevel } from './logger.js';

export type Mode = 'production' | 'development';

export interface RuntimeOptions {
  /** 'embedded' (default, env DEFERRED_BACKEND), 'memory', 'cloud-tasks', or a Backend instance. */
  backend?: BackendKind | Backend;
  /** Directory of the embedded queue and its signing secret (env DEFERRED_DATA_DIR, default `.deferred` under the cwd). */
  dataDir?: string;
  clock?: Clock;
  logger?: Logger;
  /** Level of the one log line per task that lists its X-AppEngine-* headers (Python's `set_log_level`). Default 'info'. */
  logLevel?: LogLevel;
  /** 'production' (default, env DEFERRED_MODE) requires the backend's signature on task requests. */
  mode?: Mode;
  /** HMAC key of the local dispatcher (env DEFERRED_SIGNING_SECRET; else a file in dataDir for embedded, random for memory). */
  signingSecret?: string;
  /** Largest task request body the Handler reads (default 10 MiB). */
  maxBodyBytes?: number;
  /** Passed to the Cloud Tasks backend. */
  cloudTasks?: CloudTasksOptions;
  /** Modules imported before a task name is declared unknown (env DEFERRED_TASK_MODULES, comma-separated). */
  taskModules?: TaskModule[];
}

export interface Runtime {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly logLevel: LogLevel;
  readonly mode: Mode;
  readonly maxBodyBytes: number;
  /** The backend, created on first access. */
  readonly backend: Backend;
  /** Where the local backends deliver due tasks (set by `wrapApp`); kept across backend re-creation. */
  attach(target: DeliveryTarget): void;
  /** Keeps an enqueue in flight visible to `drain()`/`close()` so no task is lost at shutdown. */
  track(pending: Promise<unknown>): void;
  /** Waits for enqueues in flight, then delivers every task due now. Resolves to the number delivered. */
  drain(): Promise<number>;
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

interface RuntimeState {
  options: RuntimeOptions;
  runtime: Runtime | undefined;
}

const state = sharedSlot<RuntimeState>('runtime', () => ({ options: {}, runtime: undefined }));

/** Sets options (merged over earlier calls). Changing the backend closes the one already created. */
export function configure(options: RuntimeOptions = {}): Runtime {
  const backendChanged = BACKEND_OPTIONS.some((key) => key in options && options[key] !== state.options[key]);
  const merged = { ...state.options, ...options };
  // Built before anything is committed: invalid options leave the old configuration in place.
  const runtime = createRuntime(merged, state.runtime, !backendChanged);
  state.options = merged;
  state.runtime = runtime;
  if ('taskModules' in options) setTaskModules(options.taskModules);
  return runtime;
}

/** Options the backend is built from: changing one replaces the backend. */
const BACKEND_OPTIONS = ['backend', 'dataDir', 'signingSecret', 'cloudTasks', 'clock', 'logger'] as const;

export function getRuntime(): Runtime {
  return (state.runtime ??= createRuntime(state.options, undefined, false));
}

/** Closes the backend and forgets every option (tests). The registry is kept. */
export async function resetRuntime(): Promise<void> {
  const runtime = state.runtime;
  state.runtime = undefined;
  state.options = {};
  setTaskModules(undefined);
  await runtime?.close();
}

export function drain(): Promise<number> {
  return getRuntime().drain();
}

function createRuntime(options: RuntimeOptions, previous: Runtime | undefined, keepBackend: boolean): Runtime {
  const env = process.env;
  const logLevel = options.logLevel ?? 'info';
  if (!isLogLevel(logLevel)) throw new TypeError(`configure(): logLevel must be debug, info, warn or error, got ${String(logLevel)}`);
  const mode = options.mode ?? parseMode(env.DEFERRED_MODE);
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? consoleLogger();
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes <= 0) throw new TypeError(`configure(): maxBodyBytes must be a positive integer, got ${maxBodyBytes}`);
  const kindOrBackend = options.backend ?? parseBackendKind(env.DEFERRED_BACKEND);
  const dataDir = resolve(options.dataDir ?? env.DEFERRED_DATA_DIR ?? '.deferred');

  let backend: Backend | undefined;
  let target: DeliveryTarget | undefined;
  // A previous runtime hands over its delivery target, its enqueues in flight,
  // and its backend unless a backend option changed (then that one is closed).
  const inherited = previous as RuntimeInternals | undefined;
  const pending = inherited?.pending ?? new Set<Promise<unknown>>();
  if (inherited) {
    target = inherited.currentTarget;
    const previousBackend = inherited.createdBackend;
    if (keepBackend) backend = previousBackend;
    else if (previousBackend && previousBackend !== kindOrBackend) {
      previousBackend.close().catch((error: unknown) => logger.error('closing the previous backend failed', { error }));
    }
  }

  const settlePending = async () => {
    while (pending.size > 0) await Promise.allSettled([...pending]);
  };

  const runtime: RuntimeInternals = {
    clock,
    logger,
    logLevel,
    mode,
    maxBodyBytes,
    get backend(): Backend {
      if (backend === undefined) {
        backend =
          typeof kindOrBackend === 'object'
            ? kindOrBackend
            : createBackend(kindOrBackend, {
                clock,
                logger,
                dataDir,
                signingSecret: options.signingSecret ?? env.DEFERRED_SIGNING_SECRET ?? defaultSecret(kindOrBackend, dataDir),
                cloudTasks: options.cloudTasks,
              });
        if (target) backend.attach(target);
      }
      return backend;
    },
    get currentTarget() {
      return target;
    },
    get createdBackend() {
      return backend;
    },
    pending,
    attach(next: DeliveryTarget) {
      target = next;
      backend?.attach(next);
    },
    track(promise: Promise<unknown>) {
      pending.add(promise);
      const forget = () => pending.delete(promise);
      promise.then(forget, forget);
    },
    async drain() {
      await settlePending();
      return runtime.backend.drain();
    },
    async close() {
      await settlePending();
      await backend?.close();
    },
  };
  return runtime;
}

interface RuntimeInternals extends Runtime {
  readonly currentTarget: DeliveryTarget | undefined;
  readonly createdBackend: Backend | undefined;
  readonly pending: Set<Promise<unknown>>;
}

function parseMode(value: string | undefined): Mode {
  if (value === undefined || value === '') return 'production';
  if (value === 'production' || value === 'development') return value;
  throw new TypeError(`DEFERRED_MODE must be "production" or "development", got ${JSON.stringify(value)}`);
}

function parseBackendKind(value: string | undefined): BackendKind {
  if (value === undefined || value === '') return 'embedded';
  if (value === 'embedded' || value === 'memory' || value === 'cloud-tasks') return value;
  throw new TypeError(`DEFERRED_BACKEND must be "embedded", "memory" or "cloud-tasks", got ${JSON.stringify(value)}`);
}

/**
 * Embedded: a secret generated once and kept (mode 0600) beside the queue, so a
 * restarted process still verifies the tasks it signed before. Memory: random
 * per process (its tasks die with it).
 */
function defaultSecret(kind: BackendKind, dataDir: string): string | undefined {
  if (kind !== 'embedded') return kind === 'memory' ? randomBytes(32).toString('base64url') : undefined;
  const file = join(dataDir, 'signing-secret');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  try {
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file, 'utf8').trim();
    throw error;
  }
  chmodSync(file, 0o600);
  return secret;
}
