// Delivers due tasks of a QueueStore to the app. Wakes at the next due time
// (an unref'd timer, so an idle queue never keeps the process alive) and
// whenever the clock jumps; claims due tasks under a lease, so a task whose
// delivery dies with the process is delivered again after the lease
// (at least once). 2xx completes a task; anything else reschedules it with
// backoff until the retry options give up, and the task is then kept as failed.
// queue.yaml limits (rate, concurrency per queue) shape what each claim may take.
import { AsyncResource } from 'node:async_hooks';
import type { Clock, DeliveryTarget, Logger } from '../../api/types.js';
import { takeAttemptFailure } from '../../operations/attempt-outcome.js';
import type { QueueLimits, TaskAttempt } from '../../operations/types.js';
import { SIGNATURE_HEADER, signTask } from '../../runtime/signing.js';
import { effectiveRetry, TokenBucket } from './queue-limits.js';
import { backoffSeconds, retriesExhausted } from './retry.js';
import type { ClaimPolicy, QueueStore, StoredTask } from './store.js';

// A delivery starts in the async context this module was loaded in, not in the one
// of whatever claimed the task (a defer() inside a request, a timer it set): the task
// must not see the enqueuing request's AsyncLocalStorage stores (a tenant, a user, a
// trace), as it would not when Cloud Tasks delivers it over HTTP.
const DELIVERY_SCOPE = new AsyncResource('DeferredDelivery');

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
  /** Per-queue limits (queue.yaml); queues not in the map are not limited. */
  queueLimits?: ReadonlyMap<string, QueueLimits>;
}

/** setTimeout's ceiling; longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Pause before looking at the store again after it failed. */
const STORE_RETRY_MS = 1000;

export class Dispatcher {
  private target: DeliveryTarget | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  /** The task of each delivery in flight (shutdown releases the ones that do not finish). */
  private readonly inFlightTasks = new Map<Promise<void>, StoredTask>();
  private readonly inFlightByQueue = new Map<string, number>();
  private readonly buckets = new Map<string, TokenBucket>();
  /** Queues that could take nothing at the last claim, and when a rate-limited one gets a token back. */
  private blocked: string[] = [];
  private nextTokenMs: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerDueMs: number | undefined;
  private readonly unsubscribeClock: (() => void) | undefined;
  private delivered = 0;
  /** Successful deliveries not yet recorded: written in one transaction per batch (see recordCompletions). */
  private completions: Array<{ id: string; nowMs: number }> = [];
  private refillScheduled = false;
  private closed = false;
  private exitHook: (() => void) | undefined;
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
    if (!this.exitHook && !this.closed) {
      this.exitHook = () => this.onProcessExit();
      process.on('exit', this.exitHook);
    }
    this.wake();
  }

  /**
   * `process.exit()` with deliveries in flight (the app's own, or a `cluster` worker's when
   * its primary goes: Node exits it at once, without the SIGTERM drain): the store is
   * synchronous, so the finished deliveries are recorded and the unfinished ones released
   * now. Before, both stayed leased: run again (or run at all) only after the 10-minute lease.
   */
  private onProcessExit(): void {
    if (this.closed) return;
    this.stopClaiming();
    this.recordCompletions();
    const unfinished = [...this.inFlightTasks.values()];
    if (unfinished.length === 0) return;
    try {
      this.store.release(
        unfinished.map((task) => task.id),
        this.options.clock.now(),
      );
    } catch {
      // The lease ends on its own.
    }
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
    this.stopClaiming();
    await Promise.allSettled([...this.inFlight]);
    this.recordCompletions();
  }

  /**
   * Graceful shutdown: claims nothing more, waits up to `deadlineMs` (real time)
   * for the deliveries in flight, then releases the leases of those still
   * running so another process claims them at once. Resolves to how many it released.
   */
  async shutdown(deadlineMs: number): Promise<number> {
    this.stopClaiming();
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)));
      await Promise.race([Promise.allSettled([...this.inFlight]), deadline]);
      clearTimeout(timer);
    }
    this.recordCompletions();
    const unfinished = [...this.inFlightTasks.values()];
    if (unfinished.length === 0) return 0;
    try {
      this.store.release(
        unfinished.map((task) => task.id),
        this.options.clock.now(),
      );
      this.options.logger.warn('shutdown: released tasks still running at the deadline; another process will run them', {
        tasks: unfinished.map((task) => task.name),
      });
    } catch (error) {
      this.options.logger.error('shutdown: could not release the running tasks; they run again when their lease ends', { error });
    }
    return unfinished.length;
  }

  private stopClaiming(): void {
    this.closed = true;
    if (this.exitHook) process.off('exit', this.exitHook);
    this.exitHook = undefined;
    this.unsubscribeClock?.();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
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
    const nowMs = this.options.clock.now();
    const policy = this.claimPolicy(nowMs);
    const tasks = this.store.claimDue(nowMs, free, this.leaseMs, policy);
    return tasks.map((task) => {
      const fresh = seen === undefined || !seen.has(task.id);
      seen?.add(task.id);
      const limited = this.options.queueLimits?.get(task.queue);
      if (limited) {
        this.buckets.get(task.queue)?.take(1, nowMs);
        this.inFlightByQueue.set(task.queue, (this.inFlightByQueue.get(task.queue) ?? 0) + 1);
      }
      const delivery = DELIVERY_SCOPE.runInAsyncScope(() => this.deliver(task, target)).finally(() => {
        this.inFlight.delete(delivery);
        this.inFlightTasks.delete(delivery);
        if (limited) this.inFlightByQueue.set(task.queue, this.inFlightByQueue.get(task.queue)! - 1);
        this.delivered += 1;
        // Refill in batches (one claim transaction for many tasks), not one claim per finished delivery;
        // a queue at its concurrency cap refills as soon as one of its deliveries ends.
        const capped = limited?.maxConcurrentRequests !== undefined;
        if (!seen && (this.inFlight.size <= this.concurrency / 2 || capped)) this.scheduleRefill();
      });
      this.inFlight.add(delivery);
      this.inFlightTasks.set(delivery, task);
      return fresh;
    });
  }

  /** How many tasks each limited queue may start now (tokens, free concurrency); undefined when no queue is limited. */
  private claimPolicy(nowMs: number): ClaimPolicy | undefined {
    const limits = this.options.queueLimits;
    this.blocked = [];
    this.nextTokenMs = undefined;
    if (!limits || limits.size === 0) return undefined;
    const caps: Record<string, number> = {};
    for (const [queue, limit] of limits) {
      let cap = Number.POSITIVE_INFINITY;
      let starvedOfTokens = false;
      if (limit.ratePerSecond !== undefined) {
        let bucket = this.buckets.get(queue);
        if (!bucket) this.buckets.set(queue, (bucket = new TokenBucket(limit.ratePerSecond, limit.bucketSize ?? 1, nowMs)));
        const tokens = bucket.available(nowMs);
        starvedOfTokens = tokens === 0;
        cap = Math.min(cap, tokens);
        if (starvedOfTokens) {
          const next = bucket.nextTokenMs(nowMs);
          if (next !== undefined) this.nextTokenMs = Math.min(this.nextTokenMs ?? next, next);
        }
      }
      if (limit.maxConcurrentRequests !== undefined) cap = Math.min(cap, limit.maxConcurrentRequests - (this.inFlightByQueue.get(queue) ?? 0));
      if (cap === Number.POSITIVE_INFINITY) continue;
      caps[queue] = Math.max(0, cap);
      if (cap <= 0) this.blocked.push(queue);
    }
    return { caps };
  }

  private async deliver(task: StoredTask, target: DeliveryTarget): Promise<void> {
    const { clock, logger } = this.options;
    const startedMs = clock.now();
    let status: number;
    let executed = true;
    let deliveryError: unknown;
    try {
      const response = await target({ method: 'POST', url: task.url, headers: this.headersFor(task), body: task.body });
      status = response.status;
    } catch (error) {
      logger.error('task delivery failed before reaching the app', { task: task.name, queue: task.queue, error });
      status = 500;
      executed = false;
      deliveryError = error;
    }
    const nowMs = clock.now();
    // What the task endpoint of this process logged about the attempt, if it ran here.
    const failure = takeAttemptFailure(task.queue, task.name);
    try {
      const succeeded = status >= 200 && status < 300;
      if (succeeded && !failure?.permanent) {
        this.completions.push({ id: task.id, nowMs });
        if (this.completions.length === 1) setImmediate(() => this.recordCompletions());
        return;
      }
      const attempt: TaskAttempt = { number: task.retryCount + 1, startedMs, finishedMs: nowMs };
      if (executed) attempt.status = status;
      if (failure) attempt.error = { message: failure.message, ...(failure.stack !== undefined && { stack: failure.stack }) };
      else if (deliveryError !== undefined) attempt.error = describe(deliveryError);
      else attempt.error = { message: `the task endpoint answered HTTP ${status}` };
      if (failure?.permanent) {
        this.store.fail(task.id, nowMs, attempt, executed);
        return;
      }
      const retryCount = task.retryCount + 1;
      const retry = effectiveRetry(this.options.queueLimits?.get(task.queue)?.retry, task.retry);
      if (retriesExhausted(retryCount, nowMs - task.createdMs, retry)) {
        logger.error('task failed and its retries are exhausted: keeping it as failed', {
          task: task.name,
          queue: task.queue,
          status,
          retryCount,
        });
        this.store.fail(task.id, nowMs, attempt, executed);
        return;
      }
      // At least 1 ms: a retry never lands in the same instant, which on a
      // ManualClock would redeliver a failing task forever without time moving.
      const delayMs = Math.max(1, Math.round(backoffSeconds(retryCount, retry) * 1000));
      logger.debug('task failed; retrying later', { task: task.name, queue: task.queue, status, retryCount, delayMs });
      this.store.reschedule(task.id, nowMs + delayMs, status, executed, attempt);
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
    // Queues that can take nothing now are left out, or a due task of a paused or
    // starved queue would spin the timer; a rate-limited queue wakes it with its next token.
    const due = this.store.nextDueMs(now, this.blocked);
    const next = due === undefined ? this.nextTokenMs : this.nextTokenMs === undefined ? due : Math.min(due, this.nextTokenMs);
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

function describe(error: unknown): { message: string; stack?: string } {
  if (!(error instanceof Error)) return { message: String(error) };
  return { message: `${error.name}: ${error.message}`, ...(error.stack !== undefined && { stack: error.stack }) };
}
