// A Cloud Tasks server for the tests: gRPC service `google.cloud.tasks.v2.CloudTasks`
// loaded from the very `.proto` files that `@google-cloud/tasks` ships, on a loopback
// port, so the real client talks to it unchanged (apiEndpoint, port, insecure
// channel credentials). It is not Google's service and not an emulator Google
// publishes: it implements what the shim and the CLI rely on (CreateTask, GetTask,
// ListTasks, DeleteTask, RunTask, and the queue admin RPCs of queues.ts: GetQueue,
// ListQueues, CreateQueue, UpdateQueue, PauseQueue, ResumeQueue, PurgeQueue; all
// also on their REST mapping for the client's `fallback: 'rest'`) with the
// service's documented rules, plus a dispatcher that POSTs due tasks over real HTTP with the headers Cloud Tasks sends,
// retries non-2xx with the queue's backoff, skips paused queues, and runs on a
// controllable clock.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fromProto3JSON, toProto3JSON, type JSONObject } from 'proto3-json-serializer';
import protobuf from 'protobufjs';
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SteppingClock } from './clock.js';
import type { IdTokenClaims } from './oidc-issuer.js';
import { DEFAULT_RETRY, QueueRegistry, rpcError, type QueueRetryConfig, type QueueSeed, type WireQueue } from './queues.js';

export { DEFAULT_RETRY, type QueueRetryConfig, type QueueSeed } from './queues.js';

const require = createRequire(import.meta.url);
const tasksEntry = require.resolve('@google-cloud/tasks');
// build/cjs/src/index.cjs -> package root
const tasksRoot = join(dirname(tasksEntry), '..', '..', '..');
const gaxRoot = join(dirname(createRequire(tasksEntry).resolve('google-gax')), '..', '..');
export const PROTO_DIRS = [join(tasksRoot, 'build', 'protos'), join(gaxRoot, 'build', 'protos')];

const TASK_ID = /^[A-Za-z0-9_-]{1,500}$/;
const MAX_SCHEDULE_AHEAD_MS = 30 * 24 * 3600 * 1000;

export interface ServerOptions {
  project: string;
  location: string;
  /** Queue ids that exist, with their settings; others answer NOT_FOUND until CreateQueue/UpdateQueue makes them. */
  queues: string[] | Record<string, QueueSeed>;
  clock?: SteppingClock;
  /** Protobuf-encoded size limit of one Task (the service documents 1 MB). */
  maxTaskSizeBytes?: number;
  /** How long a deleted or finished task's name stays taken (~1 h on Cloud Tasks, up to 9 days for queue.yaml queues). */
  tombstoneMs?: number;
  /** Where App Engine targets live: service name -> base URL (`default` is used when routing names none). */
  appEngineServices?: Record<string, string>;
  /** Signs the OIDC token of HTTP targets (the test's issuer). */
  signIdToken?: (claims: IdTokenClaims) => string;
  /** Per-attempt HTTP deadline (Cloud Tasks: dispatch_deadline, default 10 min). */
  dispatchDeadlineMs?: number;
}

export interface Delivery {
  task: string;
  queue: string;
  url: string;
  headers: Record<string, string>;
  body: Buffer;
  /** 0 when no response came back. */
  status: number;
  responseBody: string;
  routing?: { service?: string; version?: string; instance?: string };
}

interface Timestamp {
  seconds?: string | number;
  nanos?: number;
}

interface WireTask {
  name?: string;
  appEngineHttpRequest?: {
    httpMethod?: string;
    appEngineRouting?: { service?: string; version?: string; instance?: string; host?: string };
    relativeUri?: string;
    headers?: Record<string, string>;
    body?: Buffer;
  };
  httpRequest?: {
    url?: string;
    httpMethod?: string;
    headers?: Record<string, string>;
    body?: Buffer;
    oidcToken?: { serviceAccountEmail?: string; audience?: string };
    oauthToken?: { serviceAccountEmail?: string; scope?: string };
  };
  scheduleTime?: Timestamp;
  messageType?: string;
  [key: string]: unknown;
}

interface StoredTask {
  name: string;
  queueId: string;
  wire: WireTask;
  scheduleMs: number;
  createMs: number;
  firstScheduleMs: number;
  dispatchCount: number;
  responseCount: number;
  previousResponse?: number;
  inFlight: boolean;
  /** Dispatch time of the first attempt (all Cloud Tasks keeps of it). */
  firstDispatchMs?: number;
  lastAttempt?: { scheduleMs: number; dispatchMs: number; responseMs?: number; status?: number };
}

type Handler<Req, Res> = grpc.handleUnaryCall<Req, Res>;

export class CloudTasksTestServer {
  readonly clock: SteppingClock;
  readonly deliveries: Delivery[] = [];
  /** Raw CreateTask requests as received (tests assert what the backend sent). */
  readonly created: WireTask[] = [];
  port = 0;
  /** Port of the REST (HTTP/1.1 JSON) face, what the client's `fallback: 'rest'` speaks; 0 until `start()`. */
  restPort = 0;
  private rest: HttpServer | undefined;

  private readonly server = new grpc.Server();
  /** The queues and their admin RPCs; tests may also read a queue's settings (`queues.stored(id)`). */
  readonly queues: QueueRegistry;
  private readonly tasks = new Map<string, StoredTask>();
  private readonly tombstones = new Map<string, number>();
  private readonly maxTaskSizeBytes: number;
  private readonly tombstoneMs: number;
  private encodeTask: (task: WireTask) => Buffer = () => Buffer.alloc(0);
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: ServerOptions) {
    this.clock = options.clock ?? new SteppingClock();
    this.maxTaskSizeBytes = options.maxTaskSizeBytes ?? 1_000_000;
    this.tombstoneMs = options.tombstoneMs ?? 3600_000;
    this.queues = new QueueRegistry(options.project, options.location);
    const queueEntries = Array.isArray(options.queues) ? options.queues.map((id) => [id, {}] as const) : Object.entries(options.queues);
    for (const [id, seed] of queueEntries) this.queues.seed(id, seed);
  }

  get endpoint(): { apiEndpoint: string; port: number } {
    return { apiEndpoint: '127.0.0.1', port: this.port };
  }

  queuePath(queueId: string): string {
    return this.queues.path(queueId);
  }

  /** `projects/P/locations/L`, the parent of the queues. */
  get locationPath(): string {
    return this.queues.locationPath;
  }

  async start(): Promise<this> {
    const service = (loadDefinition()['google.cloud.tasks.v2.CloudTasks'] ?? {}) as grpc.ServiceDefinition;
    const createTask = service.CreateTask as grpc.MethodDefinition<unknown, WireTask>;
    this.encodeTask = (task) => createTask.responseSerialize(task);
    this.server.addService(service, {
      CreateTask: this.unary((req: { parent: string; task?: WireTask; responseView?: string }) => this.createTask(req)),
      GetTask: this.unary((req: { name: string; responseView?: string }) => this.view(this.requireTask(req.name), req.responseView)),
      DeleteTask: this.unary((req: { name: string }) => this.deleteTask(req.name)),
      ListTasks: this.unary((req: { parent: string; pageSize?: number; pageToken?: string; responseView?: string }) =>
        this.listTasks(req),
      ),
      RunTask: this.unary((req: { name: string; responseView?: string }) => this.runTask(req)),
      GetQueue: this.unary((req: { name: string }) => this.queues.get(req.name)),
      ListQueues: this.unary((req: { parent: string; filter?: string; pageSize?: number; pageToken?: string }) => this.queues.list(req)),
      CreateQueue: this.unary((req: { parent: string; queue?: WireQueue }) => this.queues.create(req)),
      UpdateQueue: this.unary((req: { queue?: WireQueue; updateMask?: { paths?: string[] } }) => this.queues.update(req)),
      PauseQueue: this.unary((req: { name: string }) => this.queues.setState(req.name, 'PAUSED')),
      ResumeQueue: this.unary((req: { name: string }) => this.queues.setState(req.name, 'RUNNING')),
      PurgeQueue: this.unary((req: { name: string }) => this.purgeQueue(req.name)),
    });
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) =>
        error ? reject(error) : resolve(port),
      ),
    );
    const rest = createServer((req, res) => void this.serveRest(req, res));
    this.rest = rest;
    await new Promise<void>((resolve) => rest.listen(0, '127.0.0.1', resolve));
    this.restPort = (rest.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    const rest = this.rest;
    if (rest) {
      rest.closeAllConnections();
      await new Promise<void>((resolve) => rest.close(() => resolve()));
    }
  }

  /**
   * The REST mapping of the same RPCs (the `google.api.http` rules of cloudtasks.proto),
   * with proto3 JSON bodies converted by the serializer google-gax itself uses.
   */
  private async serveRest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = decodeURIComponent(url.pathname).replace(/^\/v2\//, '');
    const query = Object.fromEntries(url.searchParams);
    const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as JSONObject) : {};
    const answer = (status: number, json: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(json));
    };
    try {
      // Custom verbs (`name:pause`); a project id may itself contain ':', so only these suffixes count.
      const verb = /:(run|pause|resume|purge)$/.exec(path)?.[1];
      const resource = verb ? path.slice(0, -verb.length - 1) : path;
      const isTask = /\/tasks\/[^/]+$/.test(resource);
      const isTasks = /\/tasks$/.test(resource);
      const isQueue = /\/queues\/[^/]+$/.test(resource);
      const isQueues = /\/queues$/.test(resource);
      const queue = () => decodeJson('Queue', body) as WireQueue;
      let result: { type: string; value: object };
      if (req.method === 'POST' && verb === 'run' && isTask) {
        result = { type: 'Task', value: this.runTask({ name: resource, responseView: body.responseView as string | undefined }) };
      } else if (req.method === 'POST' && verb && verb !== 'run' && isQueue) {
        const value = verb === 'purge' ? this.purgeQueue(resource) : this.queues.setState(resource, verb === 'pause' ? 'PAUSED' : 'RUNNING');
        result = { type: 'Queue', value };
      } else if (verb) {
        throw rpcError(grpc.status.UNIMPLEMENTED, `${req.method} ${url.pathname} is not served by the test server`);
      } else if (req.method === 'GET' && isQueues) {
        const request = { parent: resource.slice(0, -'/queues'.length), filter: query.filter, pageSize: Number(query.pageSize ?? 0), pageToken: query.pageToken };
        result = { type: 'ListQueuesResponse', value: this.queues.list(request) };
      } else if (req.method === 'POST' && isQueues) {
        result = { type: 'Queue', value: this.queues.create({ parent: resource.slice(0, -'/queues'.length), queue: queue() }) };
      } else if (req.method === 'PATCH' && isQueue) {
        // The JSON form of a FieldMask: comma-separated camelCase paths.
        const paths = query.updateMask ? query.updateMask.split(',') : [];
        result = { type: 'Queue', value: this.queues.update({ queue: { ...queue(), name: resource }, updateMask: { paths } }) };
      } else if (req.method === 'POST' && isTasks) {
        const request = decodeJson('CreateTaskRequest', { ...body, parent: path.slice(0, -'/tasks'.length) });
        result = { type: 'Task', value: this.createTask(request as Parameters<CloudTasksTestServer['createTask']>[0]) };
      } else if (req.method === 'GET' && isTask) {
        result = { type: 'Task', value: this.view(this.requireTask(path), query.responseView) };
      } else if (req.method === 'DELETE' && isTask) {
        result = { type: 'google.protobuf.Empty', value: this.deleteTask(path) };
      } else if (req.method === 'GET' && isTasks) {
        const request = { parent: path.slice(0, -'/tasks'.length), pageSize: Number(query.pageSize ?? 0), pageToken: query.pageToken, responseView: query.responseView };
        result = { type: 'ListTasksResponse', value: this.listTasks(request) };
      } else if (req.method === 'GET' && isQueue) {
        result = { type: 'Queue', value: this.queues.get(resource) };
      } else {
        throw rpcError(grpc.status.UNIMPLEMENTED, `${req.method} ${url.pathname} is not served by the test server`);
      }
      answer(200, encodeJson(result.type, result.value));
    } catch (error) {
      const { code = grpc.status.INTERNAL, details = String(error) } = error as Partial<grpc.ServiceError>;
      answer(HTTP_STATUS_OF[code] ?? 500, { error: { code: HTTP_STATUS_OF[code] ?? 500, message: details, status: grpc.status[code] } });
    }
  }

  /** Tasks still queued (not yet succeeded, deleted or given up), full names. */
  queued(queueId?: string): string[] {
    return [...this.tasks.values()].filter((t) => !queueId || t.queueId === queueId).map((t) => t.name);
  }

  /** Move the clock forward, then deliver everything that became due (retries included) and wait for it. */
  async advance(ms: number): Promise<number> {
    this.clock.advance(ms);
    return this.dispatchDue();
  }

  /** Deliver every task due now; tasks that fail are rescheduled into the future, so this terminates. */
  async dispatchDue(): Promise<number> {
    let delivered = 0;
    for (;;) {
      const now = this.clock.now();
      // A paused (or disabled) queue keeps its tasks and dispatches none of them.
      const due = [...this.tasks.values()].filter((t) => !t.inFlight && t.scheduleMs <= now && this.queues.stored(t.queueId)?.state === 'RUNNING');
      if (due.length === 0) return delivered;
      delivered += due.length;
      await Promise.all(due.map((task) => this.track(this.dispatch(task))));
    }
  }

  // --- RPCs -----------------------------------------------------------------

  private createTask(req: { parent: string; task?: WireTask; responseView?: string }): WireTask {
    const queueId = this.queues.require(req.parent);
    const task = req.task;
    if (!task) throw rpcError(grpc.status.INVALID_ARGUMENT, 'Task is required.');
    this.created.push(task);
    if (!task.appEngineHttpRequest === !task.httpRequest) {
      throw rpcError(grpc.status.INVALID_ARGUMENT, 'Exactly one of app_engine_http_request or http_request must be set.');
    }
    if (task.appEngineHttpRequest) {
      const uri = task.appEngineHttpRequest.relativeUri ?? '/';
      if (!uri.startsWith('/')) throw rpcError(grpc.status.INVALID_ARGUMENT, `relative_uri must begin with "/": ${uri}`);
    }
    if (task.httpRequest) {
      const url = task.httpRequest.url ?? '';
      if (!/^https?:\/\/[^/]/.test(url)) throw rpcError(grpc.status.INVALID_ARGUMENT, `HttpRequest.url must be an absolute http(s) URL: "${url}"`);
      const oidc = task.httpRequest.oidcToken;
      if (oidc && !oidc.serviceAccountEmail) throw rpcError(grpc.status.INVALID_ARGUMENT, 'OidcToken.service_account_email is required.');
      if (oidc && !this.options.signIdToken) throw rpcError(grpc.status.FAILED_PRECONDITION, 'This test server has no OIDC signer.');
    }
    const now = this.clock.now();
    let name: string;
    if (task.name) {
      const prefix = `${req.parent}/tasks/`;
      const id = task.name.startsWith(prefix) ? task.name.slice(prefix.length) : '';
      if (!TASK_ID.test(id)) {
        throw rpcError(grpc.status.INVALID_ARGUMENT, `Task name must be "${prefix}TASK_ID" with TASK_ID matching [A-Za-z0-9_-]{1,500}: "${task.name}"`);
      }
      name = task.name;
      const tombstone = this.tombstones.get(name);
      if (this.tasks.has(name) || (tombstone !== undefined && now - tombstone < this.tombstoneMs)) {
        throw rpcError(grpc.status.ALREADY_EXISTS, 'Requested entity already exists');
      }
    } else {
      name = `${req.parent}/tasks/${randomBytes(16).readBigUInt64BE().toString()}`;
    }
    const scheduleMs = task.scheduleTime ? timestampMs(task.scheduleTime) : now;
    if (scheduleMs > now + MAX_SCHEDULE_AHEAD_MS) {
      throw rpcError(grpc.status.INVALID_ARGUMENT, 'The task cannot be scheduled more than 30 days in the future.');
    }
    const stored: WireTask = { ...task, name, scheduleTime: msTimestamp(scheduleMs), createTime: msTimestamp(now), view: 'FULL' };
    const size = this.encodeTask(stored).length;
    if (size > this.maxTaskSizeBytes) {
      throw rpcError(grpc.status.INVALID_ARGUMENT, `Task size ${size} bytes exceeds the maximum of ${this.maxTaskSizeBytes} bytes.`);
    }
    this.tasks.set(name, {
      name,
      queueId,
      wire: stored,
      scheduleMs,
      firstScheduleMs: scheduleMs,
      createMs: now,
      dispatchCount: 0,
      responseCount: 0,
      inFlight: false,
    });
    return this.view(this.tasks.get(name)!, req.responseView);
  }

  private deleteTask(name: string): Record<string, never> {
    this.requireTask(name);
    this.finish(name);
    return {};
  }

  /**
   * Dispatches the task now, even when its queue is paused or it is already
   * running, and answers with the task as dispatched (before the response), as
   * RunTask does; the attempt's outcome is handled as any other (success deletes
   * the task, failure reschedules it with the queue's backoff).
   */
  private runTask(req: { name: string; responseView?: string }): WireTask {
    const task = this.requireTask(req.name);
    void this.track(this.dispatch(task));
    return this.view(task, req.responseView);
  }

  /** Deletes every task created before now (names stay taken, as for any deleted task) and records the purge time. */
  private purgeQueue(name: string): object {
    const now = this.clock.now();
    const queueId = this.queues.markPurged(name, now);
    for (const task of [...this.tasks.values()]) {
      if (task.queueId === queueId && task.createMs <= now) this.finish(task.name);
    }
    return this.queues.get(name);
  }

  /** Waits for dispatches in flight (RunTask starts one without waiting for it). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private listTasks(req: { parent: string; pageSize?: number; pageToken?: string; responseView?: string }) {
    const queueId = this.queues.require(req.parent);
    const all = [...this.tasks.values()].filter((t) => t.queueId === queueId);
    const start = req.pageToken ? Number(req.pageToken) : 0;
    if (!Number.isInteger(start) || start < 0) throw rpcError(grpc.status.INVALID_ARGUMENT, 'Invalid page token.');
    const size = Math.min(req.pageSize || 1000, 1000);
    const page = all.slice(start, start + size);
    return {
      tasks: page.map((t) => this.view(t, req.responseView)),
      nextPageToken: start + size < all.length ? String(start + size) : '',
    };
  }

  // --- dispatch ---------------------------------------------------------------

  private async dispatch(task: StoredTask): Promise<void> {
    task.inFlight = true;
    const retryCount = task.dispatchCount;
    const request = this.buildRequest(task, retryCount);
    task.dispatchCount++;
    const dispatchMs = this.clock.now();
    task.firstDispatchMs ??= dispatchMs;
    task.lastAttempt = { scheduleMs: task.scheduleMs, dispatchMs };
    const { status, body } = await post(request.url, request.headers, request.body, this.options.dispatchDeadlineMs ?? 30_000);
    task.inFlight = false;
    if (status !== 0) {
      task.responseCount++;
      task.lastAttempt = { ...task.lastAttempt, responseMs: this.clock.now(), status };
    }
    this.deliveries.push({ task: task.name, queue: task.queueId, status, responseBody: body, ...request });
    if (status >= 200 && status < 300) {
      this.finish(task.name);
      return;
    }
    const retry = this.queues.stored(task.queueId)?.retry ?? DEFAULT_RETRY;
    if (givesUp(retry, task.dispatchCount, this.clock.now() - task.firstDispatchMs)) {
      this.finish(task.name);
      return;
    }
    task.previousResponse = status;
    task.scheduleMs = this.clock.now() + backoffMs(retry, task.dispatchCount);
  }

  private buildRequest(task: StoredTask, retryCount: number) {
    const id = task.name.slice(task.name.lastIndexOf('/') + 1);
    const etaSeconds = (task.scheduleMs / 1000).toFixed(6);
    const system: Record<string, string> = {};
    let url: string;
    let userHeaders: Record<string, string>;
    let body: Buffer;
    let routing: Delivery['routing'];
    if (task.wire.appEngineHttpRequest) {
      const ae = task.wire.appEngineHttpRequest;
      // A queue's override applies to all its App Engine tasks, whatever their own routing.
      routing = this.queues.stored(task.queueId)?.routingOverride ?? ae.appEngineRouting;
      const services = this.options.appEngineServices ?? {};
      const base = services[routing?.service || 'default'] ?? services.default;
      if (!base) throw new Error(`The test server has no URL for App Engine service "${routing?.service || 'default'}"`);
      url = base.replace(/\/$/, '') + (ae.relativeUri ?? '/');
      userHeaders = ae.headers ?? {};
      body = Buffer.from(ae.body ?? []);
      system['X-AppEngine-QueueName'] = task.queueId;
      system['X-AppEngine-TaskName'] = id;
      system['X-AppEngine-TaskRetryCount'] = String(retryCount);
      system['X-AppEngine-TaskExecutionCount'] = String(task.responseCount);
      system['X-AppEngine-TaskETA'] = etaSeconds;
      if (task.previousResponse !== undefined) system['X-AppEngine-TaskPreviousResponse'] = String(task.previousResponse);
      system['User-Agent'] = 'AppEngine-Google; (+http://code.google.com/appengine)';
      if (body.length > 0 && !hasHeader(userHeaders, 'content-type')) system['Content-Type'] = 'application/octet-stream';
    } else {
      const http = task.wire.httpRequest!;
      url = http.url!;
      userHeaders = http.headers ?? {};
      body = Buffer.from(http.body ?? []);
      system['X-CloudTasks-QueueName'] = task.queueId;
      system['X-CloudTasks-TaskName'] = id;
      system['X-CloudTasks-TaskRetryCount'] = String(retryCount);
      system['X-CloudTasks-TaskExecutionCount'] = String(task.responseCount);
      system['X-CloudTasks-TaskETA'] = etaSeconds;
      if (task.previousResponse !== undefined) system['X-CloudTasks-TaskPreviousResponse'] = String(task.previousResponse);
      system['User-Agent'] = 'Google-Cloud-Tasks';
      if (http.oidcToken) {
        const token = this.options.signIdToken!({
          aud: http.oidcToken.audience || url,
          email: http.oidcToken.serviceAccountEmail!,
          email_verified: true,
          azp: '100000000000000000001',
        });
        system.Authorization = `Bearer ${token}`;
      }
    }
    // Cloud Tasks drops user-supplied Host, X-Google-* and X-AppEngine-* headers and sets its own.
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(userHeaders)) {
      if (!/^(host|content-length|user-agent|x-google-.*|x-appengine-.*|x-cloudtasks-.*)$/i.test(key)) headers[key] = value;
    }
    Object.assign(headers, system);
    return { url, headers, body, routing };
  }

  private finish(name: string): void {
    this.tasks.delete(name);
    this.tombstones.set(name, this.clock.now());
  }

  private track(work: Promise<void>): Promise<void> {
    this.inFlight.add(work);
    return work.finally(() => this.inFlight.delete(work));
  }

  // --- helpers ---------------------------------------------------------------

  private requireTask(name: string): StoredTask {
    const task = this.tasks.get(name);
    if (!task) throw rpcError(grpc.status.NOT_FOUND, `Task does not exist: ${name}`);
    return task;
  }

  private view(task: StoredTask, responseView?: string): WireTask {
    const last = task.lastAttempt;
    const wire: WireTask = {
      ...task.wire,
      scheduleTime: msTimestamp(task.scheduleMs),
      dispatchCount: task.dispatchCount,
      responseCount: task.responseCount,
      // Of the first attempt Cloud Tasks keeps only the dispatch time.
      ...(task.firstDispatchMs !== undefined ? { firstAttempt: { dispatchTime: msTimestamp(task.firstDispatchMs) } } : {}),
      ...(last
        ? {
            lastAttempt: {
              scheduleTime: msTimestamp(last.scheduleMs),
              dispatchTime: msTimestamp(last.dispatchMs),
              ...(last.responseMs !== undefined ? { responseTime: msTimestamp(last.responseMs) } : {}),
              ...(last.status !== undefined ? { responseStatus: httpStatusAsRpcStatus(last.status) } : {}),
            },
          }
        : {}),
      view: responseView === 'FULL' ? 'FULL' : 'BASIC',
    };
    // The BASIC view leaves the payload out, as the service does.
    if (responseView !== 'FULL') {
      if (wire.appEngineHttpRequest) wire.appEngineHttpRequest = { ...wire.appEngineHttpRequest, body: Buffer.alloc(0) };
      if (wire.httpRequest) wire.httpRequest = { ...wire.httpRequest, body: Buffer.alloc(0) };
    }
    return wire;
  }

  private unary<Req, Res>(fn: (request: Req) => Res): Handler<Req, Res> {
    return (call, callback) => {
      try {
        callback(null, fn(call.request));
      } catch (error) {
        callback(error as grpc.ServiceError);
      }
    };
  }
}

// google.rpc.Code -> HTTP status, as https://cloud.google.com/apis/design/errors maps them.
const HTTP_STATUS_OF: Partial<Record<number, number>> = {
  [grpc.status.INVALID_ARGUMENT]: 400,
  [grpc.status.FAILED_PRECONDITION]: 400,
  [grpc.status.NOT_FOUND]: 404,
  [grpc.status.ALREADY_EXISTS]: 409,
  [grpc.status.PERMISSION_DENIED]: 403,
  [grpc.status.UNIMPLEMENTED]: 501,
};

let root: protobuf.Root | undefined;

/** The same .proto files as a protobufjs root, for the REST face's JSON conversion. */
function messageType(name: string): protobuf.Type {
  if (!root) {
    root = new protobuf.Root();
    root.resolvePath = (_origin, target) => {
      for (const dir of PROTO_DIRS) {
        const candidate = join(dir, target);
        if (existsSync(candidate)) return candidate;
      }
      return target;
    };
    root.loadSync('google/cloud/tasks/v2/cloudtasks.proto', { keepCase: false });
    root.loadSync('google/protobuf/empty.proto', { keepCase: false });
  }
  return root.lookupType(name.includes('.') ? name : `google.cloud.tasks.v2.${name}`);
}

/** proto3 JSON -> the plain-object form the gRPC face works with (Buffers, {seconds, nanos}, enum names). */
function decodeJson(type: string, json: JSONObject): object {
  const t = messageType(type);
  return t.toObject(fromProto3JSON(t, json)!, { longs: String, enums: String, oneofs: true });
}

function encodeJson(type: string, value: object): unknown {
  const t = messageType(type);
  return toProto3JSON(t.fromObject(value));
}

let definition: protoLoader.PackageDefinition | undefined;

/** The service definition, parsed from the .proto files once per process. */
function loadDefinition(): protoLoader.PackageDefinition {
  return (definition ??= protoLoader.loadSync('google/cloud/tasks/v2/cloudtasks.proto', {
    includeDirs: PROTO_DIRS,
    keepCase: false,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
  }));
}

/**
 * Retrying stops once the task was attempted max_attempts times *and*
 * max_retry_duration has passed since its first attempt (queue.proto); -1
 * attempts or a zero duration is no limit on that side.
 */
export function givesUp(retry: QueueRetryConfig, attempts: number, sinceFirstAttemptMs: number): boolean {
  const durationPassed = retry.maxRetryDurationMs > 0 && sinceFirstAttemptMs >= retry.maxRetryDurationMs;
  if (retry.maxAttempts === -1) return durationPassed;
  return attempts >= retry.maxAttempts && (retry.maxRetryDurationMs === 0 || durationPassed);
}

/** The `google.rpc.Status` Cloud Tasks records for an HTTP answer (https://cloud.google.com/apis/design/errors mapping). */
function httpStatusAsRpcStatus(status: number): { code: number; message: string } {
  const code =
    status >= 200 && status < 300 ? grpc.status.OK
    : status === 400 ? grpc.status.INVALID_ARGUMENT
    : status === 401 ? grpc.status.UNAUTHENTICATED
    : status === 403 ? grpc.status.PERMISSION_DENIED
    : status === 404 ? grpc.status.NOT_FOUND
    : status === 409 ? grpc.status.ABORTED
    : status === 429 ? grpc.status.RESOURCE_EXHAUSTED
    : status === 501 ? grpc.status.UNIMPLEMENTED
    : status === 503 ? grpc.status.UNAVAILABLE
    : status === 504 ? grpc.status.DEADLINE_EXCEEDED
    : status >= 500 ? grpc.status.INTERNAL
    : grpc.status.UNKNOWN;
  return { code, message: `HTTP status code ${status}` };
}

/** Cloud Tasks' backoff: min_backoff doubled max_doublings times, then growing linearly, capped at max_backoff. */
export function backoffMs(retry: QueueRetryConfig, attempts: number): number {
  const n = Math.max(attempts - 1, 0);
  const doublings = Math.min(n, retry.maxDoublings);
  const linear = n - doublings;
  const atDoublingCap = retry.minBackoffMs * 2 ** doublings;
  return Math.min(atDoublingCap + linear * atDoublingCap, retry.maxBackoffMs);
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}

function timestampMs(ts: Timestamp): number {
  return Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}

function msTimestamp(ms: number): Timestamp {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

function post(url: string, headers: Record<string, string>, body: Buffer, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { method: 'POST', headers: { ...headers, 'Content-Length': String(body.length) }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => resolve({ status: 0, body: '' }));
    });
    req.on('timeout', () => req.destroy(new Error('dispatch deadline exceeded')));
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.end(body);
  });
}
