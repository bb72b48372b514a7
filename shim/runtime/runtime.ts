// Process-wide configuration and the lazily created backend. `configure()` may be
// called any time before the first use; options win over DEFERRED_* env vars,
// which win over the defaults.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { getEnvironmentData, isMainThread, setEnvironmentData } from 'node:worker_threads';
import { setTaskModules, type TaskModule } from '../api/registry.js';
import type { Backend, Clock, DeliveryTarget, Logger, LogLevel } from '../api/types.js';
import { createBackend, type BackendKind, type CloudTasksOptions } from '../backends/index.js';
import { loadQueueYaml, queueConfigFromObject, type QueueConfig } from '../queues/queue-yaml.js';
import { systemClock } from './clock.js';
import { sharedSlot } from './global-state.js';
import { consoleLogger, isLogLevel } from './logger.js';
import { detectPlatform } from './platform.js';
import { releaseEnqueue, type GuardedEnqueue } from './exit-guard.js';
import { installSignalHandlers } from './shutdown.js';

export type Mode = 'production' | 'development';

export interface RuntimeOptions {
  /**
   * 'embedded', 'memory', 'cloud-tasks', or a Backend instance (env DEFERRED_BACKEND). Default 'embedded',
   * except on App Engine and Cloud Run, where it is 'cloud-tasks' (see docs/cloud-tasks.md).
   */
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
  /**
   * Queue definitions: a queue.yaml path, or the same content as an object (`{ queue: [...] }`).
   * Default: env DEFERRED_QUEUES (a path), else `queue.yaml` when it sits beside `app.yaml` in the
   * working directory, else none (every queue name accepted, no limits).
   */
  queues?: string | Record<string, unknown>;
  /** How long the local backends keep failed tasks (default 7 days). */
  failedTaskRetentionMs?: number;
  /** On SIGTERM/SIGINT, how long deliveries in flight may take to finish before they are handed back (default 10 s). */
  shutdownDeadlineMs?: number;
  /** Drain on SIGTERM/SIGINT (default true; see docs/operations.md). */
  handleSignals?: boolean;
}

export interface Runtime {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly logLevel: LogLevel;
  readonly mode: Mode;
  readonly maxBodyBytes: number;
  /** The backend, created on first access. */
  readonly backend: Backend;
  /** The queue definitions in force (queue.yaml), or undefined: every queue accepted with defaults. */
  readonly queues: QueueConfig | undefined;
  /** Graceful shutdown: stop claiming, let deliveries finish up to the deadline, hand back the rest, close. */
  shutdown(deadlineMs?: number): Promise<void>;
  /** Where the local backends deliver due tasks (set by `wrapApp`); kept across backend re-creation. */
  attach(target: DeliveryTarget): void;
  /** Keeps an enqueue in flight visible to `drain()`/`close()` so no task is lost at shutdown (and, `guarded`, at exit: exit-guard.ts). */
  track(pending: Promise<unknown>, guarded?: GuardedEnqueue): void;
  /** Waits for enqueues in flight, then delivers every task due now. Resolves to the number delivered. */
  drain(): Promise<number>;
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
export const DEFAULT_SHUTDOWN_DEADLINE_MS = 10_000;

/** Options the backend is built from: changing one replaces the backend. */
const BACKEND_OPTIONS = ['backend', 'dataDir', 'signingSecret', 'cloudTasks', 'clock', 'logger', 'queues', 'failedTaskRetentionMs'] as const;

/** The options resolved against the environment and defaults, validated. */
interface Settings {
  clock: Clock;
  logger: Logger;
  logLevel: LogLevel;
  mode: Mode;
  maxBodyBytes: number;
  kindOrBackend: BackendKind | Backend;
  /** No backend was configured and the platform's default (Cloud Tasks on App Engine and Cloud Run) applies. */
  chosenByDefault: boolean;
  dataDir: string;
  signingSecret: string | undefined;
  cloudTasks: CloudTasksOptions | undefined;
  queues: QueueConfig | undefined;
  failedTaskRetentionMs: number | undefined;
  shutdownDeadlineMs: number;
  handleSignals: boolean;
}

interface RuntimeState {
  options: RuntimeOptions;
  settings: Settings | undefined;
  backend: Backend | undefined;
  target: DeliveryTarget | undefined;
  pending: Set<Promise<unknown>>;
  /** Removes the SIGTERM/SIGINT listeners, while they are installed. */
  uninstallSignals: (() => void) | undefined;
  /** Set by shutdown(): a backend created afterwards (a late defer) enqueues but delivers nothing. */
  stopped: boolean;
  /** The shutdown in progress: a second call (the app's own signal handler) waits for the same one. */
  shuttingDown: Promise<void> | undefined;
}

/** The key and the options configure() hands to worker threads (see inheritedOptions). */
const THREAD_OPTIONS_KEY = 'deferred-migrate.runtime-options';
const THREAD_OPTIONS: ReadonlyArray<keyof RuntimeOptions> = [
  'backend', 'dataDir', 'mode', 'signingSecret', 'taskModules', 'logLevel', 'maxBodyBytes', 'cloudTasks', 'queues', 'failedTaskRetentionMs', 'shutdownDeadlineMs',
];

const state = sharedSlot<RuntimeState>('runtimeState', () => ({
  options: inheritedOptions(),
  settings: undefined,
  backend: undefined,
  target: undefined,
  pending: new Set(),
  uninstallSignals: undefined,
  stopped: false,
  shuttingDown: undefined,
}));

/**
 * Worker threads have a globalThis, so a runtime, of their own: options given to configure()
 * in the thread that spawned them (a dataDir, a backend) did not reach them, and a defer()
 * in a worker thread went to `.deferred` under the cwd, a queue no wrapped app reads, and
 * never ran (the call resolved: silent). configure() hands the options that can cross a
 * thread to the threads started after it (setEnvironmentData); a thread starts from them.
 */

function inheritedOptions(): RuntimeOptions {
  if (isMainThread) return {};
  try {
    const data = getEnvironmentData(THREAD_OPTIONS_KEY);
    return data && typeof data === 'object' ? { ...(data as RuntimeOptions) } : {};
  } catch {
    return {};
  }
}

function shareWithThreads(options: RuntimeOptions): void {
  const shared: Record<string, unknown> = {};
  for (const key of THREAD_OPTIONS) {
    let value: unknown = options[key];
    if (value === undefined) continue;
    if (key === 'backend' && typeof value !== 'string') continue;
    if (key === 'dataDir') value = resolve(String(value));
    if (key === 'taskModules' && Array.isArray(value)) value = value.filter((m) => typeof m === 'string');
    try {
      shared[key] = structuredClone(value);
    } catch {
      // A value that cannot cross a thread (functions in cloudTasks): the thread resolves its own.
    }
  }
  try {
    setEnvironmentData(THREAD_OPTIONS_KEY, shared);
  } catch {
    // Runtimes without worker_threads' environment data.
  }
}

function current(): Settings {
  return (state.settings ??= resolveSettings(state.options));
}

// One runtime object per process (shared by the ESM and CJS builds); its
// properties always reflect the latest configure().
const runtime: Runtime = sharedSlot<Runtime>('runtimeObject', () => ({
  get clock() {
    return current().clock;
  },
  get logger() {
    return current().logger;
  },
  get logLevel() {
    return current().logLevel;
  },
  get mode() {
    return current().mode;
  },
  get maxBodyBytes() {
    return current().maxBodyBytes;
  },
  get backend(): Backend {
    if (state.backend === undefined) {
      const settings = current();
      const { kindOrBackend } = settings;
      const backend =
        typeof kindOrBackend === 'object'
          ? kindOrBackend
          : createBackend(kindOrBackend, {
              clock: settings.clock,
              logger: settings.logger,
              dataDir: settings.dataDir,
              signingSecret: settings.signingSecret ?? defaultSecret(kindOrBackend, settings.dataDir),
              cloudTasks: settings.cloudTasks,
              chosenByDefault: settings.chosenByDefault,
              ...(settings.queues !== undefined && { queues: settings.queues }),
              ...(settings.failedTaskRetentionMs !== undefined && { failedRetentionMs: settings.failedTaskRetentionMs }),
            });
      if (state.target && !state.stopped) backend.attach(state.target);
      state.backend = backend;
      if (settings.handleSignals && backend.shutdown && !state.uninstallSignals && !state.stopped) {
        state.uninstallSignals = installSignalHandlers((signal) => {
          settings.logger.info(`${signal} received: delivering no more tasks, letting running ones finish (up to ${settings.shutdownDeadlineMs} ms)`);
          return runtime.shutdown();
        });
      }
    }
    return state.backend;
  },
  get queues() {
    return current().queues;
  },
  shutdown(deadlineMs?: number) {
    state.stopped = true;
    state.uninstallSignals?.();
    state.uninstallSignals = undefined;
    return (state.shuttingDown ??= (async () => {
      await settlePending();
      const backend = state.backend;
      state.backend = undefined;
      if (!backend) return;
      const deadline = deadlineMs ?? current().shutdownDeadlineMs;
      await (backend.shutdown ? backend.shutdown(deadline) : backend.close());
    })());
  },
  attach(target: DeliveryTarget) {
    state.target = target;
    state.backend?.attach(target);
  },
  track(promise: Promise<unknown>, guarded?: GuardedEnqueue) {
    state.pending.add(promise);
    const forget = () => {
      state.pending.delete(promise);
      if (guarded) releaseEnqueue(guarded);
    };
    promise.then(forget, forget);
  },
  async drain() {
    await settlePending();
    return getRuntime().backend.drain();
  },
  async close() {
    state.uninstallSignals?.();
    state.uninstallSignals = undefined;
    await settlePending();
    const backend = state.backend;
    state.backend = undefined;
    await backend?.close();
  },
}));

async function settlePending(): Promise<void> {
  while (state.pending.size > 0) await Promise.allSettled([...state.pending]);
}

/**
 * Sets options (merged over earlier calls; invalid ones throw and change
 * nothing). Changing a backend option closes the backend already created; the
 * next use creates the new one, attached to the same delivery target.
 */
export function configure(options: RuntimeOptions = {}): Runtime {
  const merged = { ...state.options, ...options };
  const settings = resolveSettings(merged);
  const backendChanged = BACKEND_OPTIONS.some((key) => key in options && options[key] !== state.options[key]);
  state.options = merged;
  state.settings = settings;
  shareWithThreads(merged);
  if (backendChanged && state.backend) {
    const previous = state.backend;
    state.backend = undefined;
    if (previous !== settings.kindOrBackend) {
      previous.close().catch((error: unknown) => settings.logger.error('closing the previous backend failed', { error }));
    }
  }
  if ('taskModules' in options) setTaskModules(options.taskModules);
  return runtime;
}

export function getRuntime(): Runtime {
  return runtime;
}

/** Closes the backend and forgets every option and the delivery target (tests). The registry is kept. */
export async function resetRuntime(): Promise<void> {
  await runtime.close();
  state.options = {};
  shareWithThreads({});
  state.settings = undefined;
  state.target = undefined;
  state.stopped = false;
  state.shuttingDown = undefined;
  setTaskModules(undefined);
}

export function drain(): Promise<number> {
  return runtime.drain();
}

function resolveSettings(options: RuntimeOptions): Settings {
  const env = process.env;
  const logLevel = options.logLevel ?? 'info';
  if (!isLogLevel(logLevel)) throw new TypeError(`configure(): logLevel must be debug, info, warn or error, got ${String(logLevel)}`);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const shutdownDeadlineMs = options.shutdownDeadlineMs ?? DEFAULT_SHUTDOWN_DEADLINE_MS;
  for (const [key, value] of [['shutdownDeadlineMs', shutdownDeadlineMs], ['failedTaskRetentionMs', options.failedTaskRetentionMs]] as const) {
    if (value !== undefined && (!Number.isFinite(value) || value < 0)) throw new TypeError(`configure(): ${key} must be a non-negative number of milliseconds, got ${value}`);
  }
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes <= 0) {
    throw new TypeError(`configure(): maxBodyBytes must be a positive integer, got ${maxBodyBytes}`);
  }
  const configured = options.backend ?? parseBackendKind(env.DEFERRED_BACKEND);
  return {
    clock: options.clock ?? systemClock,
    logger: options.logger ?? consoleLogger(),
    logLevel,
    mode: options.mode ?? parseMode(env.DEFERRED_MODE),
    maxBodyBytes,
    kindOrBackend: configured ?? defaultBackendKind(env),
    chosenByDefault: configured === undefined,
    dataDir: resolve(options.dataDir ?? env.DEFERRED_DATA_DIR ?? '.deferred'),
    signingSecret: options.signingSecret ?? (env.DEFERRED_SIGNING_SECRET || undefined),
    cloudTasks: options.cloudTasks,
    queues: resolveQueues(options.queues ?? (env.DEFERRED_QUEUES || undefined)),
    failedTaskRetentionMs: options.failedTaskRetentionMs,
    shutdownDeadlineMs,
    handleSignals: options.handleSignals ?? true,
  };
}

/** The file names App Engine's deploy tools read (appcfg took either extension); codemods/analysis/queue-yaml.ts mirrors them. */
const APP_CONFIG_NAMES = ['app.yaml', 'app.yml'];
const QUEUE_CONFIG_NAMES = ['queue.yaml', 'queue.yml'];

/** A path or an object as given; else queue.yaml (or queue.yml) beside app.yaml (or app.yml) in the working directory, as App Engine deployed them. */
export function resolveQueues(queues: string | Record<string, unknown> | undefined, cwd = process.cwd()): QueueConfig | undefined {
  if (typeof queues === 'string') return loadQueueYaml(resolve(cwd, queues));
  if (queues !== undefined) return queueConfigFromObject(queues, 'configure({ queues })');
  if (!APP_CONFIG_NAMES.some((name) => existsSync(join(cwd, name)))) return undefined;
  const found = QUEUE_CONFIG_NAMES.map((name) => join(cwd, name)).find((file) => existsSync(file));
  return found === undefined ? undefined : loadQueueYaml(found);
}

function parseMode(value: string | undefined): Mode {
  if (value === undefined || value === '') return 'production';
  if (value === 'production' || value === 'development') return value;
  throw new TypeError(`DEFERRED_MODE must be "production" or "development", got ${JSON.stringify(value)}`);
}

function parseBackendKind(value: string | undefined): BackendKind | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'embedded' || value === 'memory' || value === 'cloud-tasks') return value;
  throw new TypeError(`DEFERRED_BACKEND must be "embedded", "memory" or "cloud-tasks", got ${JSON.stringify(value)}`);
}

/**
 * The embedded queue, except on App Engine and Cloud Run: there instances are
 * ephemeral and many and /tmp is memory, so a task queued on one instance's disk
 * is lost with it. Cloud Tasks then, which fails at first use, naming
 * DEFERRED_BACKEND, when its settings cannot be derived (never a silent local queue).
 */
function defaultBackendKind(env: NodeJS.ProcessEnv): BackendKind {
  return detectPlatform(env) ? 'cloud-tasks' : 'embedded';
}

/**
 * Embedded: a secret generated once and kept (mode 0600) beside the queue, so a
 * restarted process still verifies the tasks it signed before. Memory: random
 * per process (its tasks die with it).
 */
function defaultSecret(kind: BackendKind, dataDir: string): string | undefined {
  if (kind !== 'embedded') return kind === 'memory' ? randomBytes(32).toString('base64url') : undefined;
  const file = join(dataDir, 'signing-secret');
  const existing = readSecret(file);
  if (existing !== undefined) return existing;
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  // Written whole under a name of its own, then linked into place: a process starting
  // at the same moment (cluster workers, an app and a script on one queue) sees no file
  // or the whole secret, never the empty file that `open(wx)` shows before its write.
  // link() fails when the file exists: that process was first, its secret is used.
  const temp = join(dataDir, `.signing-secret.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  writeFileSync(temp, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  try {
    chmodSync(temp, 0o600);
    linkSync(temp, file);
    return secret;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return readSecret(file, true)!;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw error;
  } finally {
    rmSync(temp, { force: true });
  }
  // A file system without hard links: create the file exclusively, as before.
  try {
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readSecret(file, true)!;
    throw error;
  }
  chmodSync(file, 0o600);
  return secret;
}

/**
 * The stored secret, or undefined when there is none. An empty file (a process of an
 * earlier release between creating and writing it, or killed there) is read again for
 * up to a second, then refused with an error naming the file: an empty secret used to
 * surface as "the embedded backend needs a signing secret".
 */
function readSecret(file: string, mustExist = false): string | undefined {
  for (let waited = 0; ; waited += 20) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || mustExist) throw error;
      return undefined;
    }
    if (text !== '') return text;
    if (waited >= 1000) {
      throw new Error(
        `The embedded queue's signing secret ${file} is empty (a process was stopped while creating it). ` +
          'Delete the file: the next process creates a new one.',
      );
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
}
