// CloudTasksBackend against the test Cloud Tasks server through the real client:
// what CreateTask carries for each target, names and tombstones, the options Cloud
// Tasks cannot honour, configuration errors and an unreachable service.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { defer } from '../../shim/api/defer.js';
import { InvalidTaskError, TaskAlreadyExistsError, TombstonedTaskError, TransactionalNotSupportedError } from '../../shim/api/errors.js';
import { transactional } from '../../shim/api/transactional.js';
import { register } from '../../shim/api/registry.js';
import { wrapApp } from '../../shim/adapters/wrap-app.js';
import type { TaskSpec } from '../../shim/api/types.js';
import {
  CloudTasksBackend,
  CloudTasksConfigError,
  CloudTasksUnavailableError,
  parseAppEngineTarget,
} from '../../shim/backends/cloud-tasks/backend.js';
import { mergeWithEnv } from '../../shim/backends/cloud-tasks/config.js';
import { configure, getRuntime } from '../../shim/runtime/runtime.js';
import { LOCATION, PROJECT, SERVICE_ACCOUNT, startWorld, type World } from './harness.js';

const calls: unknown[][] = [];
function recordCall(...args: unknown[]): void {
  calls.push(args);
}
register(recordCall, 'cloudTasksBackendTest.recordCall');

const okApp = (_req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void res.end('ok');

const execFileAsync = promisify(execFile);

function spec(overrides: Partial<TaskSpec> = {}): TaskSpec {
  return { queue: 'default', url: '/_ah/queue/deferred', etaMs: Date.UTC(2026, 0, 1, 0, 0, 30), headers: { 'Content-Type': 'application/octet-stream' }, body: new Uint8Array([1, 2, 3]), ...overrides };
}

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
  calls.length = 0;
});

describe('CreateTask for an App Engine target', () => {
  it('sends the relative URL, headers, body, schedule time and routing from _target', async () => {
    world = await startWorld(() => okApp, { target: 'appengine', queues: ['default', 'mail'] });
    const enqueued = await world.backend.enqueue(spec({ queue: 'mail', target: 'v2.worker', url: '/custom/path', headers: { 'Content-Type': 'text/plain', 'X-Trace': 'abc' } }));
    const sent = world.server.created[0]!;
    expect(sent.appEngineHttpRequest).toMatchObject({
      httpMethod: 'POST',
      relativeUri: '/custom/path',
      headers: { 'Content-Type': 'text/plain', 'X-Trace': 'abc' },
      appEngineRouting: { service: 'worker', version: 'v2' },
    });
    expect([...sent.appEngineHttpRequest!.body!]).toEqual([1, 2, 3]);
    expect(sent.httpRequest).toBeUndefined();
    expect(Number(sent.scheduleTime!.seconds)).toBe(Date.UTC(2026, 0, 1, 0, 0, 30) / 1000);
    expect(enqueued).toMatchObject({ queue: 'mail', url: '/custom/path', eta: new Date(Date.UTC(2026, 0, 1, 0, 0, 30)) });
    expect(world.server.queued('mail')).toEqual([`projects/${PROJECT}/locations/${LOCATION}/queues/mail/tasks/${enqueued.name}`]);
  });

  it('uses the configured default routing when the task names no _target', async () => {
    world = await startWorld(() => okApp, { target: 'appengine', backend: { appEngineRouting: { service: 'tasks', version: 'live' } } });
    await world.backend.enqueue(spec());
    expect(world.server.created[0]!.appEngineHttpRequest!.appEngineRouting).toMatchObject({ service: 'tasks', version: 'live' });
  });

  it('maps _queue names through queuePrefix and explicit queues', async () => {
    world = await startWorld(() => okApp, { target: 'appengine', queues: ['app-default', 'special-q'], backend: { queuePrefix: 'app-', queues: { mail: 'special-q' } } });
    await world.backend.enqueue(spec());
    await world.backend.enqueue(spec({ queue: 'mail' }));
    expect(world.server.queued('app-default')).toHaveLength(1);
    expect(world.server.queued('special-q')).toHaveLength(1);
  });
});

describe('CreateTask for an HTTP target', () => {
  it('sends the full URL and an OIDC token request for the service account', async () => {
    world = await startWorld(() => okApp, { target: 'http', backend: { audience: 'https://tasks.example.com' } });
    await world.backend.enqueue(spec({ url: '/custom/path' }));
    const sent = world.server.created[0]!;
    expect(sent.httpRequest).toMatchObject({
      httpMethod: 'POST',
      url: `${world.appUrl}/custom/path`,
      oidcToken: { serviceAccountEmail: SERVICE_ACCOUNT, audience: 'https://tasks.example.com' },
    });
    expect(sent.appEngineHttpRequest).toBeUndefined();
  });

  it('sends _target tasks to the URL configured for that target, and refuses unknown targets', async () => {
    world = await startWorld(() => okApp, { target: 'http', backend: { httpTargets: { reports: 'https://reports.example.run.app/' } } });
    await world.backend.enqueue(spec({ target: 'reports' }));
    expect(world.server.created[0]!.httpRequest!.url).toBe('https://reports.example.run.app/_ah/queue/deferred');
    await expect(world.backend.enqueue(spec({ target: 'billing' }))).rejects.toThrow(/_target "billing" has no URL.*httpTargets/);
    expect(world.server.created).toHaveLength(1);
  });
});

describe('task names', () => {
  it('a duplicate name, queued or finished (tombstone), is TaskAlreadyExistsError', async () => {
    world = await startWorld(() => okApp, { target: 'appengine' });
    const first = await world.backend.enqueue(spec({ name: 'nightly-2026-01-01' }));
    expect(first.name).toBe('nightly-2026-01-01');
    const duplicate = world.backend.enqueue(spec({ name: 'nightly-2026-01-01' }));
    await expect(duplicate).rejects.toBeInstanceOf(TaskAlreadyExistsError);
    await expect(duplicate).rejects.toMatchObject({ taskName: 'nightly-2026-01-01', queue: 'default' });
    await world.advance(30_000); // delivered, 200: now only a tombstone holds the name
    expect(world.server.queued()).toEqual([]);
    // Cloud Tasks answers ALREADY_EXISTS for both: no TombstonedTaskError here (the embedded queue tells them apart).
    const tombstoned = await world.backend.enqueue(spec({ name: 'nightly-2026-01-01' })).catch((error: unknown) => error);
    expect(tombstoned).toBeInstanceOf(TaskAlreadyExistsError);
    expect(tombstoned).not.toBeInstanceOf(TombstonedTaskError);
    // The tombstone lasts about an hour on Cloud Tasks.
    world.server.clock.advance(3601_000);
    await expect(world.backend.enqueue(spec({ name: 'nightly-2026-01-01', etaMs: world.server.clock.now() }))).resolves.toMatchObject({ name: 'nightly-2026-01-01' });
  });

  it('defer() with a duplicate _name rejects with TaskAlreadyExistsError', async () => {
    world = await startWorld(() => okApp, { target: 'appengine' });
    await defer(recordCall, 1, { _name: 'once' });
    await expect(defer(recordCall, 2, { _name: 'once' })).rejects.toBeInstanceOf(TaskAlreadyExistsError);
    expect(world.server.queued()).toHaveLength(1);
  });
});

describe('options Cloud Tasks cannot honour', () => {
  it('_transactional fails loudly and creates nothing', async () => {
    world = await startWorld(() => okApp, { target: 'appengine' });
    await expect(defer(recordCall, 1, { _transactional: true })).rejects.toBeInstanceOf(TransactionalNotSupportedError);
    await expect(world.backend.enqueue(spec({ transactional: true }))).rejects.toThrow(/outside deferred\.transactional\(work\)/);
    expect(world.server.created).toEqual([]);
  });

  it('_transactional inside deferred.transactional: the task is created once work resolves', async () => {
    world = await startWorld(() => okApp, { target: 'appengine' });
    let createdDuringWork = -1;
    let held!: Promise<unknown>;
    await transactional(async () => {
      held = defer(recordCall, 1, { _transactional: true });
      await new Promise((resolve) => setImmediate(resolve));
      createdDuringWork = world!.server.created.length;
    });
    await expect(held).resolves.toMatchObject({ queue: 'default' });
    expect(createdDuringWork).toBe(0);
    expect(world.server.created).toHaveLength(1);
  });

  it('_retry_options: warned once per queue by default, the task still enqueued', async () => {
    world = await startWorld(() => okApp, { target: 'appengine' });
    await world.backend.enqueue(spec({ retry: { task_retry_limit: 3 } }));
    await world.backend.enqueue(spec({ retry: { task_retry_limit: 5 } }));
    const warnings = world.logger.entries.filter((e) => e.level === 'warn' && /retries per queue/.test(e.message));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toMatch(/gcloud tasks queues update/);
    expect(world.server.queued()).toHaveLength(2);
  });

  it('_retry_options with retryOptions: "error" is refused', async () => {
    world = await startWorld(() => okApp, { target: 'appengine', backend: { retryOptions: 'error' } });
    await expect(world.backend.enqueue(spec({ retry: { min_backoff_seconds: 1 } }))).rejects.toBeInstanceOf(InvalidTaskError);
    expect(world.server.created).toEqual([]);
  });
});

describe('configuration', () => {
  it('missing project and location are named at first use, not at construction', async () => {
    const backend = new CloudTasksBackend({}, { env: {} });
    const error = await backend.enqueue(spec()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CloudTasksConfigError);
    expect((error as Error).message).toMatch(/project \(DEFERRED_CLOUD_TASKS_PROJECT or GOOGLE_CLOUD_PROJECT\)/);
    expect((error as Error).message).toMatch(/location \(DEFERRED_CLOUD_TASKS_LOCATION\)/);
  });

  it('an HTTP target needs baseUrl and serviceAccountEmail', async () => {
    const backend = new CloudTasksBackend({ project: 'p', location: 'l', target: 'http' }, { env: {} });
    await expect(backend.enqueue(spec())).rejects.toThrow(/baseUrl \(DEFERRED_CLOUD_TASKS_BASE_URL\).*serviceAccountEmail \(DEFERRED_CLOUD_TASKS_SERVICE_ACCOUNT\)/);
  });

  it('an unknown queue names the queue and how to create it', async () => {
    world = await startWorld(() => okApp, { target: 'appengine' });
    const error = await world.backend.enqueue(spec({ queue: 'reports' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CloudTasksConfigError);
    expect((error as Error).message).toContain(`gcloud tasks queues create reports --location=${LOCATION}`);
  });

  it('reads DEFERRED_CLOUD_TASKS_* from the environment; options win', () => {
    const env = {
      GOOGLE_CLOUD_PROJECT: 'from-google-env',
      DEFERRED_CLOUD_TASKS_LOCATION: 'europe-west1',
      DEFERRED_CLOUD_TASKS_TARGET: 'http',
      DEFERRED_CLOUD_TASKS_BASE_URL: 'https://app.example.com',
      DEFERRED_CLOUD_TASKS_SERVICE_ACCOUNT: 'sa@p.iam.gserviceaccount.com',
      DEFERRED_CLOUD_TASKS_AUDIENCE: 'aud',
      DEFERRED_CLOUD_TASKS_QUEUES: 'default=app-default, mail=app-mail',
      DEFERRED_CLOUD_TASKS_ENDPOINT: 'localhost:8123',
      DEFERRED_CLOUD_TASKS_INSECURE: 'true',
      DEFERRED_CLOUD_TASKS_OVERFLOW_TTL_SECONDS: '60',
    };
    expect(mergeWithEnv({ location: 'us-east1' }, env)).toMatchObject({
      project: 'from-google-env',
      location: 'us-east1',
      target: 'http',
      baseUrl: 'https://app.example.com',
      serviceAccountEmail: 'sa@p.iam.gserviceaccount.com',
      audience: 'aud',
      queues: { default: 'app-default', mail: 'app-mail' },
      apiEndpoint: 'localhost',
      port: 8123,
      insecure: true,
      overflowTtlMs: 60_000,
    });
    expect(mergeWithEnv({}, { DEFERRED_CLOUD_TASKS_PROJECT: 'ours', GOOGLE_CLOUD_PROJECT: 'theirs' }).project).toBe('ours');
    expect(mergeWithEnv({}, { K_SERVICE: 'svc' }).target).toBe('http');
    expect(mergeWithEnv({}, {}).target).toBe('appengine');
    expect(() => mergeWithEnv({}, { DEFERRED_CLOUD_TASKS_TARGET: 'pubsub' })).toThrow(/DEFERRED_CLOUD_TASKS_TARGET must be "appengine" or "http"/);
    expect(() => mergeWithEnv({}, { DEFERRED_CLOUD_TASKS_QUEUES: 'default' })).toThrow(/DEFERRED_CLOUD_TASKS_QUEUES must look like/);
  });

  it('a prefix that makes an invalid queue id is a clear error', async () => {
    const backend = new CloudTasksBackend({ project: 'p', location: 'l', queuePrefix: 'my_app_' }, { env: {} });
    await expect(backend.enqueue(spec())).rejects.toThrow(/"my_app_default", which is not 1-100 letters, digits or hyphens/);
  });

  it('_target parsing follows App Engine: service, version.service, instance.version.service', () => {
    expect(parseAppEngineTarget('worker')).toEqual({ service: 'worker' });
    expect(parseAppEngineTarget('v2.worker')).toEqual({ service: 'worker', version: 'v2' });
    expect(parseAppEngineTarget('v2-dot-worker')).toEqual({ service: 'worker', version: 'v2' });
    expect(parseAppEngineTarget('1.v2.worker')).toEqual({ service: 'worker', version: 'v2', instance: '1' });
    expect(() => parseAppEngineTarget('a.b.c.d')).toThrow(InvalidTaskError);
    expect(() => parseAppEngineTarget('bad/name')).toThrow(InvalidTaskError);
  });

  it('missing Google credentials are a config error naming where credentials come from', async () => {
    const backend = new CloudTasksBackend(
      { project: 'p', location: 'l', apiEndpoint: '127.0.0.1', port: 1, keyFilename: '/nonexistent/deferred-test-key.json', timeoutMs: 3000 },
      { env: {} },
    );
    const error = await backend.enqueue(spec()).catch((e: unknown) => e);
    await backend.close();
    expect(error).toBeInstanceOf(CloudTasksConfigError);
    expect((error as Error).message).toMatch(/credentials.*GOOGLE_APPLICATION_CREDENTIALS/);
  });
});

describe("the REST transport (fallback: 'rest')", () => {
  it('creates the same task, maps ALREADY_EXISTS and NOT_FOUND, and the task is delivered', async () => {
    world = await startWorld(() => wrapApp(okApp, { useDeferred: true }), { target: 'appengine', transport: 'rest' });
    const enqueued = await world.backend.enqueue(spec({ name: 'over-rest', target: 'v1.worker', etaMs: Date.UTC(2026, 0, 1, 0, 0, 30, 250) }));
    expect(enqueued.name).toBe('over-rest');
    const sent = world.server.created[0]!;
    expect(sent.appEngineHttpRequest).toMatchObject({ relativeUri: '/_ah/queue/deferred', appEngineRouting: { service: 'worker', version: 'v1' } });
    expect([...sent.appEngineHttpRequest!.body!]).toEqual([1, 2, 3]);
    expect(sent.scheduleTime).toMatchObject({ seconds: String(Date.UTC(2026, 0, 1, 0, 0, 30) / 1000), nanos: 250_000_000 });
    await expect(world.backend.enqueue(spec({ name: 'over-rest' }))).rejects.toBeInstanceOf(TaskAlreadyExistsError);
    await expect(world.backend.enqueue(spec({ queue: 'missing' }))).rejects.toBeInstanceOf(CloudTasksConfigError);
    await defer(recordCall, 'rest');
    await world.advance(30_000);
    expect(calls).toEqual([['rest']]);
  });
});

describe('wiring', () => {
  it("configure({ backend: 'cloud-tasks', cloudTasks }) builds this backend and defer() reaches the service", async () => {
    world = await startWorld(() => okApp, { target: 'appengine' });
    configure({ backend: 'cloud-tasks', cloudTasks: { ...world.backend.config } });
    expect(getRuntime().backend).toBeInstanceOf(CloudTasksBackend);
    expect(getRuntime().backend).not.toBe(world.backend);
    await defer(recordCall, 'wired');
    expect(world.server.queued()).toHaveLength(1);
  });

  it('the backend modules import the Google client libraries only dynamically (apps on other backends need not install them)', async () => {
    const dir = new URL('../../shim/backends/cloud-tasks/', import.meta.url);
    for (const file of await readdir(dir)) {
      const source = await readFile(new URL(file, dir), 'utf8');
      expect(source, file).not.toMatch(/^\s*import\s[^(]*from\s+['"](@google-cloud\/tasks|google-auth-library|@grpc\/grpc-js|google-gax)['"]/m);
      expect(source, file).not.toMatch(/require\(\s*['"](@google-cloud\/tasks|google-auth-library)/);
    }
  });
});

describe('an unreachable Cloud Tasks', () => {
  it('a refused connection fails fast with CloudTasksUnavailableError', async () => {
    const port = await closedPort();
    // A deadline far above what a refusal takes: failing well before it shows the refusal is not waited out.
    const backend = new CloudTasksBackend({ project: 'p', location: 'l', apiEndpoint: '127.0.0.1', port, insecure: true, timeoutMs: 30_000 }, { env: {} });
    const started = Date.now();
    const error = await backend.enqueue(spec()).catch((e: unknown) => e);
    await backend.close();
    expect(error).toBeInstanceOf(CloudTasksUnavailableError);
    expect((error as Error).message).toMatch(new RegExp(`127\\.0\\.0\\.1:${port} is unreachable.*not enqueued`));
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('a server that accepts but never answers hits the deadline instead of hanging', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const silent: TcpServer = createTcpServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as import('node:net').AddressInfo).port;
    const backend = new CloudTasksBackend({ project: 'p', location: 'l', apiEndpoint: '127.0.0.1', port, insecure: true, timeoutMs: 800 }, { env: {} });
    const started = Date.now();
    const error = await backend.enqueue(spec()).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    await backend.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    expect(error).toBeInstanceOf(CloudTasksUnavailableError);
    expect(elapsed).toBeGreaterThanOrEqual(700);
    // Not hanging: the deadline ends it (the upper bound leaves room for a loaded CI machine).
    expect(elapsed).toBeLessThan(800 + 10_000);
  });
});

describe('no credentials and a metadata server that never answers', () => {
  it('fails the enqueue after the timeout with an error that names the credentials lookup', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const silent: TcpServer = createTcpServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as import('node:net').AddressInfo).port;
    const home = await mkdtemp(join(tmpdir(), 'dm-no-adc-'));
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, CLOUDSDK_CONFIG: home, GCE_METADATA_HOST: `127.0.0.1:${port}` };
    delete env.GOOGLE_APPLICATION_CREDENTIALS;
    delete env.GCE_METADATA_IP;
    delete env.METADATA_SERVER_DETECTION;
    const child = fileURLToPath(new URL('./credential-deadline-child.ts', import.meta.url));
    try {
      const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', child, '700'], { env, timeout: 60_000 });
      const outcome = JSON.parse(stdout.trim().split('\n').pop()!) as { name?: string; message?: string; elapsedMs: number };
      expect(outcome.name).toBe('CloudTasksConfigError');
      expect(outcome.message).toBe('Loading Google credentials for Cloud Tasks took longer than 700 ms (metadata server unreachable?).');
      expect(outcome.elapsedMs).toBeGreaterThanOrEqual(650);
      // Not hanging: the deadline ends it (room left for a loaded CI machine).
      expect(outcome.elapsedMs).toBeLessThan(700 + 10_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
      await rm(home, { recursive: true, force: true });
    }
  });
});

async function closedPort(): Promise<number> {
  const probe = createTcpServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as import('node:net').AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
