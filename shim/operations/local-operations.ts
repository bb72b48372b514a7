// QueueOperations over a local QueueStore: the embedded queue file (in the app's
// process, or opened by the CLI beside a running app) and the memory backend.
// Every call is one short store transaction, so an operator never holds the
// file's write lock for long.
import type { Clock } from '../api/types.js';
import type { QueueStore, TaskRecord } from '../backends/local/store.js';
import { decodeEnvelope } from '../serialization/envelope.js';
import {
  TASK_STATES,
  TaskNotFoundError,
  TaskStateError,
  type QueueLimits,
  type QueueOperations,
  type QueueSummary,
  type TaskDetails,
  type TaskPage,
  type TaskQuery,
  type TaskState,
  type TaskSummary,
  type ThroughputBucket,
} from './types.js';

export interface LocalOperationsOptions {
  kind: 'embedded' | 'memory';
  clock: Clock;
  /** Limits in force per queue (queue.yaml); empty: no queue is defined. */
  queueLimits: ReadonlyMap<string, QueueLimits>;
  /** Close the store in close() (the CLI's own handle), not when the backend owns it. */
  ownsStore?: boolean;
  /** Called after a change that makes tasks due (resume, retry): the in-process dispatcher looks at once. */
  onDue?: () => void;
}

const DEFAULT_PAGE = 50;
const MAX_PAGE = 1000;

export class LocalQueueOperations implements QueueOperations {
  readonly backend: string;

  constructor(
    private readonly store: QueueStore,
    private readonly options: LocalOperationsOptions,
  ) {
    this.backend = options.kind;
  }

  async listQueues(): Promise<QueueSummary[]> {
    const now = this.options.clock.now();
    const counts = this.store.countByState(now);
    const oldest = this.store.oldestDueEta(now);
    const paused = new Set(this.store.pausedQueues());
    const names = new Set<string>([...this.options.queueLimits.keys(), ...counts.map((c) => c.queue), ...paused]);
    return [...names].sort().map((name) => {
      const summary: QueueSummary = {
        name,
        counts: Object.fromEntries(TASK_STATES.map((state) => [state, 0])) as Record<TaskState, number>,
        paused: paused.has(name),
        defined: this.options.queueLimits.has(name),
        limits: this.options.queueLimits.get(name) ?? { retry: {} },
      };
      for (const row of counts) if (row.queue === name) summary.counts[row.state] += row.count;
      const eta = oldest.get(name);
      if (eta !== undefined) summary.oldestDueAgeMs = Math.max(0, now - eta);
      return summary;
    });
  }

  async pauseQueue(queue: string): Promise<void> {
    this.store.setPaused(queue, true);
  }

  async resumeQueue(queue: string): Promise<void> {
    this.store.setPaused(queue, false);
    this.options.onDue?.();
  }

  async purgeQueue(queue: string): Promise<number> {
    return this.store.purge(queue, this.options.clock.now());
  }

  async listTasks(query: TaskQuery = {}): Promise<TaskPage> {
    const limit = Math.min(MAX_PAGE, Math.max(1, Math.floor(query.limit ?? DEFAULT_PAGE)));
    const offset = query.cursor === undefined ? 0 : Number(query.cursor);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new TypeError(`not a cursor of this backend: ${JSON.stringify(query.cursor)}`);
    // One row more than the page tells whether there is a next page.
    const records = this.store.listTasks({ ...query, limit: limit + 1, offset }, this.options.clock.now());
    const page: TaskPage = { tasks: records.slice(0, limit).map(summarize) };
    if (records.length > limit) page.nextCursor = String(offset + limit);
    return page;
  }

  async getTask(name: string, queue?: string): Promise<TaskDetails> {
    const record = this.find(name, queue);
    const details: TaskDetails = {
      ...summarize(record),
      url: record.url,
      headers: record.headers,
      attemptLog: record.attempts,
    };
    if (record.retry !== undefined) details.retryOptions = record.retry;
    if (record.state !== 'done') Object.assign(details, this.decodeArgs(record));
    return details;
  }

  async retryTask(name: string, queue?: string): Promise<void> {
    const record = this.find(name, queue);
    if (record.state === 'done') throw new TaskStateError(`task ${record.queue}/${record.name} already succeeded; there is nothing to retry`);
    if (record.state === 'leased') throw new TaskStateError(`task ${record.queue}/${record.name} is running now (leased); retry it after the attempt ends`);
    if (!this.store.retryNow(record.id, this.options.clock.now())) {
      throw new TaskStateError(`task ${record.queue}/${record.name} changed state meanwhile; look at it again`);
    }
    this.options.onDue?.();
  }

  async retryAllFailed(queue?: string): Promise<number> {
    const now = this.options.clock.now();
    let retried = 0;
    // Page by page: a retried task leaves the failed state, so the next page starts at 0 again.
    for (;;) {
      const failed = this.store.listTasks({ state: 'failed', limit: 500, offset: 0, ...(queue !== undefined && { queue }) }, now);
      if (failed.length === 0) break;
      let progressed = false;
      for (const record of failed) {
        if (this.store.retryNow(record.id, now)) {
          retried += 1;
          progressed = true;
        }
      }
      if (!progressed) break;
    }
    if (retried > 0) this.options.onDue?.();
    return retried;
  }

  async deleteTask(name: string, queue?: string): Promise<void> {
    const record = this.find(name, queue);
    if (record.state === 'leased') throw new TaskStateError(`task ${record.queue}/${record.name} is running now (leased); delete it after the attempt ends`);
    if (!this.store.deleteTask(record.id, this.options.clock.now())) {
      throw new TaskStateError(`task ${record.queue}/${record.name} changed state meanwhile; look at it again`);
    }
  }

  async throughput(options: { minutes?: number; queue?: string } = {}): Promise<ThroughputBucket[]> {
    const minutes = Math.min(24 * 60, Math.max(1, Math.floor(options.minutes ?? 60)));
    const now = this.options.clock.now();
    const first = Math.floor(now / 60_000) * 60_000 - (minutes - 1) * 60_000;
    const rows = new Map(this.store.finishedPerMinute(first, options.queue).map((row) => [row.minute, row]));
    return Array.from({ length: minutes }, (_, i) => {
      const startMs = first + i * 60_000;
      const row = rows.get(startMs);
      return { startMs, done: row?.done ?? 0, failed: row?.failed ?? 0 };
    });
  }

  async close(): Promise<void> {
    if (this.options.ownsStore) this.store.close();
  }

  private find(name: string, queue: string | undefined): TaskRecord {
    const found = this.store.findTasks(name, queue, this.options.clock.now());
    if (found.length === 0) throw new TaskNotFoundError(`no task named ${JSON.stringify(name)}${queue === undefined ? '' : ` in queue ${JSON.stringify(queue)}`}`);
    if (found.length > 1) {
      throw new TaskNotFoundError(
        `several queues have a task named ${JSON.stringify(name)} (${found.map((r) => r.queue).join(', ')}); name the queue`,
      );
    }
    return found[0]!;
  }

  /** The function and arguments, decoded by the shim's codec; an overflowed payload is read from its blob. */
  private decodeArgs(record: TaskRecord): Pick<TaskDetails, 'args' | 'payloadError' | 'function'> {
    try {
      let envelope = decodeEnvelope(record.body);
      if (envelope.kind === 'overflow') {
        const blob = this.store.getBlob(envelope.key);
        if (blob === undefined) return { payloadError: `the overflow payload ${envelope.key} is gone` };
        envelope = decodeEnvelope(blob);
        if (envelope.kind !== 'call') return { payloadError: 'the overflow payload points at another overflow payload' };
      }
      return { function: envelope.fn, args: envelope.args };
    } catch (error) {
      return { payloadError: (error as Error).message };
    }
  }
}

function summarize(record: TaskRecord): TaskSummary {
  const summary: TaskSummary = {
    name: record.name,
    queue: record.queue,
    state: record.state,
    etaMs: record.etaMs,
    createdMs: record.createdMs,
    // retryCount counts failed attempts; a done task also made its successful one.
    attempts: record.retryCount + (record.state === 'done' ? 1 : 0),
  };
  const fn = functionName(record.body);
  if (fn !== undefined) summary.function = fn;
  if (record.previousResponse !== undefined) summary.lastStatus = record.previousResponse;
  const last = record.attempts[record.attempts.length - 1];
  if (last?.error) summary.lastError = last.error.message.split('\n')[0]!;
  const finished = record.completedMs ?? record.failedMs;
  if (finished !== undefined) summary.finishedMs = finished;
  return summary;
}

/** The function name without decoding the arguments (cheap enough for a listing). */
function functionName(body: Uint8Array): string | undefined {
  if (body.byteLength === 0) return undefined;
  try {
    const envelope = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')) as { fn?: unknown };
    return typeof envelope.fn === 'string' ? envelope.fn : undefined;
  } catch {
    return undefined;
  }
}
