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
  missingSettings,
  queueIdFor,
  requireSettings,
  type AppEngineRouting,
  type CloudTasksConfig,
} from './config.js';
import { detectPlatform, platformName, type PlatformInfo } from '../../runtime/platform.js';
import { DEFAULT_METADATA_TIMEOUT_MS, MetadataServer } from './metadata.js';
import { createCloudTasksClient, withDeadline } from './client.js';
import { IdTokenVerifier } from './oidc.js';
import { DirectoryOverflowStore, UnconfiguredOverflowStore } from './overflow.js';

export { CloudTasksConfigError, type CloudTasksConfig, type AppEngineRouting, type RoutingPolicy } from './config.js';
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
  /**
   * The runtime chose this backend because no backend was configured and the
   * process runs on App Engine or Cloud Run: a missing setting then also says so
   * and names DEFERRED_BACKEND.
   */
  chosenByDefault?: boolean;
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
  private readonly env: Record<string, string | undefined>;
  private readonly platform: PlatformInfo | undefined;
  private readonly chosenByDefault: boolean;
  private settings: Promise<{ project: string; location: string }> | undefined;

  constructor(options?: CloudTasksConfig, deps: CloudTasksBackendDeps = {}) {
    this.env = deps.env ?? process.env;
    this.config = mergeWithEnv(options, this.env);
    this.platform = detectPlatform(this.env);
    this.chosenByDefault = deps.chosenByDefault ?? false;
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
    const { project, location } = await this.resolveSettings();
    const queueId = queueIdFor(this.config, task.queue);
    const parent = `projects/${project}/locations/${location}/queues/${queueId}`;
    const seconds = Math.floor(task.etaMs / 1000);
    const message: Record<string, unknown> = {
      ...this.requestFor(task),
      scheduleTime: { seconds, nanos: Math.min(Math.round((task.etaMs - seconds * 1000) * 1e6), 999_999_999) },
    };
    if (task.name !== undefined) message.name = `${parent}/tasks/${task.name}`;
    const timeoutMs = this.config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const client = await this.getClient(timeoutMs, project);
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

  /**
   * Project and location, from the configuration, else (on App Engine and Cloud
   * Run) from the metadata server; resolved once. A failure is not kept, so a
   * later enqueue asks again.
   */
  private resolveSettings(): Promise<{ project: string; location: string }> {
    if (!this.settings) {
      this.settings = this.lookUpSettings();
      this.settings.catch(() => (this.settings = undefined));
    }
    return this.settings;
  }

  private async lookUpSettings(): Promise<{ project: string; location: string }> {
    const config = this.config;
    let metadataFailure: string | undefined;
    if (this.platform && (!config.project || !config.location)) {
      const metadata = new MetadataServer({ timeoutMs: Math.min(config.timeoutMs ?? DEFAULT_TIMEOUT_MS, DEFAULT_METADATA_TIMEOUT_MS) }, this.env);
      const failures: string[] = [];
      const ask = (lookup: () => Promise<string>) => lookup().catch((error: unknown) => void failures.push((error as Error).message));
      const [project, location] = await Promise.all([
        config.project ? undefined : ask(() => metadata.projectId()),
        config.location ? undefined : ask(() => metadata.region()),
      ]);
      // Kept on the config, so the client (and anyone reading `config`) sees what was derived.
      if (project) config.project = project;
      if (location) config.location = location;
      if (failures.length > 0) metadataFailure = `the metadata server did not tell (${[...new Set(failures)].join('; ')})`;
    }
    const missing = missingSettings(config);
    if (missing.length > 0 && (this.chosenByDefault || metadataFailure)) {
      throw new CloudTasksConfigError(this.missingMessage(missing, metadataFailure));
    }
    return requireSettings(config);
  }

  private missingMessage(missing: string[], metadataFailure: string | undefined): string {
    const where = this.platform ? `${platformName(this.platform.platform)} (${this.platform.evidence} is set)` : 'this platform';
    const lacks = `missing ${missing.join(', ')}${metadataFailure ? `; ${metadataFailure}` : ''}`;
    if (!this.chosenByDefault) return `The Cloud Tasks backend is ${lacks}.`;
    return (
      `No backend is configured (DEFERRED_BACKEND is unset) and this is ${where}, where the embedded queue would keep tasks ` +
      `in one instance's memory-backed /tmp, lost when the instance stops; so the shim uses Cloud Tasks, but it is ${lacks}. ` +
      'Set those, or choose the backend with DEFERRED_BACKEND (DEFERRED_BACKEND=embedded keeps tasks on this instance only).'
    );
  }

  private requestFor(task: TaskSpec): Record<string, unknown> {
    const body = Buffer.from(task.body.buffer, task.body.byteOffset, task.body.byteLength);
    if (this.config.target === 'appengine') {
      const routing = task.target !== undefined ? parseAppEngineTarget(task.target) : (this.config.appEngineRouting ?? this.enqueuingVersion());
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

  /**
   * App Engine task queues ran a task without a target on the version that
   * enqueued it; Cloud Tasks sends it to the default serving version, which after a
   * deploy may be code that no longer registers the function. So, unless `routing`
   * is `default`, pin it to this instance's service and version (set by App Engine).
   */
  private enqueuingVersion(): AppEngineRouting | undefined {
    if ((this.config.routing ?? 'enqueuing-version') === 'default') return undefined;
    const { GAE_SERVICE: service, GAE_VERSION: version } = this.env;
    return service && version ? { service, version } : undefined;
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
  private getClient(timeoutMs: number, project: string): Promise<CreateTaskClient> {
    if (!this.client) {
      this.client = createCloudTasksClient<CreateTaskClient>(this.config, project, timeoutMs);
      this.client.catch(() => (this.client = undefined));
    }
    return this.client;
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
    // The whole path: SCRIPT_NAME (a mount point, usually empty) then PATH_INFO, as WSGI rebuilds a URL.
    const script = typeof environ.SCRIPT_NAME === 'string' ? environ.SCRIPT_NAME : '';
    return `${this.config.baseUrl!.replace(/\/+$/, '')}${script}${environ.PATH_INFO}${query}`;
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
