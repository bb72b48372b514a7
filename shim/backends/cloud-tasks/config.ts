// Configuration of the Cloud Tasks backend: options win over DEFERRED_CLOUD_TASKS_*
// environment variables. Nothing here talks to Google; a missing key is reported
// at first use (the first enqueue or verification), naming the option and the
// variable that would set it.
import { DeferredError } from '../../api/errors.js';
import type { OverflowStore } from '../../api/types.js';
import { detectPlatform, projectFromAppId } from '../../runtime/platform.js';

export type CloudTasksTarget = 'appengine' | 'http';

/** App Engine routing of a task (Cloud Tasks `AppEngineRouting`). */
export interface AppEngineRouting {
  service?: string;
  version?: string;
  instance?: string;
}

/**
 * Where an App Engine task without `_target` (and no `appEngineRouting`) goes:
 * `enqueuing-version`, the service and version that enqueued it (GAE_SERVICE,
 * GAE_VERSION), as App Engine task queues did; or `default`, no routing, so Cloud
 * Tasks sends it to the default service's serving version.
 */
export type RoutingPolicy = 'enqueuing-version' | 'default';

/** What to do with `_retry_options`, which Cloud Tasks only supports per queue. */
export type RetryOptionsPolicy = 'warn' | 'error' | 'ignore';

export interface CloudTasksConfig {
  /** Google Cloud project id (env DEFERRED_CLOUD_TASKS_PROJECT, then GOOGLE_CLOUD_PROJECT, GCLOUD_PROJECT). */
  project?: string;
  /** Region of the queues, e.g. `us-central1` (env DEFERRED_CLOUD_TASKS_LOCATION). */
  location?: string;
  /** Prepended to every `_queue` name to form the Cloud Tasks queue id (env DEFERRED_CLOUD_TASKS_QUEUE_PREFIX). */
  queuePrefix?: string;
  /** Explicit `_queue` name -> queue id; wins over the prefix (env DEFERRED_CLOUD_TASKS_QUEUES=`default=app-default,mail=app-mail`). */
  queues?: Record<string, string>;
  /** `appengine`: App Engine HTTP requests; `http`: HTTP requests with OIDC (env DEFERRED_CLOUD_TASKS_TARGET; default `http` on Cloud Run, else `appengine`). */
  target?: CloudTasksTarget;
  /** HTTP targets: the URL prefix the task's relative URL is appended to, e.g. `https://app-xyz.a.run.app` (env DEFERRED_CLOUD_TASKS_BASE_URL). */
  baseUrl?: string;
  /** HTTP targets: `_target` name -> URL prefix, for tasks aimed at another service. */
  httpTargets?: Record<string, string>;
  /** HTTP targets: the service account Cloud Tasks signs OIDC tokens as (env DEFERRED_CLOUD_TASKS_SERVICE_ACCOUNT). */
  serviceAccountEmail?: string;
  /** HTTP targets: OIDC audience (env DEFERRED_CLOUD_TASKS_AUDIENCE). Default: the task's full URL, as Cloud Tasks does. */
  audience?: string;
  /** Verification also requires the token's `email` to equal `serviceAccountEmail` (default true). */
  requireServiceAccountEmail?: boolean;
  /** Where to fetch the token-signing keys (tests); default Google's. Env DEFERRED_CLOUD_TASKS_OIDC_PEM_CERTS_URL / _JWK_CERTS_URL. */
  oidcCertsUrls?: { pem?: string; jwk?: string };
  /** App Engine targets: routing when `_target` is absent (env DEFERRED_CLOUD_TASKS_APPENGINE_SERVICE, _APPENGINE_VERSION); wins over `routing`. */
  appEngineRouting?: AppEngineRouting;
  /** App Engine targets: routing of tasks with neither `_target` nor `appEngineRouting` (env DEFERRED_CLOUD_TASKS_ROUTING, default `enqueuing-version`). */
  routing?: RoutingPolicy;
  /** Client: API host (env DEFERRED_CLOUD_TASKS_ENDPOINT=`host` or `host:port`). */
  apiEndpoint?: string;
  port?: number;
  /** Client: gRPC channel credentials (`grpc.credentials.createInsecure()` for a local server). */
  sslCreds?: unknown;
  /** Client: plaintext gRPC without Google credentials, for local servers (env DEFERRED_CLOUD_TASKS_INSECURE=1). */
  insecure?: boolean;
  /** Client: service-account key contents or file (else Application Default Credentials). */
  credentials?: { client_email?: string; private_key?: string };
  keyFilename?: string;
  /** Client: `'rest'` for HTTP/1.1 JSON instead of gRPC. */
  fallback?: boolean | 'rest';
  /** Any further `CloudTasksClient` constructor options. */
  clientOptions?: Record<string, unknown>;
  /** Deadline of one CreateTask call (env DEFERRED_CLOUD_TASKS_TIMEOUT_MS, default 10 s). */
  timeoutMs?: number;
  /** Size limit as counted by `taskSize()` (env DEFERRED_CLOUD_TASKS_MAX_TASK_BYTES). */
  maxTaskSizeBytes?: number;
  /** Where payloads above the limit go. Default: a directory store when `overflowDir` is set, else oversize tasks are refused. */
  overflowStore?: OverflowStore;
  /** Directory of the default overflow store, on storage every instance shares (env DEFERRED_CLOUD_TASKS_OVERFLOW_DIR). */
  overflowDir?: string;
  /** Overflow blobs older than this are swept as orphans (env DEFERRED_CLOUD_TASKS_OVERFLOW_TTL_SECONDS, default 31 days, the task retention limit). */
  overflowTtlMs?: number;
  /** `_retry_options` policy (env DEFERRED_CLOUD_TASKS_RETRY_OPTIONS, default `warn`: logged once per queue, the queue's retry config applies). */
  retryOptions?: RetryOptionsPolicy;
}

/** A missing or malformed Cloud Tasks setting. */
export class CloudTasksConfigError extends DeferredError {}

/** Cloud Tasks' documented maximum task size (https://cloud.google.com/tasks/docs/quotas: 1 MB). */
export const CLOUD_TASKS_MAX_TASK_BYTES = 1_000_000;
/** Room left for what the Task message adds around the request (name, routing, schedule time, field tags). */
const TASK_ENVELOPE_RESERVE_BYTES = 8 * 1024;
export const DEFAULT_MAX_TASK_SIZE_BYTES = CLOUD_TASKS_MAX_TASK_BYTES - TASK_ENVELOPE_RESERVE_BYTES;
/** Cloud Tasks keeps a task at most 31 days; a blob older than that has no task left. */
export const DEFAULT_OVERFLOW_TTL_MS = 31 * 24 * 3600 * 1000;
export const DEFAULT_TIMEOUT_MS = 10_000;

const QUEUE_ID = /^[A-Za-z0-9-]{1,100}$/;

type Env = Record<string, string | undefined>;

/** Options merged over the environment; every field still optional (validated by `requireSettings`). */
export function mergeWithEnv(options: CloudTasksConfig = {}, env: Env = process.env): CloudTasksConfig {
  const platform = detectPlatform(env);
  const endpoint = splitEndpoint(env.DEFERRED_CLOUD_TASKS_ENDPOINT);
  const routing: AppEngineRouting = {};
  if (env.DEFERRED_CLOUD_TASKS_APPENGINE_SERVICE) routing.service = env.DEFERRED_CLOUD_TASKS_APPENGINE_SERVICE;
  if (env.DEFERRED_CLOUD_TASKS_APPENGINE_VERSION) routing.version = env.DEFERRED_CLOUD_TASKS_APPENGINE_VERSION;
  const certs = {
    ...(env.DEFERRED_CLOUD_TASKS_OIDC_PEM_CERTS_URL ? { pem: env.DEFERRED_CLOUD_TASKS_OIDC_PEM_CERTS_URL } : {}),
    ...(env.DEFERRED_CLOUD_TASKS_OIDC_JWK_CERTS_URL ? { jwk: env.DEFERRED_CLOUD_TASKS_OIDC_JWK_CERTS_URL } : {}),
  };
  const fromEnv: CloudTasksConfig = {
    project:
      env.DEFERRED_CLOUD_TASKS_PROJECT ||
      env.GOOGLE_CLOUD_PROJECT ||
      env.GCLOUD_PROJECT ||
      (platform?.platform === 'app-engine' ? projectFromAppId(env.GAE_APPLICATION) : undefined),
    location: env.DEFERRED_CLOUD_TASKS_LOCATION || undefined,
    queuePrefix: env.DEFERRED_CLOUD_TASKS_QUEUE_PREFIX || undefined,
    queues: parseQueueMap(env.DEFERRED_CLOUD_TASKS_QUEUES),
    target: parseTarget(env.DEFERRED_CLOUD_TASKS_TARGET, 'DEFERRED_CLOUD_TASKS_TARGET'),
    baseUrl: env.DEFERRED_CLOUD_TASKS_BASE_URL || undefined,
    serviceAccountEmail: env.DEFERRED_CLOUD_TASKS_SERVICE_ACCOUNT || undefined,
    audience: env.DEFERRED_CLOUD_TASKS_AUDIENCE || undefined,
    oidcCertsUrls: Object.keys(certs).length > 0 ? certs : undefined,
    appEngineRouting: Object.keys(routing).length > 0 ? routing : undefined,
    routing: parseRoutingPolicy(env.DEFERRED_CLOUD_TASKS_ROUTING, 'DEFERRED_CLOUD_TASKS_ROUTING'),
    apiEndpoint: endpoint?.host,
    port: endpoint?.port,
    insecure: parseFlag(env.DEFERRED_CLOUD_TASKS_INSECURE, 'DEFERRED_CLOUD_TASKS_INSECURE'),
    timeoutMs: parsePositive(env.DEFERRED_CLOUD_TASKS_TIMEOUT_MS, 'DEFERRED_CLOUD_TASKS_TIMEOUT_MS'),
    maxTaskSizeBytes: parsePositive(env.DEFERRED_CLOUD_TASKS_MAX_TASK_BYTES, 'DEFERRED_CLOUD_TASKS_MAX_TASK_BYTES'),
    overflowDir: env.DEFERRED_CLOUD_TASKS_OVERFLOW_DIR || undefined,
    overflowTtlMs: secondsToMs(parsePositive(env.DEFERRED_CLOUD_TASKS_OVERFLOW_TTL_SECONDS, 'DEFERRED_CLOUD_TASKS_OVERFLOW_TTL_SECONDS')),
    retryOptions: parseRetryPolicy(env.DEFERRED_CLOUD_TASKS_RETRY_OPTIONS, 'DEFERRED_CLOUD_TASKS_RETRY_OPTIONS'),
  };
  const defaultTarget: CloudTasksTarget = platform?.platform === 'cloud-run' ? 'http' : 'appengine';
  const merged: CloudTasksConfig = { ...dropUndefined(fromEnv), ...dropUndefined(options) };
  merged.target = parseTarget(merged.target, 'target') ?? defaultTarget;
  if (merged.retryOptions !== undefined) parseRetryPolicy(merged.retryOptions, 'retryOptions');
  if (merged.routing !== undefined) parseRoutingPolicy(merged.routing, 'routing');
  return merged;
}

/** The settings every enqueue needs that `config` lacks, each as `option (VARIABLE)`. */
export function missingSettings(config: CloudTasksConfig): string[] {
  const missing: string[] = [];
  if (!config.project) missing.push('project (DEFERRED_CLOUD_TASKS_PROJECT or GOOGLE_CLOUD_PROJECT)');
  if (!config.location) missing.push('location (DEFERRED_CLOUD_TASKS_LOCATION)');
  if (config.target === 'http') {
    if (!config.baseUrl) missing.push('baseUrl (DEFERRED_CLOUD_TASKS_BASE_URL)');
    if (!config.serviceAccountEmail) missing.push('serviceAccountEmail (DEFERRED_CLOUD_TASKS_SERVICE_ACCOUNT)');
  }
  return missing;
}

/** The settings every enqueue needs, or a CloudTasksConfigError naming what is missing. */
export function requireSettings(config: CloudTasksConfig): { project: string; location: string } {
  const missing = missingSettings(config);
  if (missing.length > 0) {
    throw new CloudTasksConfigError(`The Cloud Tasks backend is missing ${missing.join(', ')}.`);
  }
  if (config.baseUrl && !/^https?:\/\/[^/]/.test(config.baseUrl)) {
    throw new CloudTasksConfigError(`baseUrl (DEFERRED_CLOUD_TASKS_BASE_URL) must be an absolute http(s) URL, got ${JSON.stringify(config.baseUrl)}.`);
  }
  return { project: config.project!, location: config.location! };
}

/** The Cloud Tasks queue id of a `_queue` name. */
export function queueIdFor(config: CloudTasksConfig, queue: string): string {
  const id = config.queues?.[queue] ?? `${config.queuePrefix ?? ''}${queue}`;
  if (!QUEUE_ID.test(id)) {
    throw new CloudTasksConfigError(
      `Queue "${queue}" maps to the Cloud Tasks queue id "${id}", which is not 1-100 letters, digits or hyphens; fix queuePrefix or queues.`,
    );
  }
  return id;
}

function splitEndpoint(value: string | undefined): { host: string; port?: number } | undefined {
  if (!value) return undefined;
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(value);
  if (!match) throw new CloudTasksConfigError(`DEFERRED_CLOUD_TASKS_ENDPOINT must be "host" or "host:port", got ${JSON.stringify(value)}.`);
  return match[2] ? { host: match[1]!, port: Number(match[2]) } : { host: match[1]! };
}

function parseQueueMap(value: string | undefined): Record<string, string> | undefined {
  if (!value) return undefined;
  const map: Record<string, string> = {};
  for (const pair of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [name, id, extra] = pair.split('=').map((s) => s.trim());
    if (!name || !id || extra !== undefined) {
      throw new CloudTasksConfigError(`DEFERRED_CLOUD_TASKS_QUEUES must look like "default=app-default,mail=app-mail", got ${JSON.stringify(value)}.`);
    }
    map[name] = id;
  }
  return map;
}

function parseTarget(value: string | undefined, key: string): CloudTasksTarget | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'appengine' || value === 'http') return value;
  throw new CloudTasksConfigError(`${key} must be "appengine" or "http", got ${JSON.stringify(value)}.`);
}

function parseRoutingPolicy(value: string | undefined, key: string): RoutingPolicy | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'enqueuing-version' || value === 'default') return value;
  throw new CloudTasksConfigError(`${key} must be "enqueuing-version" or "default", got ${JSON.stringify(value)}.`);
}

function parseRetryPolicy(value: string | undefined, key: string): RetryOptionsPolicy | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'warn' || value === 'error' || value === 'ignore') return value;
  throw new CloudTasksConfigError(`${key} must be "warn", "error" or "ignore", got ${JSON.stringify(value)}.`);
}

function parseFlag(value: string | undefined, key: string): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^(1|true|yes)$/i.test(value)) return true;
  if (/^(0|false|no)$/i.test(value)) return false;
  throw new CloudTasksConfigError(`${key} must be 1/true/yes or 0/false/no, got ${JSON.stringify(value)}.`);
}

function parsePositive(value: string | undefined, key: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new CloudTasksConfigError(`${key} must be a positive number, got ${JSON.stringify(value)}.`);
  return n;
}

function secondsToMs(seconds: number | undefined): number | undefined {
  return seconds === undefined ? undefined : seconds * 1000;
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
