// Where `queues` / `tasks` get a QueueOperations from, per --backend. The
// embedded backend opens the app's queue file (never creating one); other
// backends register here (`cloud-tasks` is added by the Cloud Tasks tooling).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EMBEDDED_QUEUE_FILE } from '../../shim/backends/index.js';
import { queueLimitsFrom } from '../../shim/backends/local/queue-limits.js';
import { SqliteStore } from '../../shim/backends/local/sqlite-store.js';
import { LocalQueueOperations } from '../../shim/operations/local-operations.js';
import type { QueueOperations } from '../../shim/operations/types.js';
import type { QueueConfig } from '../../shim/queues/queue-yaml.js';
import { systemClock } from '../../shim/runtime/clock.js';

export interface OperationsSettings {
  cwd: string;
  env: Record<string, string | undefined>;
  /** --data-dir, else DEFERRED_DATA_DIR, else `.deferred` (the shim's default). */
  dataDir: string;
  /** queue.yaml in force (limits shown by `queues ls`), if any. */
  queues: QueueConfig | undefined;
}

/** The queue file, or the backend's configuration, is not there: nothing to operate on (exit 5). */
export class OperationsTargetMissing extends Error {
  override name = 'OperationsTargetMissing';
}

export type OperationsOpener = (settings: OperationsSettings) => Promise<QueueOperations>;

export const OPERATIONS_BACKENDS: Record<string, OperationsOpener> = {
  async embedded(settings) {
    const file = join(resolve(settings.cwd, settings.dataDir), EMBEDDED_QUEUE_FILE);
    // Opening would create an empty queue: a wrong --data-dir must say so instead.
    if (!existsSync(file)) {
      throw new OperationsTargetMissing(`no embedded queue at ${file}; point --data-dir (or DEFERRED_DATA_DIR) at the app's data directory`);
    }
    // The app may be running: WAL lets both read, and the busy timeout waits for its short write transactions.
    const store = new SqliteStore({ path: file, busyTimeoutMs: 5000 });
    return new LocalQueueOperations(store, { kind: 'embedded', clock: systemClock, queueLimits: queueLimitsFrom(settings.queues), ownsStore: true });
  },
};
