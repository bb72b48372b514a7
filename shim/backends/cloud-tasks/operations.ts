// QueueOperations over the Cloud Tasks admin API, for the `queues` / `tasks` CLI
// with `--backend cloud-tasks` (same configuration keys as the shim's backend).
// Cloud Tasks keeps only tasks still to run: a task that succeeded, or exhausted
// its retries, is deleted by the service, and an attempt in flight is not
// visible. So every task listed is `pending` (never attempted) or `retry`
// (attempted at least once); `leased`, `done` and `failed` are always empty here,
// `retryAllFailed` has nothing to retry, and `throughput` has no history (Cloud
// Monitoring has the service's metrics). Queue names are the shim's `_queue`
// names, mapped to queue ids through `queuePrefix` / `queues` as for `defer()`.
import type { OverflowStore, RetryOptions } from '../../api/types.js';
import {
  TASK_STATES,
  TaskNotFoundError,
  type QueueLimits,
  type QueueOperations,
  type QueueSummary,
  type TaskAttempt,
  type TaskDetails,
  type TaskPage,
  type TaskQuery,
  type TaskState,
  type TaskSummary,
  type ThroughputBucket,
} from '../../operations/types.js';
import { decodeEnvelope } from '../../serialization/envelope.js';
import { CloudTasksUnavailableError } from './backend.js';
import { createCloudTasksClient } from './client.js';
import { CloudTasksConfigError, DEFAULT_OVERFLOW_TTL_MS, DEFAULT_TIMEOUT_MS, mergeWithEnv, queueIdFor, requireSettings, type CloudTasksConfig } from './config.js';
import { durationSeconds, stateName, type CloudTasksQueue } from './queue-plan.js';

type Timestamp = { seconds?: number | string | { toString(): string } | null; nanos?: number | null } | null | undefined;

interface CloudTask {
  name?: string | null;
  appEngineHttpRequest?: { relativeUri?: string | null; headers?: Record<string, string> | null; body?: Uint8Array | string | null } | null;
  httpRequest?: { url?: string | null; headers?: Record<string, string> | null; body?: Uint8Array | string | null } | null;
  scheduleTime?: Timestamp;
  createTime?: Timestamp;
  dispatchCount?: number | null;
  responseCount?: number | null;
  firstAttempt?: { dispatchTime?: Timestamp } | null;
  lastAttempt?: { scheduleTime?: Timestamp; dispatchTime?: Timestamp; responseTime?: Timestamp; responseStatus?: { code?: number | null; message?: string | null } | null } | null;
}

interface CallOptions {
  timeout?: number;
  autoPaginate?: boolean;
}

/** The methods of `CloudTasksClient` used here. */
export interface OperationsClient {
  listQueues(request: { parent: string }, options?: CallOptions): Promise<[CloudTasksQueue[], ...unknown[]]>;
  getQueue(request: { name: string }, options?: CallOptions): Promise<[CloudTasksQueue, ...unknown[]]>;
  pauseQueue(request: { name: string }, options?: CallOptions): Promise<unknown>;
  resumeQueue(request: { name: string }, options?: CallOptions): Promise<unknown>;
  purgeQueue(request: { name: string }, options?: CallOptions): Promise<unknown>;
  listTasks(
    request: { parent: string; pageSize?: number; pageToken?: string; responseView?: 'BASIC' | 'FULL' },
    options?: CallOptions,
  ): Promise<[CloudTask[], { pageToken?: string } | null | undefined, { nextPageToken?: string | null } | null | undefined, ...unknown[]]>;
  getTask(request: { name: string; responseView?: 'BASIC' | 'FULL' }, options?: CallOptions): Promise<[CloudTask, ...unknown[]]>;
  deleteTask(request: { name: string }, options?: CallOptions): Promise<unknown>;
  runTask(request: { name: string }, options?: CallOptions): Promise<unknown>;
  close(): Promise<void>;
}

export interface CloudTasksOperationsOptions {
  env?: Record<string, string | undefined>;
  /** What "now" is for the age of the oldest due task (default: the system clock, as the service's). */
  clock?: { now(): number };
  /** A client of one's own (tests); default: @google-cloud/tasks from the configuration. */
  client?: OperationsClient;
}

const DEFAULT_PAGE = 50;
const MAX_PAGE = 1000;
/** Tasks counted per queue by listQueues (ListTasks pages of 1,000; the API has no count). */
const MAX_COUNTED = 10_000;
// google.rpc.Code values used here.
const RPC = { NOT_FOUND: 5, PERMISSION_DENIED: 7 };

export class CloudTasksQueueOperations implements QueueOperations {
  readonly backend = 'cloud-tasks';
  /** Options merged over the environment, as the backend reads them. */
  readonly config: CloudTasksConfig;
  private readonly parent: string;
  private readonly timeoutMs: number;
  private client: Promise<OperationsClient> | undefined;
  private fullView = true;
  private readonly clock: { now(): number };

  constructor(options: CloudTasksConfig = {}, deps: CloudTasksOperationsOptions = {}) {
    this.config = mergeWithEnv(options, deps.env ?? process.env);
    const missing = [!this.config.project && 'project (DEFERRED_CLOUD_TASKS_PROJECT or GOOGLE_CLOUD_PROJECT)', !this.config.location && 'location (DEFERRED_CLOUD_TASKS_LOCATION)'].filter(Boolean);
    if (missing.length > 0) throw new CloudTasksConfigError(`The Cloud Tasks operations need ${missing.join(' and ')}.`);
    this.parent = `projects/${this.config.project}/locations/${this.config.location}`;
    this.timeoutMs = this.config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (deps.client) this.client = Promise.resolve(deps.client);
    this.clock = deps.clock ?? { now: () => Date.now() };
  }

  async listQueues(): Promise<QueueSummary[]> {
    const client = await this.connect();
    const [queues] = await this.call(() => client.listQueues({ parent: this.parent }, { timeout: this.timeoutMs }));
    const now = this.clock.now();
    const summaries: QueueSummary[] = [];
    for (const queue of queues) {
      const id = lastSegment(queue.name);
      const counts = Object.fromEntries(TASK_STATES.map((state) => [state, 0])) as Record<TaskState, number>;
      let oldestDue: number | undefined;
      for await (const task of this.tasksOf(client, id, 'BASIC', MAX_COUNTED)) {
        counts[stateOf(task)] += 1;
        const eta = timestampMs(task.scheduleTime);
        if (eta <= now && (oldestDue === undefined || eta < oldestDue)) oldestDue = eta;
      }
      const state = stateName(queue.state);
      summaries.push({
        name: this.nameOf(id),
        counts,
        ...(oldestDue !== undefined ? { oldestDueAgeMs: now - oldestDue } : {}),
        paused: state !== 'RUNNING',
        defined: true,
        limits: limitsOf(queue),
      });
    }
    return summaries.sort((a, b) => a.name.localeCompare(b.name));
  }

  async pauseQueue(queue: string): Promise<void> {
    const client = await this.connect();
    await this.call(() => client.pauseQueue({ name: this.queuePath(queue) }, { timeout: this.timeoutMs }), `queue ${JSON.stringify(queue)}`);
  }

  async resumeQueue(queue: string): Promise<void> {
    const client = await this.connect();
    await this.call(() => client.resumeQueue({ name: this.queuePath(queue) }, { timeout: this.timeoutMs }), `queue ${JSON.stringify(queue)}`);
  }

  /** Counts the tasks first (the API answers with the queue, not a count), then purges them all. */
  async purgeQueue(queue: string): Promise<number> {
    const client = await this.connect();
    const id = this.queueId(queue);
    let count = 0;
    for await (const _task of this.tasksOf(client, id, 'BASIC', Number.MAX_SAFE_INTEGER)) count += 1;
    await this.call(() => client.purgeQueue({ name: `${this.parent}/queues/${id}` }, { timeout: this.timeoutMs }), `queue ${JSON.stringify(queue)}`);
    return count;
  }

  /** In queue order, then the service's order within a queue; the cursor carries the queue and the service's page token. */
  async listTasks(query: TaskQuery = {}): Promise<TaskPage> {
    const client = await this.connect();
    const limit = Math.min(MAX_PAGE, Math.max(1, Math.floor(query.limit ?? DEFAULT_PAGE)));
    // Cloud Tasks keeps no done, failed or (visibly) leased tasks.
    if (query.state !== undefined && query.state !== 'pending' && query.state !== 'retry') return { tasks: [] };
    const queueIds = query.queue !== undefined ? [this.queueId(query.queue)] : (await this.queueIds(client));
    let { queueIndex, pageToken } = decodeCursor(query.cursor, queueIds.length);
    const tasks: TaskSummary[] = [];
    while (queueIndex < queueIds.length && tasks.length < limit) {
      const id = queueIds[queueIndex]!;
      const [page, , response] = await this.listPage(client, id, limit - tasks.length, pageToken);
      for (const task of page) {
        const summary = this.summarize(task, id);
        if (query.state === undefined || summary.state === query.state) tasks.push(summary);
      }
      pageToken = response?.nextPageToken || undefined;
      if (!pageToken) queueIndex += 1;
    }
    const result: TaskPage = { tasks };
    if (queueIndex < queueIds.length) result.nextCursor = encodeCursor(queueIndex, pageToken);
    return result;
  }

  async getTask(name: string, queue?: string): Promise<TaskDetails> {
    const client = await this.connect();
    const { task, queueId } = await this.find(client, name, queue);
    const request = task.appEngineHttpRequest ?? task.httpRequest ?? {};
    const details: TaskDetails = {
      ...this.summarize(task, queueId),
      url: task.appEngineHttpRequest ? (task.appEngineHttpRequest.relativeUri ?? '/') : (task.httpRequest?.url ?? ''),
      headers: { ...(request.headers ?? {}) },
      attemptLog: attemptsOf(task),
    };
    return Object.assign(details, await this.decodeArgs(request.body));
  }

  /** RunTask: Cloud Tasks dispatches it now, even in a paused queue. */
  async retryTask(name: string, queue?: string): Promise<void> {
    const client = await this.connect();
    const { task } = await this.find(client, name, queue);
    await this.call(() => client.runTask({ name: task.name! }, { timeout: this.timeoutMs }), `task ${JSON.stringify(name)}`);
  }

  /** Cloud Tasks deletes a task whose retries ran out: there is no failed task to retry. */
  async retryAllFailed(_queue?: string): Promise<number> {
    return 0;
  }

  async deleteTask(name: string, queue?: string): Promise<void> {
    const client = await this.connect();
    const { task } = await this.find(client, name, queue);
    await this.call(() => client.deleteTask({ name: task.name! }, { timeout: this.timeoutMs }), `task ${JSON.stringify(name)}`);
  }

  /** The admin API keeps no history of outcomes. */
  async throughput(_options?: { minutes?: number; queue?: string }): Promise<ThroughputBucket[]> {
    return [];
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) await (await client.catch(() => undefined))?.close().catch(() => undefined);
  }

  // --- helpers ----------------------------------------------------------------

  private connect(): Promise<OperationsClient> {
    if (!this.client) {
      const { project } = requireSettings({ ...this.config, target: 'appengine' });
      this.client = createCloudTasksClient<OperationsClient>(this.config, project, this.timeoutMs);
      this.client.catch(() => (this.client = undefined));
    }
    return this.client;
  }

  private queueId(queue: string): string {
    return queueIdFor(this.config, queue);
  }

  private queuePath(queue: string): string {
    return `${this.parent}/queues/${this.queueId(queue)}`;
  }

  /** The shim's `_queue` name of a queue id: the explicit map reversed, else the id without the prefix. */
  private nameOf(id: string): string {
    const explicit = Object.entries(this.config.queues ?? {}).find(([, queueId]) => queueId === id);
    if (explicit) return explicit[0];
    const prefix = this.config.queuePrefix ?? '';
    return prefix && id.startsWith(prefix) ? id.slice(prefix.length) : id;
  }

  private async queueIds(client: OperationsClient): Promise<string[]> {
    const [queues] = await this.call(() => client.listQueues({ parent: this.parent }, { timeout: this.timeoutMs }));
    return queues.map((q) => lastSegment(q.name)).sort();
  }

  /** One page of a queue's tasks; FULL view (for function names) unless the caller lacks cloudtasks.tasks.fullView. */
  private async listPage(
    client: OperationsClient,
    id: string,
    pageSize: number,
    pageToken: string | undefined,
    view?: 'BASIC' | 'FULL',
  ): Promise<Awaited<ReturnType<OperationsClient['listTasks']>>> {
    const responseView = view ?? (this.fullView ? 'FULL' : 'BASIC');
    try {
      return await client.listTasks(
        { parent: `${this.parent}/queues/${id}`, pageSize, ...(pageToken ? { pageToken } : {}), responseView },
        { timeout: this.timeoutMs, autoPaginate: false },
      );
    } catch (error) {
      if (responseView === 'FULL' && view === undefined && codeOf(error) === RPC.PERMISSION_DENIED) {
        this.fullView = false;
        return this.listPage(client, id, pageSize, pageToken, 'BASIC');
      }
      throw this.translate(error, `queue ${JSON.stringify(this.nameOf(id))}`);
    }
  }

  private async *tasksOf(client: OperationsClient, id: string, view: 'BASIC' | 'FULL', max: number): AsyncGenerator<CloudTask> {
    let pageToken: string | undefined;
    let seen = 0;
    do {
      const [page, , response] = await this.listPage(client, id, MAX_PAGE, pageToken, view);
      for (const task of page) {
        if (seen++ >= max) return;
        yield task;
      }
      pageToken = response?.nextPageToken || undefined;
    } while (pageToken);
  }

  /** The task by name: in the given queue, else in every queue (a name found in several is ambiguous). */
  private async find(client: OperationsClient, name: string, queue: string | undefined): Promise<{ task: CloudTask; queueId: string }> {
    const ids = queue !== undefined ? [this.queueId(queue)] : await this.queueIds(client);
    const found: Array<{ task: CloudTask; queueId: string }> = [];
    for (const id of ids) {
      try {
        const [task] = await client.getTask({ name: `${this.parent}/queues/${id}/tasks/${name}`, responseView: this.fullView ? 'FULL' : 'BASIC' }, { timeout: this.timeoutMs });
        found.push({ task, queueId: id });
      } catch (error) {
        if (codeOf(error) === RPC.PERMISSION_DENIED && this.fullView) {
          this.fullView = false;
          return this.find(client, name, queue);
        }
        if (codeOf(error) !== RPC.NOT_FOUND) throw this.translate(error, `task ${JSON.stringify(name)}`);
      }
    }
    if (found.length === 0) {
      throw new TaskNotFoundError(
        `no task named ${JSON.stringify(name)}${queue === undefined ? '' : ` in queue ${JSON.stringify(queue)}`} (Cloud Tasks keeps only tasks still to run)`,
      );
    }
    if (found.length > 1) {
      throw new TaskNotFoundError(`several queues have a task named ${JSON.stringify(name)} (${found.map((f) => this.nameOf(f.queueId)).join(', ')}); name the queue`);
    }
    return found[0]!;
  }

  private summarize(task: CloudTask, queueId: string): TaskSummary {
    const summary: TaskSummary = {
      name: lastSegment(task.name),
      queue: this.nameOf(queueId),
      state: stateOf(task),
      etaMs: timestampMs(task.scheduleTime),
      createdMs: timestampMs(task.createTime),
      attempts: task.dispatchCount ?? 0,
    };
    const body = (task.appEngineHttpRequest ?? task.httpRequest)?.body;
    const fn = functionName(body);
    if (fn !== undefined) summary.function = fn;
    const status = task.lastAttempt?.responseStatus;
    if (status) {
      const http = httpStatusOf(status);
      if (http !== undefined) summary.lastStatus = http;
      if (status.code && status.message) summary.lastError = status.message.split('\n')[0]!;
    }
    return summary;
  }

  /** The call and its arguments, by the shim's codec; an overflowed payload is read from the configured overflow store. */
  private async decodeArgs(body: Uint8Array | string | null | undefined): Promise<Pick<TaskDetails, 'args' | 'payloadError' | 'function'>> {
    const bytes = toBytes(body);
    if (bytes.byteLength === 0) return { payloadError: this.fullView ? 'the task has no payload' : 'payload not visible: the caller lacks cloudtasks.tasks.fullView' };
    try {
      let envelope = decodeEnvelope(bytes);
      if (envelope.kind === 'overflow') {
        const store = await this.overflowStore();
        const blob = store ? await store.get(envelope.key) : undefined;
        if (blob === undefined) return { payloadError: store ? `the overflow payload ${envelope.key} is gone` : `the payload is in the overflow store (key ${envelope.key}); configure overflowDir or overflowStore to read it` };
        envelope = decodeEnvelope(blob);
        if (envelope.kind !== 'call') return { payloadError: 'the overflow payload points at another overflow payload' };
      }
      return { function: envelope.fn, args: envelope.args };
    } catch (error) {
      return { payloadError: (error as Error).message };
    }
  }

  private async overflowStore(): Promise<OverflowStore | undefined> {
    if (this.config.overflowStore) return this.config.overflowStore;
    if (!this.config.overflowDir) return undefined;
    const { DirectoryOverflowStore } = await import('./overflow.js');
    // Reading only: the sweep TTL plays no part.
    return new DirectoryOverflowStore(this.config.overflowDir, { ttlMs: this.config.overflowTtlMs ?? DEFAULT_OVERFLOW_TTL_MS });
  }

  private async call<T>(work: () => Promise<T>, what?: string): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw this.translate(error, what);
    }
  }

  private translate(error: unknown, what?: string): Error {
    if (codeOf(error) === RPC.NOT_FOUND && what?.startsWith('task ')) return new TaskNotFoundError(`no ${what} (Cloud Tasks keeps only tasks still to run)`);
    if (codeOf(error) === RPC.NOT_FOUND && what) return new CloudTasksConfigError(`Cloud Tasks has no ${what} in ${this.parent}`, { cause: error });
    if (error instanceof CloudTasksConfigError) return error; // credentials, package
    const details = (error as { details?: string })?.details || (error as Error)?.message || String(error);
    return new CloudTasksUnavailableError(`Cloud Tasks (${this.parent}) refused or did not answer${what ? ` for ${what}` : ''}: ${details}`, { cause: error });
  }
}

/** Never attempted: pending; attempted and still kept (so not yet succeeded): retry. */
function stateOf(task: CloudTask): TaskState {
  return (task.dispatchCount ?? 0) > 0 ? 'retry' : 'pending';
}

function limitsOf(queue: CloudTasksQueue): QueueLimits {
  const rate = queue.rateLimits ?? {};
  const retryConfig = queue.retryConfig ?? {};
  const retry: RetryOptions = {};
  if (retryConfig.maxAttempts !== undefined && retryConfig.maxAttempts !== null && retryConfig.maxAttempts > 0) retry.task_retry_limit = retryConfig.maxAttempts - 1;
  const age = durationSeconds(retryConfig.maxRetryDuration);
  if (age > 0) retry.task_age_limit = age;
  if (retryConfig.minBackoff) retry.min_backoff_seconds = durationSeconds(retryConfig.minBackoff);
  if (retryConfig.maxBackoff) retry.max_backoff_seconds = durationSeconds(retryConfig.maxBackoff);
  if (retryConfig.maxDoublings !== undefined && retryConfig.maxDoublings !== null) retry.max_doublings = retryConfig.maxDoublings;
  return {
    ...(rate.maxDispatchesPerSecond ? { ratePerSecond: rate.maxDispatchesPerSecond } : {}),
    ...(rate.maxBurstSize ? { bucketSize: rate.maxBurstSize } : {}),
    ...(rate.maxConcurrentDispatches ? { maxConcurrentRequests: rate.maxConcurrentDispatches } : {}),
    retry,
  };
}

/** Cloud Tasks keeps the first attempt's dispatch time and the whole last attempt. */
function attemptsOf(task: CloudTask): TaskAttempt[] {
  const count = task.dispatchCount ?? 0;
  const log: TaskAttempt[] = [];
  const last = task.lastAttempt;
  if (count > 1 && task.firstAttempt?.dispatchTime) {
    const at = timestampMs(task.firstAttempt.dispatchTime);
    log.push({ number: 1, startedMs: at, finishedMs: at });
  }
  if (last?.dispatchTime) {
    const attempt: TaskAttempt = {
      number: count,
      startedMs: timestampMs(last.dispatchTime),
      finishedMs: last.responseTime ? timestampMs(last.responseTime) : timestampMs(last.dispatchTime),
    };
    const status = last.responseStatus;
    if (status) {
      const http = httpStatusOf(status);
      if (http !== undefined) attempt.status = http;
      if (status.code && status.message) attempt.error = { message: status.message };
    }
    log.push(attempt);
  }
  return log;
}

// google.rpc.Code -> the HTTP status it stands for (https://cloud.google.com/apis/design/errors), for `lastStatus`.
const HTTP_OF_RPC: Record<number, number> = { 0: 200, 3: 400, 4: 504, 5: 404, 7: 403, 8: 429, 10: 409, 12: 501, 13: 500, 14: 503, 16: 401 };

/** The HTTP status of an attempt: from the message when it says ("HTTP status code 503"), else from the code. */
function httpStatusOf(status: { code?: number | null; message?: string | null }): number | undefined {
  const match = /HTTP status code (\d{3})/.exec(status.message ?? '');
  if (match) return Number(match[1]);
  return HTTP_OF_RPC[status.code ?? 0];
}

function functionName(body: Uint8Array | string | null | undefined): string | undefined {
  const bytes = toBytes(body);
  if (bytes.byteLength === 0) return undefined;
  try {
    const envelope = JSON.parse(Buffer.from(bytes).toString('utf8')) as { fn?: unknown };
    return typeof envelope.fn === 'string' ? envelope.fn : undefined;
  } catch {
    return undefined;
  }
}

function toBytes(body: Uint8Array | string | null | undefined): Uint8Array {
  if (!body) return new Uint8Array();
  return typeof body === 'string' ? Buffer.from(body, 'base64') : body;
}


function lastSegment(name: string | null | undefined): string {
  const text = name ?? '';
  return text.slice(text.lastIndexOf('/') + 1);
}

function timestampMs(ts: Timestamp): number {
  if (!ts) return 0;
  return Number(String(ts.seconds ?? 0)) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}


function codeOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

function encodeCursor(queueIndex: number, pageToken: string | undefined): string {
  return Buffer.from(JSON.stringify([queueIndex, pageToken ?? ''])).toString('base64url');
}

function decodeCursor(cursor: string | undefined, queues: number): { queueIndex: number; pageToken: string | undefined } {
  if (cursor === undefined) return { queueIndex: 0, pageToken: undefined };
  try {
    const [queueIndex, pageToken] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (Number.isSafeInteger(queueIndex) && (queueIndex as number) >= 0 && (queueIndex as number) <= queues && typeof pageToken === 'string') {
      return { queueIndex: queueIndex as number, pageToken: pageToken || undefined };
    }
  } catch {
    // fall through
  }
  throw new TypeError(`not a cursor of this backend: ${JSON.stringify(cursor)}`);
}
