// queue.yaml onto Cloud Tasks queues: what each queue.yaml field becomes (or why
// it cannot), a plan against the queues that exist (create; update with old and
// new values; queues the file does not name), and applying it with CreateQueue /
// UpdateQueue (with an update mask of exactly the changed fields) / PauseQueue.
import type { QueueConfig, QueueDefinition } from '../../queues/queue-yaml.js';
import { QUEUE_DEFAULTS } from '../../queues/queue-yaml.js';
import { parseAppEngineTarget } from './backend.js';
import { queueIdFor, type CloudTasksConfig } from './config.js';

/** Cloud Tasks' per-queue maxima (queue.proto). */
export const MAX_DISPATCHES_PER_SECOND = 500;
export const MAX_CONCURRENT_DISPATCHES = 5000;

/** One field of a Cloud Tasks queue, by its update-mask path. */
export interface FieldChange {
  /** Update-mask path (proto field names), e.g. `rate_limits.max_dispatches_per_second`; `state` for pause. */
  path: string;
  /** Shown as queue.yaml would write it: `5/s`, `10s`, `v2.worker`, `PAUSED`; undefined: unset. */
  from?: string;
  to: string;
}

export type PlanAction = 'create' | 'update' | 'unchanged' | 'skip' | 'not-in-file';

export interface QueuePlanEntry {
  /** queue.yaml name; undefined for a queue that exists only in Cloud Tasks. */
  name?: string;
  /** Cloud Tasks queue id (queue.yaml name through `queuePrefix`/`queues`). */
  queueId: string;
  action: PlanAction;
  /** For create: every field set; for update: only those that differ. */
  changes: FieldChange[];
  /** What cannot be mapped or what Cloud Tasks will do on its own. */
  notes: string[];
}

export interface QueuePlan {
  project: string;
  location: string;
  /** `projects/P/locations/L`. */
  parent: string;
  entries: QueuePlanEntry[];
  /** File-level fields with no Cloud Tasks equivalent. */
  notes: string[];
}

/** A queue.yaml value Cloud Tasks refuses (rate above 500/s, concurrency above 5,000): nothing may be applied. */
export class QueueMappingError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'QueueMappingError';
  }
}

/** The Cloud Tasks `Queue` fields the admin client reads (protobuf objects: durations as { seconds, nanos }). */
export interface CloudTasksQueue {
  name?: string | null;
  appEngineRoutingOverride?: { service?: string | null; version?: string | null; instance?: string | null } | null;
  rateLimits?: { maxDispatchesPerSecond?: number | null; maxBurstSize?: number | null; maxConcurrentDispatches?: number | null } | null;
  retryConfig?: {
    maxAttempts?: number | null;
    maxRetryDuration?: ProtoDuration | null;
    minBackoff?: ProtoDuration | null;
    maxBackoff?: ProtoDuration | null;
    maxDoublings?: number | null;
  } | null;
  state?: string | number | null;
}

type ProtoDuration = { seconds?: number | string | { toString(): string } | null; nanos?: number | null };

/** The admin methods of `CloudTasksClient` that planning and applying use. */
export interface QueueAdminClient {
  listQueues(request: { parent: string }, options?: CallOptions): Promise<[CloudTasksQueue[], ...unknown[]]>;
  createQueue(request: { parent: string; queue: Record<string, unknown> }, options?: CallOptions): Promise<[CloudTasksQueue, ...unknown[]]>;
  updateQueue(request: { queue: Record<string, unknown>; updateMask: { paths: string[] } }, options?: CallOptions): Promise<[CloudTasksQueue, ...unknown[]]>;
  pauseQueue(request: { name: string }, options?: CallOptions): Promise<[CloudTasksQueue, ...unknown[]]>;
}

/** google-gax call options: `timeout` (ms) bounds a call and its retries. */
export interface CallOptions {
  timeout?: number;
}

/** One desired field: its mask path, the value the Queue message takes, how it is shown. */
interface DesiredField {
  path: string;
  display: string;
  /** Sets the field on a Queue message. */
  set(queue: Record<string, Record<string, unknown>>): void;
}

interface Desired {
  queueId: string;
  fields: DesiredField[];
  pause: boolean;
  notes: string[];
}

/**
 * What a queue.yaml queue becomes on Cloud Tasks. Fields the file leaves out are
 * not managed (a new queue gets Cloud Tasks' defaults), except the rate, whose
 * App Engine default (5/s) is far from Cloud Tasks' (500/s).
 */
function desiredQueue(queue: QueueDefinition, config: CloudTasksConfig, problems: string[]): Desired {
  let queueId = queue.name;
  try {
    queueId = queueIdFor(config, queue.name);
  } catch (error) {
    problems.push(`queue "${queue.name}": ${(error as Error).message}`);
  }
  const fields: DesiredField[] = [];
  const notes: string[] = [];
  let pause = false;
  const field = (path: string, display: string, group: string, key: string, value: unknown) =>
    fields.push({ path, display, set: (q) => void ((q[group] ??= {})[key] = value) });

  const perSecond = queue.rate?.perSecond ?? QUEUE_DEFAULTS.ratePerSecond;
  if (queue.rate === undefined) notes.push(`no rate: App Engine's default ${QUEUE_DEFAULTS.ratePerSecond}/s is applied (Cloud Tasks' own default is 500/s)`);
  if (perSecond === 0) {
    // App Engine reads rate 0 as a paused queue; Cloud Tasks reads a zero rate as "pick the default".
    pause = true;
    notes.push('rate 0: the queue is paused (PauseQueue), as App Engine paused it; its dispatch rate is left as it is');
  } else if (perSecond > MAX_DISPATCHES_PER_SECOND) {
    problems.push(
      `queue "${queue.name}": rate ${queue.rate?.text} is ${formatNumber(perSecond)} dispatches per second, above Cloud Tasks' maximum of ` +
        `${MAX_DISPATCHES_PER_SECOND} per queue. Shard it: several queues (e.g. ${queue.name}-0 .. ${queue.name}-${Math.ceil(perSecond / MAX_DISPATCHES_PER_SECOND) - 1} ` +
        `at ${formatNumber(perSecond / Math.ceil(perSecond / MAX_DISPATCHES_PER_SECOND))}/s each) with each task's _queue picked among them.`,
    );
  } else {
    field('rate_limits.max_dispatches_per_second', `${formatNumber(perSecond)}/s`, 'rateLimits', 'maxDispatchesPerSecond', perSecond);
  }
  if (queue.bucketSize !== undefined) {
    notes.push(
      `bucket_size ${queue.bucketSize} is not applied: max_burst_size is output only in Cloud Tasks v2, which picks it from the rate ` +
        '(and picks it anew on every UpdateQueue, also for queues deployed from queue.yaml)',
    );
  }
  if (queue.maxConcurrentRequests !== undefined) {
    if (queue.maxConcurrentRequests > MAX_CONCURRENT_DISPATCHES) {
      problems.push(`queue "${queue.name}": max_concurrent_requests ${queue.maxConcurrentRequests} is above Cloud Tasks' maximum of ${MAX_CONCURRENT_DISPATCHES} per queue.`);
    } else {
      field('rate_limits.max_concurrent_dispatches', String(queue.maxConcurrentRequests), 'rateLimits', 'maxConcurrentDispatches', queue.maxConcurrentRequests);
    }
  }
  const retry = queue.retryParameters;
  if (retry) {
    // App Engine stops retrying when both limits are reached and an unset one is no limit;
    // Cloud Tasks has the same rule, with -1 attempts / 0 s for "no limit". The first
    // attempt is not a retry: max_attempts = task_retry_limit + 1.
    const attempts = retry.task_retry_limit === undefined ? -1 : retry.task_retry_limit + 1;
    field('retry_config.max_attempts', String(attempts), 'retryConfig', 'maxAttempts', attempts);
    const age = retry.task_age_limit ?? 0;
    field('retry_config.max_retry_duration', seconds(age), 'retryConfig', 'maxRetryDuration', duration(age));
    if (retry.min_backoff_seconds !== undefined) field('retry_config.min_backoff', seconds(retry.min_backoff_seconds), 'retryConfig', 'minBackoff', duration(retry.min_backoff_seconds));
    if (retry.max_backoff_seconds !== undefined) field('retry_config.max_backoff', seconds(retry.max_backoff_seconds), 'retryConfig', 'maxBackoff', duration(retry.max_backoff_seconds));
    if (retry.max_doublings !== undefined) field('retry_config.max_doublings', String(retry.max_doublings), 'retryConfig', 'maxDoublings', retry.max_doublings);
  }
  if (queue.target !== undefined) {
    try {
      const routing = parseAppEngineTarget(queue.target);
      fields.push({ path: 'app_engine_routing_override', display: routingText(routing), set: (q) => void (q.appEngineRoutingOverride = { ...routing }) });
    } catch (error) {
      problems.push(`queue "${queue.name}": target ${(error as Error).message.replace(/^_target /, '')}`);
    }
  }
  if (queue.acl !== undefined) notes.push('acl is not applied: Cloud Tasks has no queue ACLs; grant roles/cloudtasks.enqueuer (or viewer) on the queue with IAM instead');
  return { queueId, fields, pause, notes };
}

/** The current value of a field of an existing queue, shown as `desiredQueue` shows it. */
function currentValue(queue: CloudTasksQueue, path: string): string | undefined {
  const rate = queue.rateLimits ?? {};
  const retry = queue.retryConfig ?? {};
  switch (path) {
    case 'rate_limits.max_dispatches_per_second':
      return rate.maxDispatchesPerSecond ? `${formatNumber(rate.maxDispatchesPerSecond)}/s` : undefined;
    case 'rate_limits.max_concurrent_dispatches':
      return rate.maxConcurrentDispatches ? String(rate.maxConcurrentDispatches) : undefined;
    case 'retry_config.max_attempts':
      return retry.maxAttempts !== undefined && retry.maxAttempts !== null ? String(retry.maxAttempts) : undefined;
    case 'retry_config.max_retry_duration':
      return seconds(durationSeconds(retry.maxRetryDuration));
    case 'retry_config.min_backoff':
      return retry.minBackoff ? seconds(durationSeconds(retry.minBackoff)) : undefined;
    case 'retry_config.max_backoff':
      return retry.maxBackoff ? seconds(durationSeconds(retry.maxBackoff)) : undefined;
    case 'retry_config.max_doublings':
      return retry.maxDoublings !== undefined && retry.maxDoublings !== null ? String(retry.maxDoublings) : undefined;
    case 'app_engine_routing_override': {
      const r = queue.appEngineRoutingOverride;
      const routing = { service: r?.service || undefined, version: r?.version || undefined, instance: r?.instance || undefined };
      return routing.service || routing.version || routing.instance ? routingText(routing) : undefined;
    }
  }
  return undefined;
}

/** Validates the mapping (throws QueueMappingError listing every refused value), then compares it with `existing`. */
export function planQueues(file: QueueConfig, existing: CloudTasksQueue[], target: { project: string; location: string; config: CloudTasksConfig }): QueuePlan {
  const parent = `projects/${target.project}/locations/${target.location}`;
  const problems: string[] = [];
  const byId = new Map(existing.map((q) => [String(q.name ?? '').slice(String(q.name ?? '').lastIndexOf('/') + 1), q]));
  const entries: QueuePlanEntry[] = [];
  const named = new Set<string>();
  for (const queue of file.queues) {
    if (queue.mode === 'pull') {
      const queueId = safeQueueId(target.config, queue.name);
      named.add(queueId);
      entries.push({ name: queue.name, queueId, action: 'skip', changes: [], notes: ['pull queues have no Cloud Tasks equivalent (Cloud Tasks v2 has push queues only): not created'] });
      continue;
    }
    const desired = desiredQueue(queue, target.config, problems);
    named.add(desired.queueId);
    const current = byId.get(desired.queueId);
    if (!current) {
      const changes = desired.fields.map((f) => ({ path: f.path, to: f.display }));
      if (desired.pause) changes.push({ path: 'state', to: 'PAUSED' });
      entries.push({ name: queue.name, queueId: desired.queueId, action: 'create', changes, notes: desired.notes });
      continue;
    }
    const changes: FieldChange[] = [];
    for (const f of desired.fields) {
      const from = currentValue(current, f.path);
      if (from !== f.display) changes.push({ path: f.path, ...(from !== undefined ? { from } : {}), to: f.display });
    }
    const state = stateName(current.state);
    if (desired.pause && state !== 'PAUSED') changes.push({ path: 'state', from: state, to: 'PAUSED' });
    const notes = [...desired.notes];
    if (changes.some((c) => c.path !== 'state') && current.rateLimits?.maxBurstSize) {
      notes.push(`Cloud Tasks picks max_burst_size (now ${current.rateLimits.maxBurstSize}) anew from the rate on this update`);
    }
    if (state === 'PAUSED' && !desired.pause) notes.push('paused in Cloud Tasks: left paused (resume it with `deferred-migrate queues resume`)');
    if (state === 'DISABLED') notes.push('disabled in Cloud Tasks (a queue.yaml deployed without it): resume it to dispatch again');
    entries.push({ name: queue.name, queueId: desired.queueId, action: changes.length > 0 ? 'update' : 'unchanged', changes, notes });
  }
  if (problems.length > 0) throw new QueueMappingError(problems);
  for (const [id] of [...byId].sort(([a], [b]) => a.localeCompare(b))) {
    if (named.has(id)) continue;
    entries.push({
      queueId: id,
      action: 'not-in-file',
      changes: [],
      notes: ['not named by the file: apply leaves it as it is (`gcloud app deploy queue.yaml` would disable it)'],
    });
  }
  const notes: string[] = [];
  if (file.totalStorageLimit) notes.push(`total_storage_limit ${file.totalStorageLimit.text} is not applied: Cloud Tasks has no storage limit per project`);
  return { project: target.project, location: target.location, parent, entries, notes };
}

export interface ApplyProgress {
  entry: QueuePlanEntry;
  /** The queue as Cloud Tasks answered after the last call for it. */
  queue: CloudTasksQueue;
}

/**
 * Carries out a plan, queue by queue, in order: CreateQueue with every field set;
 * UpdateQueue with a mask of exactly the changed fields; PauseQueue for `state`.
 * Stops at the first refusal (the error says which queue); `onDone` reports each
 * queue done, so a caller can say what was applied before the failure.
 */
export async function applyPlan(
  plan: QueuePlan,
  file: QueueConfig,
  client: QueueAdminClient,
  config: CloudTasksConfig,
  callOptions: CallOptions = {},
  onDone?: (progress: ApplyProgress) => void,
): Promise<void> {
  const definitions = new Map(file.queues.map((q) => [q.name, q]));
  for (const entry of plan.entries) {
    if (entry.action !== 'create' && entry.action !== 'update') continue;
    const desired = desiredQueue(definitions.get(entry.name!)!, config, []);
    const name = `${plan.parent}/queues/${entry.queueId}`;
    const changed = new Set(entry.changes.map((c) => c.path));
    const message: Record<string, Record<string, unknown>> = {};
    for (const f of desired.fields) if (entry.action === 'create' || changed.has(f.path)) f.set(message);
    let queue: CloudTasksQueue;
    try {
      if (entry.action === 'create') {
        [queue] = await client.createQueue({ parent: plan.parent, queue: { name, ...message } }, callOptions);
      } else {
        const paths = [...changed].filter((p) => p !== 'state');
        queue = paths.length > 0 ? (await client.updateQueue({ queue: { name, ...message }, updateMask: { paths } }, callOptions))[0] : {};
      }
      if (changed.has('state')) [queue] = await client.pauseQueue({ name }, callOptions);
    } catch (error) {
      const reason = (error as { details?: string }).details ?? (error as Error).message;
      throw new Error(`${entry.action === 'create' ? 'CreateQueue' : 'UpdateQueue'} ${name} failed: ${reason}`, { cause: error });
    }
    onDone?.({ entry, queue });
  }
}

function safeQueueId(config: CloudTasksConfig, name: string): string {
  try {
    return queueIdFor(config, name);
  } catch {
    return name;
  }
}

/** A queue's state by name (the client gives enum names, or numbers with `enums: Number`). */
export function stateName(state: CloudTasksQueue['state']): string {
  if (typeof state === 'string') return state;
  return ['STATE_UNSPECIFIED', 'RUNNING', 'PAUSED', 'DISABLED'][state ?? 0] ?? String(state);
}

function routingText(routing: { service?: string; version?: string; instance?: string }): string {
  return [routing.instance, routing.version, routing.service ?? 'default'].filter(Boolean).join('.');
}

function duration(totalSeconds: number): { seconds: number; nanos: number } {
  const whole = Math.floor(totalSeconds);
  return { seconds: whole, nanos: Math.round((totalSeconds - whole) * 1e9) };
}

/** A protobuf Duration in seconds. */
export function durationSeconds(value: ProtoDuration | null | undefined): number {
  if (!value) return 0;
  return Number(String(value.seconds ?? 0)) + (value.nanos ?? 0) / 1e9;
}

function seconds(value: number): string {
  return `${formatNumber(value)}s`;
}

function formatNumber(value: number): string {
  return String(Math.round(value * 1e6) / 1e6);
}
