// Two backends (as two processes would) on one queue file: a task enqueued by the
// one that serves no app is delivered by the one that does, found by polling.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { DeliveryRequest, Logger } from '../../../shim/api/types.js';
import { LocalBackend } from '../../../shim/backends/local/backend.js';
import { SqliteStore } from '../../../shim/backends/local/sqlite-store.js';
import { systemClock } from '../../../shim/runtime/clock.js';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const dir = mkdtempSync(join(tmpdir(), 'dm-shared-file-'));
const backends: LocalBackend[] = [];
afterEach(async () => {
  await Promise.all(backends.splice(0).map((backend) => backend.close()));
  rmSync(dir, { recursive: true, force: true });
});

function backend(pollMs?: number): LocalBackend {
  const store = new SqliteStore({ path: join(dir, 'queue.sqlite') });
  const created = new LocalBackend(store, { kind: 'embedded', clock: systemClock, logger: silent, signingSecret: 'secret', ...(pollMs !== undefined && { pollMs }) });
  backends.push(created);
  return created;
}

it('a dispatcher with pollMs picks up tasks another process enqueued into the shared file', async () => {
  const serving = backend(20);
  const delivered: DeliveryRequest[] = [];
  let resolveDelivered!: () => void;
  const deliveredOnce = new Promise<void>((resolve) => (resolveDelivered = resolve));
  serving.attach(async (request) => {
    delivered.push(request);
    resolveDelivered();
    return { status: 200, body: 'Success' };
  });
  const enqueuing = backend();
  await enqueuing.enqueue({ queue: 'default', url: '/_ah/queue/deferred', etaMs: Date.now(), headers: {}, body: new Uint8Array([1, 2, 3]) });
  await Promise.race([deliveredOnce, new Promise((_, reject) => setTimeout(() => reject(new Error('not delivered within 5 s')), 5000))]);
  expect(delivered).toHaveLength(1);
  expect([...delivered[0]!.body]).toEqual([1, 2, 3]);
});
