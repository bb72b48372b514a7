// A QueueOperations over plain arrays, for the tests of the dashboard's own logic
// (routing, escaping, access, CSRF). The real implementations are exercised by the
// browser tests and by the operations tests of the CLI.
import {
  TASK_STATES,
  TaskNotFoundError,
  TaskStateError,
  type QueueOperations,
  type QueueSummary,
  type TaskDetails,
  type TaskPage,
  type TaskQuery,
  type TaskState,
  type ThroughputBucket,
} from '../../../shim/operations/types.js';

export class FakeOperations implements QueueOperations {
  readonly backend = 'fake';
  readonly calls: string[] = [];
  readonly paused = new Set<string>();
  tasks: TaskDetails[] = [];

  constructor(readonly queueNames: string[] = ['default']) {}

  addTask(task: Partial<TaskDetails> & { name: string }): TaskDetails {
    const full: TaskDetails = {
      queue: 'default',
      state: 'pending',
      function: 'work',
      etaMs: 1_000,
      createdMs: 1_000,
      attempts: 0,
      url: '/_ah/queue/deferred',
      headers: {},
      args: [],
      attemptLog: [],
      ...task,
    };
    this.tasks.push(full);
    return full;
  }

  async listQueues(): Promise<QueueSummary[]> {
    const names = [...new Set([...this.queueNames, ...this.tasks.map((t) => t.queue)])].sort();
    return names.map((name) => {
      const counts = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>;
      for (const t of this.tasks) if (t.queue === name) counts[t.state] += 1;
      return { name, counts, paused: this.paused.has(name), defined: name === 'default', limits: { retry: { task_retry_limit: 3 }, ratePerSecond: 5, bucketSize: 5 } };
    });
  }

  async pauseQueue(queue: string): Promise<void> {
    this.calls.push(`pause ${queue}`);
    this.paused.add(queue);
  }

  async resumeQueue(queue: string): Promise<void> {
    this.calls.push(`resume ${queue}`);
    this.paused.delete(queue);
  }

  async purgeQueue(queue: string): Promise<number> {
    this.calls.push(`purge ${queue}`);
    const before = this.tasks.length;
    this.tasks = this.tasks.filter((t) => t.queue !== queue || t.state === 'leased' || t.state === 'done');
    return before - this.tasks.length;
  }

  async listTasks(query: TaskQuery = {}): Promise<TaskPage> {
    const matching = this.tasks.filter((t) => (query.queue === undefined || t.queue === query.queue) && (query.state === undefined || t.state === query.state));
    const start = query.cursor === undefined ? 0 : Number(query.cursor);
    const limit = query.limit ?? 50;
    const tasks = matching.slice(start, start + limit);
    return { tasks, ...(start + limit < matching.length && { nextCursor: String(start + limit) }) };
  }

  async getTask(name: string, queue?: string): Promise<TaskDetails> {
    const task = this.tasks.find((t) => t.name === name && (queue === undefined || t.queue === queue));
    if (!task) throw new TaskNotFoundError(`no task ${name}`);
    return task;
  }

  async retryTask(name: string, queue?: string): Promise<void> {
    const task = await this.getTask(name, queue);
    if (task.state === 'leased' || task.state === 'done') throw new TaskStateError(`task ${name} is ${task.state}`);
    this.calls.push(`retry ${task.queue}/${name}`);
    task.state = 'pending';
  }

  async retryAllFailed(queue?: string): Promise<number> {
    this.calls.push(`retry-failed ${queue}`);
    const failed = this.tasks.filter((t) => t.state === 'failed' && (queue === undefined || t.queue === queue));
    for (const t of failed) t.state = 'pending';
    return failed.length;
  }

  async deleteTask(name: string, queue?: string): Promise<void> {
    const task = await this.getTask(name, queue);
    this.calls.push(`delete ${task.queue}/${name}`);
    this.tasks = this.tasks.filter((t) => t !== task);
  }

  async throughput(options: { minutes?: number; queue?: string } = {}): Promise<ThroughputBucket[]> {
    return Array.from({ length: options.minutes ?? 60 }, (_, i) => ({ startMs: i * 60_000, done: i % 4, failed: i % 7 === 0 ? 1 : 0 }));
  }

  async close(): Promise<void> {}
}
