// Delivers due tasks of a QueueStore to the app. Wakes at the next due time
// (an unref'd timer, so an idle queue never keeps the process alive) and
// whenever the clock jumps; claims due tasks under a lease, so a task whose
// delivery dies with the process is delivered again after the lease
// (at least once). 2xx completes a task; anything else reschedules it with
// backoff until the retry options give up.
import type { Clock, DeliveryTarget, Logger } from '../../api/types.js';
import { SIGNATURE_HEADER, signTask } from '../../runtime/signing.js';
import { backoffSeconds, retriesExhausted } from './retry.js';
import type { QueueStore, StoredTask } from './store.js';

export interface DispatcherOptions {
  clock: Clock;
  logger: Logger;
  signingSecret: string;
  /** Deliveries in flight at once (default 10). */
  concurrency?: number;
  /** How long a claimed task stays invisible to other claims (default 10 minutes, App Engine's push-task deadline). */
  leaseMs?: number;
  /**
   * Look at the store at least this often (real milliseconds), even when it seems
   * empty: another process sharing the queue file may have added tasks. Unset: only
   * this process's own enqueues and clock jumps wake the dispatcher.
   */
  pollMs?: number;
}

/** setTimeout's ceiling; longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Pause before looking at the store again after it failed. */
const STORE_RETRY_MS = 1000;

export class Dispatcher {
  private target: DeliveryTarget | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private timerDueMs: number | undefined;
  private readonly unsubscribeClock: (() => void) | undefined;
  private delivered = 0;
  /** Successful deliveries not yet recorded: written in one transaction per batch (see recordCompletions). */
  private completions: Array<{ id: string; nowMs: number }> = [];
  private refillScheduled = false;
  private closed = false;
  private readonly concurrency: number;
  private readonly leaseMs: number;

  constructor(
    private readonly store: QueueStore,
    private readonly options: DispatcherOptions,
  ) {
    this.concurrency = options.concurrency ?? 10;
    this.leaseMs = options.leaseMs ?? 10 * 60 * 1000;
    this.unsubscribeClock = options.clock.onAdvance?.(() => this.wake());
  }

  attach(target: DeliveryTarget): void {
    this.target = target;
    this.wake();
  }

  /** Something changed (a new task, the clock moved): deliver what is due and re-arm the timer. */
  wake(): void {
    if (this.closed || !this.target) return;
    try {
      this.pump();
      this.armTimer();
    } catch (error) {
      // The store failed (e.g. the queue file is locked): never throw into an
      // enqueue or a timer callback; look again shortly.
      this.options.logger.error('the dispatcher could not read the queue; retrying in 1 s', { error });
      this.setWakeTimer(STORE_RETRY_MS);
    }
  }

  /** Delivers everything due now, again and again, until nothing due is left; resolves to the number delivered meanwhile. */
  async drain(): Promise<number> {
    const before = this.delivered;
    if (!this.target) return 0;
    const seen = new Set<string>();
    for (;;) {
      const started = this.pump(seen);
      // A round that only re-delivers tasks this drain already delivered (a task
      // failing with zero backoff) is the last one, instead of looping forever.
      if (started.length > 0 && !started.includes(true)) {
        await Promise.allSettled([...this.inFlight]);
        break;
      }
      if (this.inFlight.size === 0) break;
      await Promise.race(this.inFlight);
    }
    this.recordCompletions();
    this.armTimer();
    return this.delivered - before;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribeClock?.();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.inFlight]);
    this.recordCompletions();
  }

  /**
   * Wakes once the deliveries finishing together have all finished (short tasks end
   * in the same run of the microtask queue): one claim for all the free slots and one
   * write for all their completions, instead of a claim at every half-empty moment.
   */
  private scheduleRefill(): void {
    if (this.refillScheduled) return;
    this.refillScheduled = true;
    process.nextTick(() => {
      this.refillScheduled = false;
      this.wake();
    });
  }

  /**
   * Completes the tasks delivered successfully since the last call, in one
   * transaction: called before every claim (the refill after a batch of deliveries)
   * and on the next turn of the event loop. Until then a delivered task stays
   * leased; if the process dies first, it is delivered again when the lease ends,
   * as when it dies between running a task and completing it (at least once).
   */
  private recordCompletions(): void {
    if (this.completions.length === 0) return;
    const batch = this.completions;
    this.completions = [];
    try {
      this.store.completeMany(batch);
    } catch (error) {
      // The lease will expire and these tasks will be delivered again.
      this.options.logger.error('recording finished tasks failed; they will be delivered again', { tasks: batch.length, error });
    }
  }

  /** Claims as many due tasks as free slots allow and starts their deliveries; returns, per task, whether it is new to `seen`. */
  private pump(seen?: Set<string>): boolean[] {
    const target = this.target;
    const free = this.concurrency - this.inFlight.size;
    if (this.closed || !target || free <= 0) return [];
    this.recordCompletions();
    const tasks = this.store.claimDue(this.options.clock.now(), free, this.leaseMs);
    return tasks.map((task) => {
      const fresh = seen === undefined || !seen.has(task.id);
      seen?.add(task.id);
      const delivery = this.deliver(task, target).finally(() => {
        this.inFlight.delete(delivery);
        this.delivered += 1;
        // Refill in batches (one claim transaction for many tasks), not one claim per finished delivery.
        if (!seen && this.inFlight.size <= this.concurrency / 2) this.scheduleRefill();
      });
      this.inFlight.add(delivery);
      return fresh;
    });
  }

  private async deliver(task: StoredTask, target: DeliveryTarget): Promise<void> {
    const { clock, logger } = this.options;
    let status: number;
    let executed = true;
    try {
      const response = await target({ method: 'POST', url: task.url, headers: this.headersFor(task), body: task.body });
      status = response.status;
    } catch (error) {
      logger.error('task delivery failed before reaching the app', { task: task.name, queue: task.queue, error });
      status = 500;
      executed = false;
    }
    const nowMs = clock.now();
    try {
      if (status >= 200 && status < 300) {
        this.completions.push({ id: task.id, nowMs });
        if (this.completions.length === 1) setImmediate(() => this.recordCompletions());
        return;
      }
      const retryCount = task.retryCount + 1;
      if (retriesExhausted(retryCount, nowMs - task.createdMs, task.retry)) {
        logger.error('task failed and its retries are exhausted: dropping it', {
          task: task.name,
          queue: task.queue,
          status,
          retryCount,
        });
        this.store.complete(task.id, nowMs);
        return;
      }
      // At least 1 ms: a retry never lands in the same instant, which on a
      // ManualClock would redeliver a failing task forever without time moving.
      const delayMs = Math.max(1, Math.round(backoffSeconds(retryCount, task.retry) * 1000));
      logger.debug('task failed; retrying later', { task: task.name, queue: task.queue, status, retryCount, delayMs });
      this.store.reschedule(task.id, nowMs + delayMs, status, executed);
    } catch (error) {
      // The store failed: the lease will expire and the task will be delivered again.
      logger.error('recording the outcome of a task failed; it will be delivered again', { task: task.name, error });
    }
  }

  private headersFor(task: StoredTask): Record<string, string> {
    const headers: Record<string, string> = {
      ...task.headers,
      'X-AppEngine-QueueName': task.queue,
      'X-AppEngine-TaskName': task.name,
      'X-AppEngine-TaskRetryCount': String(task.retryCount),
      'X-AppEngine-TaskExecutionCount': String(task.executionCount),
      'X-AppEngine-TaskETA': (task.etaMs / 1000).toFixed(6),
      [SIGNATURE_HEADER]: signTask(this.options.signingSecret, { queue: task.queue, taskName: task.name, body: task.body }),
    };
    if (task.previousResponse !== undefined) headers['X-AppEngine-TaskPreviousResponse'] = String(task.previousResponse);
    return headers;
  }

  private armTimer(): void {
    if (this.closed || !this.target) return;
    const now = this.options.clock.now();
    const next = this.store.nextDueMs(now);
    const { pollMs } = this.options;
    if (next === undefined && pollMs === undefined) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.timerDueMs = undefined;
      return;
    }
    const wait = Math.min(MAX_TIMER_MS, pollMs ?? MAX_TIMER_MS, next === undefined ? MAX_TIMER_MS : Math.max(0, next - now));
    const dueMs = now + wait;
    if (this.timer && this.timerDueMs !== undefined && this.timerDueMs <= dueMs) return;
    this.setWakeTimer(wait, dueMs);
  }

  private setWakeTimer(delayMs: number, dueMs?: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerDueMs = dueMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerDueMs = undefined;
      this.wake();
    }, delayMs);
    this.timer.unref();
  }
}
