// Builds a backend by kind. The SQLite store loads its native module only when a
// database is opened, and the Cloud Tasks backend loads its client lazily, so
// importing every kind here costs nothing until one is chosen.
import { join } from 'node:path';
import type { Backend, Clock, Logger } from '../api/types.js';
import { CloudTasksBackend, type CloudTasksConfig } from './cloud-tasks/backend.js';
import { LocalBackend } from './local/backend.js';
import type { QueueConfig } from '../queues/queue-yaml.js';
import { queueLimitsFrom } from './local/queue-limits.js';
import { MemoryStore } from './local/memory-store.js';
import { SqliteStore } from './local/sqlite-store.js';

export type BackendKind = 'embedded' | 'memory' | 'cloud-tasks';
export type CloudTasksOptions = CloudTasksConfig;

export interface BackendConfig {
  clock: Clock;
  logger: Logger;
  /** Embedded: directory of the queue file (`queue.sqlite`). */
  dataDir: string;
  /** Local backends: HMAC key of the dispatcher's signatures. */
  signingSecret?: string;
  cloudTasks?: CloudTasksOptions;
  /** queue.yaml: the local backends enforce its limits. */
  queues?: QueueConfig;
  /** Local backends: how long failed tasks are kept. */
  failedRetentionMs?: number;
}

export const EMBEDDED_QUEUE_FILE = 'queue.sqlite';
const EMBEDDED_POLL_MS = 1000;

export function createBackend(kind: BackendKind, config: BackendConfig): Backend {
  switch (kind) {
    case 'memory':
    case 'embedded': {
      if (!config.signingSecret) throw new TypeError(`the ${kind} backend needs a signing secret`);
      const store = kind === 'memory' ? new MemoryStore() : new SqliteStore({ path: join(config.dataDir, EMBEDDED_QUEUE_FILE) });
      return new LocalBackend(store, {
        kind,
        clock: config.clock,
        logger: config.logger,
        signingSecret: config.signingSecret,
        queueLimits: queueLimitsFrom(config.queues),
        ...(config.failedRetentionMs !== undefined && { failedRetentionMs: config.failedRetentionMs }),
        // Other processes may enqueue into the same queue file: look at it once a second.
        ...(kind === 'embedded' && { pollMs: EMBEDDED_POLL_MS }),
      });
    }
    case 'cloud-tasks':
      return new CloudTasksBackend(config.cloudTasks ?? {}, { clock: config.clock, logger: config.logger });
    default:
      throw new TypeError(`Unknown backend kind ${JSON.stringify(kind)}; use "embedded", "memory" or "cloud-tasks".`);
  }
}
