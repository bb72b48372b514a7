// configure()/getRuntime(): options, DEFERRED_* variables, the lazily created
// backend, the signing secret, and the embedded backend across a restart.
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defer } from '../../../shim/api/defer.js';
import { register } from '../../../shim/api/registry.js';
import { CloudTasksBackend } from '../../../shim/backends/cloud-tasks/backend.js';
import { LocalBackend } from '../../../shim/backends/local/backend.js';
import { SqliteStore } from '../../../shim/backends/local/sqlite-store.js';
import { ManualClock, systemClock } from '../../../shim/runtime/clock.js';
import { configure, drain, getRuntime, resetRuntime } from '../../../shim/runtime/runtime.js';
import { deliverTo, freshRuntime, recordingBackend, recordingLogger } from './helpers.js';

let dir: string;
beforeEach(async () => {
  await freshRuntime();
  await resetRuntime();
  dir = mkdtempSync(join(tmpdir(), 'deferred-runtime-'));
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await resetRuntime();
  rmSync(dir, { recursive: true, force: true });
});

describe('defaults and environment variables', () => {
  it('defaults to the embedded backend in production mode with the system clock', () => {
    vi.stubEnv('DEFERRED_DATA_DIR', dir);
    const runtime = getRuntime();
    expect([runtime.mode, runtime.clock, runtime.logLevel, runtime.maxBodyBytes]).toEqual(['production', systemClock, 'info', 10 * 1024 * 1024]);
    expect(runtime.backend.kind).toBe('embedded');
    expect((runtime.backend as LocalBackend).store).toBeInstanceOf(SqliteStore);
  });

  it('reads DEFERRED_BACKEND and DEFERRED_MODE; options win over them', () => {
    vi.stubEnv('DEFERRED_BACKEND', 'memory');
    vi.stubEnv('DEFERRED_MODE', 'development');
    expect([getRuntime().backend.kind, getRuntime().mode]).toEqual(['memory', 'development']);
    configure({ mode: 'production' });
    expect(getRuntime().mode).toBe('production');
  });

  it('refuses bad values with a clear error', () => {
    vi.stubEnv('DEFERRED_BACKEND', 'redis');
    expect(() => getRuntime().backend).toThrow(/DEFERRED_BACKEND must be "embedded", "memory" or "cloud-tasks", got "redis"/);
    vi.stubEnv('DEFERRED_BACKEND', '');
    vi.stubEnv('DEFERRED_MODE', 'prod');
    expect(() => getRuntime().mode).toThrow(/DEFERRED_MODE/);
    vi.stubEnv('DEFERRED_MODE', '');
    expect(() => configure({ maxBodyBytes: 0 })).toThrow(/maxBodyBytes/);
    expect(() => configure({ maxBodyBytes: 1, logLevel: 'loud' as never })).toThrow(/logLevel/);
    // Refused options changed nothing.
    expect([getRuntime().maxBodyBytes, getRuntime().logLevel]).toEqual([10 * 1024 * 1024, 'info']);
  });

  it('creates the cloud-tasks backend with its configuration, without contacting Google', () => {
    configure({ backend: 'cloud-tasks', cloudTasks: { project: 'p', location: 'l' } });
    const backend = getRuntime().backend;
    expect(backend).toBeInstanceOf(CloudTasksBackend);
    expect((backend as CloudTasksBackend).config).toMatchObject({ project: 'p', location: 'l' });
  });
});

describe('the backend', () => {
  it('is created lazily, once, and kept when unrelated options change', () => {
    configure({ backend: 'memory' });
    const first = getRuntime().backend;
    expect(getRuntime().backend).toBe(first);
    configure({ logLevel: 'debug', mode: 'development', maxBodyBytes: 5 });
    expect(getRuntime().backend).toBe(first);
  });

  it('is replaced (and the old one closed) when a backend option changes; the delivery target carries over', async () => {
    const logger = recordingLogger();
    configure({ backend: 'memory', logger, mode: 'development' });
    const job = register(function job() {});
    const calls: string[] = [];
    getRuntime().attach(async (request) => {
      calls.push(request.headers['X-AppEngine-TaskName']!);
      return { status: 200, body: 'Success' };
    });
    const old = getRuntime().backend;
    const clock = new ManualClock();
    configure({ clock });
    expect(getRuntime().backend).not.toBe(old);
    await expect(old.enqueue({ queue: 'default', url: '/', etaMs: 0, headers: {}, body: new Uint8Array(1) })).rejects.toThrow(/closed/);
    await defer(job);
    await drain();
    expect(calls).toEqual(['task1']);
  });

  it('uses a Backend instance as given', async () => {
    const backend = recordingBackend();
    configure({ backend });
    expect(getRuntime().backend).toBe(backend);
  });
});

describe('the signing secret', () => {
  it('uses DEFERRED_SIGNING_SECRET when set', async () => {
    vi.stubEnv('DEFERRED_SIGNING_SECRET', 'from-env');
    configure({ backend: 'memory' });
    const { signTask } = await import('../../../shim/runtime/signing.js');
    const body = Buffer.from('x');
    const environ = { REQUEST_METHOD: 'POST', PATH_INFO: '/', HTTP_X_APPENGINE_QUEUENAME: 'q', HTTP_X_APPENGINE_TASKNAME: 't' };
    const signature = signTask('from-env', { queue: 'q', taskName: 't', body });
    expect(await getRuntime().backend.verify({ ...environ, HTTP_X_DEFERRED_SIGNATURE: signature }, body)).toEqual({ ok: true });
  });

  it('embedded: generated once, stored 0600 in the data dir, reused after a restart', async () => {
    configure({ dataDir: dir, mode: 'production', logger: recordingLogger(), clock: new ManualClock() });
    const calls: number[] = [];
    const job = register(function persisted(n: number) {
      calls.push(n);
    });
    await defer(job, 1);
    const secretFile = join(dir, 'signing-secret');
    const secret = readFileSync(secretFile, 'utf8');
    expect(secret.trim()).toMatch(/^[\w-]{43}$/);
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    // Restart: a new runtime on the same directory still holds and verifies the task.
    await resetRuntime();
    const logger = recordingLogger();
    configure({ dataDir: dir, mode: 'production', logger, clock: new ManualClock() });
    deliverTo();
    expect(await drain()).toBe(1);
    expect(calls).toEqual([1]);
    expect(logger.at('error')).toEqual([]);
    expect(readFileSync(secretFile, 'utf8')).toBe(secret);
  });

  it('embedded: processes starting together on a fresh directory all get the one secret written whole', async () => {
    // Cluster workers, or an app and a script, opening one queue at once: the file was
    // created empty by open(wx) and written after, so a process reading it in between
    // got '' and failed with "the embedded backend needs a signing secret".
    const shim = new URL('../../../shim/runtime/runtime.ts', import.meta.url).pathname;
    const script = `const { configure, getRuntime } = await import(${JSON.stringify(shim)}); configure({ dataDir: process.argv[1], backend: 'embedded' }); getRuntime().backend; process.stdout.write('ok');`;
    const runs = await Promise.all(
      Array.from({ length: 6 }, () =>
        new Promise<string>((done) => {
          const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          child.stdout.on('data', (d) => (out += d));
          child.stderr.on('data', (d) => (out += d));
          child.on('close', () => done(out));
        }),
      ),
    );
    expect(runs).toEqual(Array(6).fill('ok'));
    expect(readFileSync(join(dir, 'signing-secret'), 'utf8').trim()).toMatch(/^[\w-]{43}$/);
    expect(readdirSync(dir).filter((name) => name.includes('signing-secret'))).toEqual(['signing-secret']);
  }, 30_000);

  it('embedded: an empty secret file is refused with an error naming it', async () => {
    writeFileSync(join(dir, 'signing-secret'), '');
    configure({ dataDir: dir, backend: 'embedded' });
    expect(() => getRuntime().backend).toThrow(/signing secret .*signing-secret is empty.*Delete the file/);
  });

  it('embedded: generated names stay unique across restarts', async () => {
    configure({ dataDir: dir, clock: new ManualClock(), mode: 'development' });
    const job = register(function named() {});
    const first = await defer(job);
    await resetRuntime();
    configure({ dataDir: dir, clock: new ManualClock(), mode: 'development' });
    const second = await defer(job);
    expect(second.name).not.toBe(first.name);
    expect(first.name).toMatch(/^task[0-9a-f]{8}-1$/);
  });
});

describe('worker threads', () => {
  it('a thread started after configure() uses its options: the same queue directory, not .deferred under the cwd', async () => {
    // A worker thread has a runtime of its own; its defer() went to ./.deferred, which no
    // wrapped app reads, and its tasks never ran (the call resolved).
    configure({ dataDir: dir, mode: 'development', maxBodyBytes: 1234 });
    const shim = new URL('../../../shim/runtime/runtime.ts', import.meta.url).href;
    const code = `const { parentPort } = require('node:worker_threads');
      import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(shim)}); }).then(async ({ getRuntime }) => {
        const rt = getRuntime(); rt.backend; parentPort.postMessage({ mode: rt.mode, maxBodyBytes: rt.maxBodyBytes }); await rt.close();
      }, (error) => parentPort.postMessage({ error: String(error) }));`;
    const seen = await new Promise((done, fail) => {
      const worker = new Worker(code, { eval: true });
      worker.once('message', (m) => { done(m); void worker.terminate(); });
      worker.once('error', fail);
    });
    expect(seen).toEqual({ mode: 'development', maxBodyBytes: 1234 });
    expect(existsSync(join(dir, 'queue.sqlite'))).toBe(true);
  }, 30_000);
});
