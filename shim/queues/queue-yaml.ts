// App Engine's queue.yaml, parsed into typed queue definitions. The embedded
// backend enforces them (rate, bucket, concurrency, retry parameters); the Cloud
// Tasks tooling maps them onto Cloud Tasks queues. Values are kept as written
// (nothing defaulted) so a caller can tell "unset" from "set to the default";
// `QUEUE_DEFAULTS` holds App Engine's defaults. A malformed file is refused as a
// whole with the line and column of the first problem.
import { readFileSync } from 'node:fs';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import type { RetryOptions } from '../api/types.js';

/** App Engine's values for what a queue definition leaves out. */
export const QUEUE_DEFAULTS = {
  /** The implicit `default` queue's rate (a queue named in queue.yaml must give its own). */
  ratePerSecond: 5,
  bucketSize: 5,
} as const;

/** One rate as written (`5/s`) and in tasks per second. `0` (a paused push queue) is `{ text: '0', perSecond: 0 }`. */
export interface QueueRate {
  text: string;
  perSecond: number;
}

export interface QueueAclEntry {
  user_email?: string;
  writer_email?: string;
}

export interface QueueDefinition {
  name: string;
  /** `push` (default) or `pull`; pull queues cannot receive deferred tasks. */
  mode: 'push' | 'pull';
  rate?: QueueRate;
  /** Token-bucket size: how many tasks may start at once after an idle period. */
  bucketSize?: number;
  /** Deliveries in flight at once. Unset: no limit beyond the rate. */
  maxConcurrentRequests?: number;
  /** `retry_parameters`, with `task_age_limit` converted to seconds. */
  retryParameters?: RetryOptions;
  /** Service/version the queue's tasks go to (App Engine routing). */
  target?: string;
  /** Pull-queue ACL; no Cloud Tasks or embedded equivalent. */
  acl?: QueueAclEntry[];
}

export interface QueueConfig {
  queues: QueueDefinition[];
  /** `total_storage_limit` as written (`120M`) and in bytes. */
  totalStorageLimit?: { text: string; bytes: number };
  /** The file it came from, when it came from one. */
  source?: string;
}

/** A malformed queue.yaml (or queue object): says where, and what is expected. */
export class QueueYamlError extends Error {
  constructor(
    readonly problem: string,
    readonly source: string | undefined,
    /** 1-based; undefined for object input. */
    readonly line?: number,
    readonly column?: number,
    /** Path of the offending value, e.g. `queue[2].rate`. */
    readonly path?: string,
  ) {
    super(`${source ?? 'queue configuration'}${line !== undefined ? `:${line}:${column}` : ''}: ${path ? `${path}: ` : ''}${problem}`);
    this.name = 'QueueYamlError';
  }
}

/** Reads and parses a queue.yaml file. */
export function loadQueueYaml(path: string): QueueConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new QueueYamlError(`cannot be read: ${(error as Error).message}`, path);
  }
  return parseQueueYaml(text, path);
}

/** Parses queue.yaml text; `source` names the file in errors. */
export function parseQueueYaml(text: string, source?: string): QueueConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const pos = lineCounter.linePos(first.pos[0]);
    throw new QueueYamlError(`is not valid YAML: ${first.message.split('\n')[0]}`, source, pos.line, pos.col);
  }
  const positions = new Map<string, { line: number; col: number }>();
  if (doc.contents) collectPositions(doc.contents, '', positions, lineCounter);
  const config = normalize(doc.toJS() ?? {}, (path) => positions.get(path), source);
  if (source !== undefined) config.source = source;
  return config;
}

/** Validates a queue.yaml-shaped object (`{ queue: [...] }`), e.g. from `configure({ queues })`. */
export function queueConfigFromObject(value: unknown, source?: string): QueueConfig {
  const config = normalize(value, () => undefined, source);
  if (source !== undefined) config.source = source;
  return config;
}

/** Looks a queue up by name. */
export function findQueue(config: QueueConfig, name: string): QueueDefinition | undefined {
  return config.queues.find((queue) => queue.name === name);
}

const QUEUE_NAME = /^[a-zA-Z0-9-]{1,100}$/;
const RATE = /^(?:0|(\d+(?:\.\d*)?)\/([smhd]))$/;
const DURATION = /^(\d+(?:\.\d*)?)([smhd])$/;
const STORAGE = /^(\d+(?:\.\d*)?)([BKMGT]?)$/;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const STORAGE_UNITS: Record<string, number> = { '': 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };
/** Positions of keys (not values) are recorded under `path + KEY_SUFFIX`. */
const KEY_SUFFIX = '#key';
// `application` (the app the file was deployed to) and `resume_paused_queues` (what a
// deploy did to paused queues) are App Engine's too (queueinfo.py): accepted, and
// without meaning here, so a queue.yaml App Engine took is never refused for them.
const TOP_KEYS = ['queue', 'total_storage_limit', 'application', 'resume_paused_queues'];
const QUEUE_KEYS = ['name', 'rate', 'bucket_size', 'max_concurrent_requests', 'retry_parameters', 'target', 'mode', 'acl'];
const RETRY_KEYS = ['task_retry_limit', 'task_age_limit', 'min_backoff_seconds', 'max_backoff_seconds', 'max_doublings'];

type Locate = (path: string) => { line: number; col: number } | undefined;

function normalize(value: unknown, locate: Locate, source: string | undefined): QueueConfig {
  const fail = (path: string, problem: string): never => {
    // A key's position for a bad key; else the value's, else the nearest located ancestor's (a missing key).
    const keyPos = problem.startsWith('unknown key') ? locate(`${path}${KEY_SUFFIX}`) : undefined;
    if (keyPos) throw new QueueYamlError(problem, source, keyPos.line, keyPos.col, path);
    for (let p = path; ; p = parentPath(p)) {
      const pos = locate(p);
      if (pos || p === '') throw new QueueYamlError(problem, source, pos?.line, pos?.col, path || undefined);
    }
  };
  if (!isRecord(value)) fail('', 'must be a mapping with a "queue:" list');
  const top = value as Record<string, unknown>;
  checkKeys(top, TOP_KEYS, '', fail);
  const config: QueueConfig = { queues: [] };
  if (top.total_storage_limit !== undefined) {
    const text = String(top.total_storage_limit);
    const match = STORAGE.exec(text);
    if (!match) fail('total_storage_limit', `must be a size like 500M (units B, K, M, G, T), got ${JSON.stringify(top.total_storage_limit)}`);
    config.totalStorageLimit = { text, bytes: Math.round(Number(match![1]) * STORAGE_UNITS[match![2]!]!) };
  }
  const list = top.queue ?? [];
  if (!Array.isArray(list)) fail('queue', 'must be a list of queue definitions ("- name: ...")');
  const seen = new Set<string>();
  (list as unknown[]).forEach((entry, i) => {
    const queue = queueDefinition(entry, `queue[${i}]`, fail);
    if (seen.has(queue.name)) fail(`queue[${i}].name`, `queue "${queue.name}" is defined twice`);
    seen.add(queue.name);
    config.queues.push(queue);
  });
  return config;
}

function queueDefinition(entry: unknown, path: string, fail: (path: string, problem: string) => never): QueueDefinition {
  if (!isRecord(entry)) fail(path, 'must be a mapping with at least a name');
  const raw = entry as Record<string, unknown>;
  checkKeys(raw, QUEUE_KEYS, path, fail);
  if (typeof raw.name !== 'string' || !QUEUE_NAME.test(raw.name)) {
    fail(`${path}.name`, `must be 1-100 letters, digits and hyphens, got ${JSON.stringify(raw.name)}`);
  }
  const mode = raw.mode ?? 'push';
  if (mode !== 'push' && mode !== 'pull') fail(`${path}.mode`, `must be push or pull, got ${JSON.stringify(raw.mode)}`);
  const queue: QueueDefinition = { name: raw.name as string, mode: mode as 'push' | 'pull' };
  if (raw.rate !== undefined) {
    const text = String(raw.rate).trim();
    const match = RATE.exec(text);
    if (!match) fail(`${path}.rate`, `must be N/s, N/m, N/h or N/d (e.g. 5/s), got ${JSON.stringify(raw.rate)}`);
    queue.rate = { text, perSecond: match![1] === undefined ? 0 : Number(match![1]) / UNIT_SECONDS[match![2]!]! };
  } else if (queue.mode === 'push' && queue.name !== 'default') {
    fail(path, `push queue "${queue.name}" needs a rate (e.g. rate: 5/s)`);
  }
  if (raw.bucket_size !== undefined) queue.bucketSize = integer(raw.bucket_size, `${path}.bucket_size`, 1, fail);
  if (raw.max_concurrent_requests !== undefined) {
    queue.maxConcurrentRequests = integer(raw.max_concurrent_requests, `${path}.max_concurrent_requests`, 1, fail);
  }
  if (raw.target !== undefined) {
    if (typeof raw.target !== 'string' || raw.target === '') fail(`${path}.target`, 'must be a service or version name');
    queue.target = raw.target as string;
  }
  if (raw.retry_parameters !== undefined) queue.retryParameters = retryParameters(raw.retry_parameters, `${path}.retry_parameters`, fail);
  if (raw.acl !== undefined) {
    if (!Array.isArray(raw.acl)) fail(`${path}.acl`, 'must be a list of { user_email } or { writer_email }');
    queue.acl = (raw.acl as unknown[]).map((item, i) => {
      const itemPath = `${path}.acl[${i}]`;
      if (!isRecord(item)) fail(itemPath, 'must be { user_email: ... } or { writer_email: ... }');
      checkKeys(item as Record<string, unknown>, ['user_email', 'writer_email'], itemPath, fail);
      const out: QueueAclEntry = {};
      for (const key of ['user_email', 'writer_email'] as const) {
        const email = (item as Record<string, unknown>)[key];
        if (email === undefined) continue;
        if (typeof email !== 'string') fail(`${itemPath}.${key}`, 'must be an email address');
        out[key] = email as string;
      }
      return out;
    });
  }
  return queue;
}

function retryParameters(value: unknown, path: string, fail: (path: string, problem: string) => never): RetryOptions {
  if (!isRecord(value)) fail(path, `must be a mapping of ${RETRY_KEYS.join(', ')}`);
  const raw = value as Record<string, unknown>;
  checkKeys(raw, RETRY_KEYS, path, fail);
  const out: RetryOptions = {};
  if (raw.task_retry_limit !== undefined) out.task_retry_limit = integer(raw.task_retry_limit, `${path}.task_retry_limit`, 0, fail);
  if (raw.task_age_limit !== undefined) out.task_age_limit = durationSeconds(raw.task_age_limit, `${path}.task_age_limit`, fail);
  for (const key of ['min_backoff_seconds', 'max_backoff_seconds'] as const) {
    if (raw[key] === undefined) continue;
    const seconds = raw[key];
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
      fail(`${path}.${key}`, `must be a non-negative number of seconds, got ${JSON.stringify(seconds)}`);
    }
    out[key] = seconds as number;
  }
  if (raw.max_doublings !== undefined) out.max_doublings = integer(raw.max_doublings, `${path}.max_doublings`, 0, fail);
  if (out.min_backoff_seconds !== undefined && out.max_backoff_seconds !== undefined && out.min_backoff_seconds > out.max_backoff_seconds) {
    fail(`${path}.min_backoff_seconds`, `(${out.min_backoff_seconds}) cannot exceed max_backoff_seconds (${out.max_backoff_seconds})`);
  }
  return out;
}

/** App Engine durations (`30s`, `10m`, `1.5h`, `2d`); a bare number is seconds. */
function durationSeconds(value: unknown, path: string, fail: (path: string, problem: string) => never): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  const match = typeof value === 'string' ? DURATION.exec(value.trim()) : null;
  if (!match) fail(path, `must be a duration like 30s, 10m, 2h or 7d, got ${JSON.stringify(value)}`);
  return Number(match![1]) * UNIT_SECONDS[match![2]!]!;
}

function integer(value: unknown, path: string, min: number, fail: (path: string, problem: string) => never): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    fail(path, `must be an integer of at least ${min}, got ${JSON.stringify(value)}`);
  }
  return value as number;
}

function checkKeys(record: Record<string, unknown>, known: readonly string[], path: string, fail: (path: string, problem: string) => never): void {
  for (const key of Object.keys(record)) {
    if (!known.includes(key)) fail(join(path, key), `unknown key "${key}"; expected one of ${known.join(', ')}`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function parentPath(path: string): string {
  const cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
  return cut <= 0 ? '' : path.slice(0, cut);
}

/** Records the position of every value (and of every key, under the value's path) in the document. */
function collectPositions(node: YamlNode, path: string, out: Map<string, { line: number; col: number }>, lines: LineCounter): void {
  const at = (n: YamlNode) => (n.range ? lines.linePos(n.range[0]) : undefined);
  const here = at(node);
  if (here && !out.has(path)) out.set(path, here);
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair) || !isScalar(pair.key)) continue;
      const childPath = join(path, String(pair.key.value));
      const keyPos = at(pair.key);
      if (keyPos) {
        out.set(`${childPath}${KEY_SUFFIX}`, keyPos);
        out.set(childPath, keyPos);
      }
      if (pair.value && isScalar(pair.value)) {
        const valuePos = at(pair.value);
        if (valuePos) out.set(childPath, valuePos);
      } else if (pair.value) {
        collectPositions(pair.value as YamlNode, childPath, out, lines);
      }
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      if (item && typeof item === 'object') collectPositions(item as YamlNode, `${path}[${i}]`, out, lines);
    });
  }
}
