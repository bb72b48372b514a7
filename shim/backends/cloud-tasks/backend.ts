// The Google Cloud Tasks backend: `enqueue` is a CreateTask call (App Engine or
// HTTP target), the service delivers, and `verify` checks that an incoming task
// request came from Cloud Tasks. Imported statically by backends/index.ts, so
// `@google-cloud/tasks` and `google-auth-library` are loaded with import() on
// first use only: apps on the embedded backend never need them installed.
import {
  InvalidTaskError,
  TaskAlreadyExistsError,
  TaskTooLargeError,
  TransactionalNotSupportedError,
  DeferredError,
} from '../../api/errors.js';
import type {
  Backend,
  Clock,
  DeliveryTarget,
  EnqueuedTask,
  Environ,
  Logger,
  OverflowStore,
  TaskSpec,
  Verification,
} from '../../api/types.js';
import {
  CloudTasksConfigError,
  DEFAULT_MAX_TASK_SIZE_BYTES,
  DEFAULT_OVERFLOW_TTL_MS,
  DEFAULT_TIMEOUT_MS,
  mergeWithEnv,
  queueIdFor,
  requireSettings,
  type AppEngineRouting,
  type CloudTasksConfig,
} from './config.js';
import { IdTokenVerifier } from './oidc.js';
import { DirectoryOverflowStore, UnconfiguredOverflowStore } from './overflow.js';

export { CloudTasksConfigError, type CloudTasksConfig, type AppEngineRouting } from './config.js';
export { DirectoryOverflowStore, GcsOverflowStore, UnconfiguredOverflowStore } from './overflow.js';
/** The name backends/index.ts and the runtime options use. */
export type CloudTasksOptions = CloudTasksConfig;

/** Cloud Tasks did not answer (unreachable endpoint, deadline exceeded, service unavailable). */
export class CloudTasksUnavailableError extends DeferredError {}

/** The request headers Cloud Tasks sets on HTTP-target deliveries (App Engine targets get the X-AppEngine-* names). */
export const CLOUD_TASKS_HEADERS = {
  queueName: 'X-CloudTasks-QueueName',
  taskName: 'X-CloudTasks-TaskName',
  retryCount: 'X-CloudTasks-TaskRetryCount',
  executionCount: 'X-CloudTasks-TaskExecutionCount',
  eta: 'X-CloudTasks-TaskETA',
  previousResponse: 'X-CloudTasks-TaskPreviousResponse',
} as const;

/** The X-AppEngine-* name of each X-CloudTasks-* header, as environ keys. */
const ENVIRON_ALIASES: ReadonlyArray<readonly [cloudTasks: string, appEngine: string]> = Object.values(CLOUD_TASKS_HEADERS).map(
  (name) => [environKey(name), environKey(name.replace(/^X-CloudTasks-/, 'X-AppEngine-'))] as const,
);

// gRPC status codes (google.rpc.Code) the backend maps to errors.
const GRPC = { INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7, UNAVAILABLE: 14, UNAUTHENTICATED: 16 };

interface CreateTaskClient {
  createTask(request: { parent: string; task: Record<string, unknown> }, options?: { timeout?: number }): Promise<[{ name?: string | null }, ...unknown[]]>;
  close(): Promise<void>;
}

export interface CloudTasksBackendDeps {
  /** Unused: Cloud Tasks keeps time itself (schedule times come from the task's etaMs). */
  clock?: Clock;
  logger?: Logger;
  env?: Record<string, string | undefined>;
}

export class CloudTasksBackend implements Backend {
  readonly kind = 'cloud-tasks' as const;
  readonly maxTaskSizeBytes: number;
  readonly overflow: OverflowStore;
  /** Options merged over the environment. */
  readonly config: CloudTasksConfig;
  private client: Promise<CreateTaskClient> | undefined;
  private verifier: IdTokenVerifier | undefined;
  private readonly warnedRetryQueues = new Set<string>();
  private readonly logger: Logger | undefined;

  constructor(options?: CloudTasksConfig, deps: CloudTasksBackendDeps = {}) {
    this.config = mergeWithEnv(options, deps.env ?? process.env);
    this.logger = deps.logger;
    this.maxTaskSizeBytes = this.config.maxTaskSizeBytes ?? DEFAULT_MAX_TASK_SIZE_BYTES;
    this.overflow =
      this.config.overflowStore ??
      (this.config.overflowDir
        ? new DirectoryOverflowStore(this.config.overflowDir, { ttlMs: this.config.overflowTtlMs ?? DEFAULT_OVERFLOW_TTL_MS, logger: this.logger })
        : new UnconfiguredOverflowStore(this.maxTaskSizeBytes));
  }

  async enqueue(task: TaskSpec): Promise<EnqueuedTask> {
    if (task.transactional) {
      throw new TransactionalNotSupportedError(this.kind);
    }
    this.checkRetryOptions(task);
    const { project, location } = requireSettings(this.config);
    const queueId = queueIdFor(this.config, task.queue);
    const parent = `projects/${project}/locations/${location}/queues/${queueId}`;
    const seconds = Math.floor(task.etaMs / 1000);
    const message: Record<string, unknown> = {
      ...this.requestFor(task),
      scheduleTime: { seconds, nanos: Math.min(Math.round((task.etaMs - seconds * 1000) * 1e6), 999_999_999) },
    };
    if (task.name !== undefined) message.name = `${parent}/tasks/${task.name}`;
    const timeoutMs = this.config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const client = await this.getClient(timeoutMs);
    let created: { name?: string | null };
    try {
      [created] = await withDeadline(client.createTask({ parent, task: message }, { timeout: timeoutMs }), timeoutMs + 1000, () =>
        this.unavailable(parent, `no answer within ${timeoutMs} ms`),
      );
    } catch (error) {
      throw this.translate(error, task, parent, queueId, location);
    }
    const fullName = created?.name ?? String(message.name ?? '');
    return {
      name: fullName.slice(fullName.lastIndexOf('/') + 1),
      queue: task.queue,
      eta: new Date(task.etaMs),
      url: task.url,
      headers: { ...task.headers },
    };
  }

  /** The body plays no part: the OIDC token or the App Engine headers are the proof. */
  async verify(environ: Environ, _body?: Uint8Array): Promise<Verification> {
    if (this.config.target === 'appengine') {
      // App Engine removes X-AppEngine-* headers from requests that do not come
      // from inside Google, so on App Engine their presence is the proof.
      for (const key of ['HTTP_X_APPENGINE_QUEUENAME', 'HTTP_X_APPENGINE_TASKNAME']) {
        if (typeof environ[key] !== 'string') return { ok: false, reason: `missing ${key} (not an App Engine task request)` };
      }
      return { ok: true };
    }
    if (typeof environ.HTTP_X_CLOUDTASKS_TASKNAME !== 'string') return { ok: false, reason: 'missing X-CloudTasks-TaskName (not a Cloud Tasks request)' };
    const result = await this.idTokenVerifier().verify(environ, this.expectedAudience(environ));
    if (!result.ok) return result;
    // The Handler and getTaskContext() read the App Engine names; Cloud Tasks uses
    // X-CloudTasks-* for HTTP targets. The request is authentic now, so alias them
    // (the X-CloudTasks-* values are set by the service and win).
    for (const [cloudTasksKey, appEngineKey] of ENVIRON_ALIASES) {
      if (typeof environ[cloudTasksKey] === 'string') environ[appEngineKey] = environ[cloudTasksKey];
    }
    return { ok: true };
  }

  attach(_target: DeliveryTarget): void {
    // Cloud Tasks delivers over HTTP itself.
  }

  async drain(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    // A client whose credentials never loaded rejects close() too: nothing to release then.
    if (client) await (await client.catch(() => undefined))?.close().catch(() => undefined);
  }

  // --- enqueue helpers -------------------------------------------------------

  private requestFor(task: TaskSpec): Record<string, unknown> {
    const body = Buffer.from(task.body.buffer, task.body.byteOffset, task.body.byteLength);
    if (this.config.target === 'appengine') {
      const routing = task.target !== undefined ? parseAppEngineTarget(task.target) : this.config.appEngineRouting;
      return {
        appEngineHttpRequest: {
          httpMethod: 'POST',
          relativeUri: task.url,
          headers: task.headers,
          body,
          ...(routing && Object.keys(routing).length > 0 ? { appEngineRouting: routing } : {}),
        },
      };
    }
    const base = this.httpBaseUrl(task.target);
    const url = base.replace(/\/+$/, '') + task.url;
    const oidcToken: Record<string, string> = { serviceAccountEmail: this.config.serviceAccountEmail! };
    if (this.config.audience) oidcToken.audience = this.config.audience;
    return { httpRequest: { httpMethod: 'POST', url, headers: task.headers, body, oidcToken } };
  }

  private httpBaseUrl(target: string | undefined): string {
    if (target === undefined) return this.config.baseUrl!;
    const base = this.config.httpTargets?.[target];
    if (!base) {
      throw new InvalidTaskError(
        `_target "${target}" has no URL on the Cloud Tasks HTTP target: add it to httpTargets (e.g. { "${target}": "https://${target}-xyz.a.run.app" }).`,
      );
    }
    return base;
  }

  private checkRetryOptions(task: TaskSpec): void {
    if (!task.retry || Object.keys(task.retry).length === 0) return;
    const policy = this.config.retryOptions ?? 'warn';
    if (policy === 'ignore') return;
    const advice =
      `Cloud Tasks sets retries per queue, not per task: _retry_options ${JSON.stringify(task.retry)} on queue "${task.queue}" cannot be applied. ` +
      'Configure the queue instead (gcloud tasks queues update QUEUE --max-attempts --min-backoff --max-backoff --max-doublings --max-retry-duration).';
    if (policy === 'error') throw new InvalidTaskError(advice);
    if (this.warnedRetryQueues.has(task.queue)) return;
    this.warnedRetryQueues.add(task.queue);
    this.logger?.warn(`${advice} The queue's retry config applies; this warning is logged once per queue.`);
  }

  /** The client, created once; a failed creation (credentials, package) is not cached so a later enqueue retries. */
  private getClient(timeoutMs: number): Promise<CreateTaskClient> {
    if (!this.client) {
      this.client = this.createClient(timeoutMs);
      this.client.catch(() => (this.client = undefined));
    }
    return this.client;
  }

  /** Only the credentials lookup, which may wait on the network, has `timeoutMs`; loading the packages has none. */
  private async createClient(timeoutMs: number): Promise<CreateTaskClient> {
    const options: Record<string, unknown> = { ...this.config.clientOptions };
    const c = this.config;
    if (c.apiEndpoint) options.apiEndpoint = c.apiEndpoint;
    if (c.port) options.port = c.port;
    if (c.credentials) options.credentials = c.credentials;
    if (c.keyFilename) options.keyFilename = c.keyFilename;
    if (c.fallback !== undefined) options.fallback = c.fallback;
    if (c.project) options.projectId = c.project;
    if (c.sslCreds) {
      options.sslCreds = c.sslCreds;
    } else if (c.insecure && c.fallback) {
      options.protocol ??= 'http';
      options.authClient ??= anonymousRestAuth();
    } else if (c.insecure) {
      options.sslCreds = await insecureChannelCredentials();
    }
    const credentialsGiven = options.sslCreds !== undefined || options.auth !== undefined || options.authClient !== undefined;
    // Explicit channel credentials or auth client: skip the universe-domain lookup,
    // which would otherwise probe the metadata server.
    if ((options.sslCreds || options.authClient) && options.universeDomain === undefined) options.universeDomain = 'googleapis.com';
    if (!credentialsGiven) options.auth = await loadGoogleCredentials(options, timeoutMs);
    let module: { CloudTasksClient: new (options: Record<string, unknown>) => CreateTaskClient };
    try {
      module = (await import('@google-cloud/tasks')) as unknown as typeof module;
    } catch (error) {
      throw new CloudTasksConfigError('The Cloud Tasks backend needs the @google-cloud/tasks package: npm install @google-cloud/tasks@6', { cause: error });
    }
    return new module.CloudTasksClient(options);
  }

  private translate(error: unknown, task: TaskSpec, parent: string, queueId: string, location: string): Error {
    if (error instanceof DeferredError) return error;
    const code = (error as { code?: unknown })?.code;
    const detail = (error as { details?: unknown })?.details ?? (error as Error)?.message ?? String(error);
    const message = `${detail}`;
    switch (code) {
      case GRPC.ALREADY_EXISTS:
        return new TaskAlreadyExistsError(task.name ?? '', task.queue);
      case GRPC.NOT_FOUND:
        return new CloudTasksConfigError(
          `Cloud Tasks queue ${parent} does not exist (queue "${task.queue}"); create it: gcloud tasks queues create ${queueId} --location=${location}`,
          { cause: error },
        );
      case GRPC.INVALID_ARGUMENT:
        return /size|too large|exceeds/i.test(message)
          ? new TaskTooLargeError(`Cloud Tasks refused the task as too large: ${message}`, { cause: error })
          : new InvalidTaskError(`Cloud Tasks refused the task: ${message}`, { cause: error });
      case GRPC.PERMISSION_DENIED:
      case GRPC.UNAUTHENTICATED:
        return new CloudTasksConfigError(
          `Cloud Tasks denied CreateTask on ${parent}: ${message}. The caller needs roles/cloudtasks.enqueuer` +
            (this.config.target === 'http' ? ` and roles/iam.serviceAccountUser on ${this.config.serviceAccountEmail}.` : '.'),
          { cause: error },
        );
      case GRPC.DEADLINE_EXCEEDED:
      case GRPC.UNAVAILABLE:
        return this.unavailable(parent, message, error);
    }
    return error instanceof Error ? error : new Error(message);
  }

  private unavailable(parent: string, why: string, cause?: unknown): CloudTasksUnavailableError {
    const endpoint = this.config.apiEndpoint ? `${this.config.apiEndpoint}${this.config.port ? `:${this.config.port}` : ''}` : 'cloudtasks.googleapis.com';
    return new CloudTasksUnavailableError(`Cloud Tasks at ${endpoint} is unreachable for ${parent}: ${why}. The task was not enqueued.`, { cause });
  }

  // --- verify helpers ---------------------------------------------------------

  private idTokenVerifier(): IdTokenVerifier {
    if (!this.verifier) {
      if (!this.config.audience && !this.config.baseUrl) {
        throw new CloudTasksConfigError('Verifying Cloud Tasks OIDC tokens needs audience (DEFERRED_CLOUD_TASKS_AUDIENCE) or baseUrl (DEFERRED_CLOUD_TASKS_BASE_URL).');
      }
      const check = this.config.requireServiceAccountEmail ?? true;
      if (check && !this.config.serviceAccountEmail) {
        throw new CloudTasksConfigError(
          'Verifying Cloud Tasks OIDC tokens needs serviceAccountEmail (DEFERRED_CLOUD_TASKS_SERVICE_ACCOUNT), or requireServiceAccountEmail: false.',
        );
      }
      this.verifier = new IdTokenVerifier({
        serviceAccountEmail: check ? this.config.serviceAccountEmail : undefined,
        certsUrls: this.config.oidcCertsUrls,
      });
    }
    return this.verifier;
  }

  /** The configured audience, else what Cloud Tasks uses by default: the task's full URL. */
  private expectedAudience(environ: Environ): string {
    if (this.config.audience) return this.config.audience;
    const query = typeof environ.QUERY_STRING === 'string' && environ.QUERY_STRING !== '' ? `?${environ.QUERY_STRING}` : '';
    return `${this.config.baseUrl!.replace(/\/+$/, '')}${environ.PATH_INFO}${query}`;
  }
}

/** `_target` as App Engine read it: `service`, `version.service` or `instance.version.service` (`.` or `-dot-`). */
export function parseAppEngineTarget(target: string): AppEngineRouting {
  const parts = target.split(/\.|-dot-/);
  if (parts.length > 3 || parts.some((p) => !/^[a-z0-9-]{1,63}$/i.test(p))) {
    throw new InvalidTaskError(`_target must be "service", "version.service" or "instance.version.service", got ${JSON.stringify(target)}.`);
  }
  const [service, version, instance] = [...parts].reverse();
  const routing: AppEngineRouting = { service: service! };
  if (version) routing.version = version;
  if (instance) routing.instance = instance;
  return routing;
}

function environKey(header: string): string {
  return `HTTP_${header.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * Application Default Credentials (or the configured key), loaded before the client
 * exists: a missing key file or ADC is a clear error here, instead of a raw ENOENT
 * from inside the client and a rejected promise nobody handles.
 */
async function loadGoogleCredentials(options: Record<string, unknown>, timeoutMs: number): Promise<unknown> {
  const { GoogleAuth } = await import('google-auth-library');
  const auth = new GoogleAuth({
    scopes: ['https://www.googleapis.com/auth/cloud-platform'],
    ...(options.credentials ? { credentials: options.credentials as Record<string, string> } : {}),
    ...(options.keyFilename ? { keyFilename: options.keyFilename as string } : {}),
    ...(options.projectId ? { projectId: options.projectId as string } : {}),
  });
  const lookup = auth.getClient();
  try {
    await withDeadline(lookup, timeoutMs, () =>
      new CloudTasksConfigError(`Loading Google credentials for Cloud Tasks took longer than ${timeoutMs} ms (metadata server unreachable?).`),
    );
  } catch (error) {
    if (error instanceof CloudTasksConfigError) throw error; // the deadline
    const source = options.keyFilename
      ? `keyFilename ${JSON.stringify(options.keyFilename)}`
      : options.credentials
        ? 'the credentials option'
        : 'Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud auth application-default login, or the metadata server)';
    throw new CloudTasksConfigError(
      `No usable Google credentials for Cloud Tasks from ${source}: ${(error as Error)?.message ?? String(error)}. ` +
        'Set credentials or keyFilename, GOOGLE_APPLICATION_CREDENTIALS, or run where Application Default Credentials exist.',
      { cause: error },
    );
  }
  return auth;
}

/** The REST transport's auth client for `insecure`: no credentials, plain `fetch`. */
function anonymousRestAuth() {
  return {
    universeDomain: 'googleapis.com',
    getRequestHeaders: async () => new Headers(),
    fetch: (url: string, init: RequestInit) => fetch(url, { method: init.method, headers: init.headers, body: init.body, signal: init.signal }),
  };
}

async function insecureChannelCredentials(): Promise<unknown> {
  for (const name of ['@grpc/grpc-js', 'google-gax']) {
    try {
      const mod = (await import(name)) as { credentials?: { createInsecure(): unknown }; grpc?: { credentials: { createInsecure(): unknown } } };
      const credentials = mod.credentials ?? mod.grpc?.credentials;
      if (credentials) return credentials.createInsecure();
    } catch {
      // try the next package
    }
  }
  throw new CloudTasksConfigError('insecure (DEFERRED_CLOUD_TASKS_INSECURE) needs @grpc/grpc-js to be resolvable; or pass sslCreds.');
}

function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
    timer.unref?.();
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
