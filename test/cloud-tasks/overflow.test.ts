// Payloads above the Cloud Tasks size limit: stored beside the queue, fetched at run
// time, deleted after success (kept while the task is retried), swept after a TTL
// when the task died elsewhere; refused clearly when no store is configured.
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defer } from '../../shim/api/defer.js';
import { TaskTooLargeError } from '../../shim/api/errors.js';
import { register } from '../../shim/api/registry.js';
import { wrapApp } from '../../shim/adapters/wrap-app.js';
import { CloudTasksConfigError, DirectoryOverflowStore, GcsOverflowStore } from '../../shim/backends/cloud-tasks/backend.js';
import { getTaskContext } from '../../shim/runtime/context.js';
import { startWorld, type World } from './harness.js';

const received: number[] = [];
let failAttempts = 0;
function measure(text: string): void {
  if ((getTaskContext()?.retryCount ?? 0) < failAttempts) throw new Error('not yet');
  received.push(text.length);
}
register(measure, 'cloudTasksOverflowTest.measure');

const app = () =>
  wrapApp(
    (_req: IncomingMessage, res: import('node:http').ServerResponse) => {
      res.statusCode = 404;
      res.end();
    },
    { useDeferred: true },
  );

let dir: string;
let world: World | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'deferred-ct-overflow-'));
});
afterEach(async () => {
  await world?.close();
  world = undefined;
  received.length = 0;
  failAttempts = 0;
  await rm(dir, { recursive: true, force: true });
});

describe('oversize payloads on Cloud Tasks', () => {
  it('go to the overflow directory, run in full, and are deleted after success', async () => {
    world = await startWorld(app, { target: 'appengine', backend: { maxTaskSizeBytes: 4096, overflowDir: dir } });
    await defer(measure, 'x'.repeat(200_000));
    expect(await readdir(dir)).toHaveLength(1);
    const sentBody = world.server.created[0]!.appEngineHttpRequest!.body!;
    expect(sentBody.length).toBeLessThan(200);
    await world.advance(0);
    expect(received).toEqual([200_000]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('stay while the task is retried and go once it succeeds', async () => {
    failAttempts = 1;
    world = await startWorld(app, { target: 'appengine', queues: { default: { minBackoffMs: 1000 } }, backend: { maxTaskSizeBytes: 4096, overflowDir: dir } });
    await defer(measure, 'y'.repeat(50_000));
    await world.advance(0);
    expect(world.server.deliveries.map((d) => d.status)).toEqual([500]);
    expect(await readdir(dir)).toHaveLength(1);
    await world.advance(1000);
    expect(received).toEqual([50_000]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('without an overflow store are refused with an error naming the settings; nothing is enqueued', async () => {
    world = await startWorld(app, { target: 'appengine', backend: { maxTaskSizeBytes: 4096 } });
    const error = await defer(measure, 'z'.repeat(10_000)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CloudTasksConfigError);
    expect((error as Error).message).toMatch(/overflowDir \(DEFERRED_CLOUD_TASKS_OVERFLOW_DIR\).*overflowStore/);
    expect(world.server.created).toEqual([]);
  });

  it('a task the service still finds too large is TaskTooLargeError, and its overflow blob is not left behind', async () => {
    // The service's limit is below even the overflow reference task (a misconfigured maxTaskSizeBytes).
    world = await startWorld(app, { target: 'appengine', serverMaxTaskSizeBytes: 150, backend: { maxTaskSizeBytes: 3000, overflowDir: dir } });
    await expect(defer(measure, 'w'.repeat(5000))).rejects.toBeInstanceOf(TaskTooLargeError);
    expect(world.server.created).toHaveLength(1);
    expect(world.server.queued()).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('DirectoryOverflowStore', () => {
  it('round-trips, reports a missing key as undefined, and serves another instance on the same directory', async () => {
    const writer = new DirectoryOverflowStore(dir, { ttlMs: 60_000 });
    const reader = new DirectoryOverflowStore(dir, { ttlMs: 60_000 });
    const key = await writer.put(new Uint8Array([9, 8, 7]), { queue: 'default' });
    expect([...(await reader.get(key))!]).toEqual([9, 8, 7]);
    await reader.delete(key);
    expect(await writer.get(key)).toBeUndefined();
    await expect(writer.delete(key)).resolves.toBeUndefined();
  });

  it('refuses keys that could reach outside the directory', async () => {
    const store = new DirectoryOverflowStore(dir, { ttlMs: 60_000 });
    await expect(store.get('../../etc/passwd')).rejects.toThrow(/Not an overflow key/);
    await expect(store.delete('a/b')).rejects.toThrow(/Not an overflow key/);
  });

  it('sweeps blobs and partial writes older than the TTL, keeps fresh ones and files that are not its own', async () => {
    const store = new DirectoryOverflowStore(dir, { ttlMs: 3600_000 });
    const old = await store.put(new Uint8Array([1]), { queue: 'default' });
    const fresh = await store.put(new Uint8Array([2]), { queue: 'default' });
    await writeFile(join(dir, 'ct-abandoned.partial'), 'half');
    await writeFile(join(dir, 'README.txt'), 'not a blob');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    for (const name of [old, 'ct-abandoned.partial', 'README.txt']) await utimes(join(dir, name), twoHoursAgo, twoHoursAgo);
    expect(await store.sweep()).toBe(2);
    expect((await readdir(dir)).sort()).toEqual([fresh, 'README.txt'].sort());
  });
});

describe('GcsOverflowStore', () => {
  it('speaks the Cloud Storage JSON API: upload (create-only), media download, delete, 404 as missing', async () => {
    const objects = new Map<string, Buffer>();
    const seen: string[] = [];
    const gcs = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const url = new URL(req.url!, 'http://x');
      seen.push(`${req.method} ${url.pathname} ${req.headers.authorization}`);
      if (req.method === 'POST' && url.pathname === '/upload/storage/v1/b/my-bucket/o') {
        expect(url.searchParams.get('uploadType')).toBe('media');
        expect(url.searchParams.get('ifGenerationMatch')).toBe('0');
        objects.set(url.searchParams.get('name')!, Buffer.concat(chunks));
        res.end('{}');
        return;
      }
      const match = /^\/storage\/v1\/b\/my-bucket\/o\/(.+)$/.exec(url.pathname);
      const name = match ? decodeURIComponent(match[1]!) : '';
      if (!objects.has(name)) {
        res.statusCode = 404;
        res.end('{"error":{"code":404}}');
      } else if (req.method === 'GET' && url.searchParams.get('alt') === 'media') {
        res.end(objects.get(name));
      } else if (req.method === 'DELETE') {
        objects.delete(name);
        res.statusCode = 204;
        res.end();
      }
    });
    await new Promise<void>((resolve) => gcs.listen(0, '127.0.0.1', resolve));
    try {
      const store = new GcsOverflowStore({
        bucket: 'my-bucket',
        endpoint: `http://127.0.0.1:${(gcs.address() as AddressInfo).port}`,
        accessToken: async () => 'test-token',
      });
      const key = await store.put(new Uint8Array([5, 6]), { queue: 'default' });
      expect([...objects.keys()]).toEqual([`deferred-overflow/${key}`]);
      expect([...(await store.get(key))!]).toEqual([5, 6]);
      await store.delete(key);
      expect(objects.size).toBe(0);
      expect(await store.get(key)).toBeUndefined();
      expect(seen.every((line) => line.endsWith('Bearer test-token'))).toBe(true);
    } finally {
      await new Promise<void>((resolve) => gcs.close(() => resolve()));
    }
  });
});
