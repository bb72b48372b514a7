// Serverless defaults: on App Engine and Cloud Run, with no backend configured, the
// runtime uses Cloud Tasks, derives what it can (project from the environment or
// the metadata server, location from the metadata server), and otherwise fails at
// the first defer() naming DEFERRED_BACKEND and the missing keys. It never queues
// into the instance's disk. Each platform is simulated by its variables, a fake
// metadata server on loopback and the test Cloud Tasks server.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { wrapApp } from '../../shim/adapters/wrap-app.js';
import { defer } from '../../shim/api/defer.js';
import { register } from '../../shim/api/registry.js';
import { CloudTasksBackend, CloudTasksConfigError } from '../../shim/backends/cloud-tasks/backend.js';
import { MetadataServer } from '../../shim/backends/cloud-tasks/metadata.js';
import { detectPlatform, projectFromAppId } from '../../shim/runtime/platform.js';
import { configure, getRuntime, resetRuntime } from '../../shim/runtime/runtime.js';
import { listen, type Listening } from '../support/listen.js';
import { recordingLogger } from './harness.js';
import { startMetadataServer, type FakeMetadataServer } from './server/metadata-server.js';
import { CloudTasksTestServer } from './server/cloud-tasks-server.js';

const ran: string[] = [];
function serverlessTask(label: string): void {
  ran.push(label);
}
register(serverlessTask, 'serverlessTest.serverlessTask');

const APP_ENGINE = { GAE_APPLICATION: 's~aeproj', GAE_ENV: 'standard', GAE_SERVICE: 'worker', GAE_VERSION: '20261130t1200', GAE_INSTANCE: 'i1' };
const CLOUD_RUN = { K_SERVICE: 'counter', K_REVISION: 'counter-00007-abc', K_CONFIGURATION: 'counter' };
/** Every variable the shim or the platforms' detection reads, cleared before each test. */
const CLEARED = [
  'DEFERRED_BACKEND', 'DEFERRED_DATA_DIR', 'DEFERRED_MODE', 'DEFERRED_SIGNING_SECRET',
  'DEFERRED_CLOUD_TASKS_PROJECT', 'DEFERRED_CLOUD_TASKS_LOCATION', 'DEFERRED_CLOUD_TASKS_TARGET', 'DEFERRED_CLOUD_TASKS_BASE_URL',
  'DEFERRED_CLOUD_TASKS_SERVICE_ACCOUNT', 'DEFERRED_CLOUD_TASKS_ENDPOINT', 'DEFERRED_CLOUD_TASKS_INSECURE', 'DEFERRED_CLOUD_TASKS_ROUTING',
  'DEFERRED_CLOUD_TASKS_APPENGINE_SERVICE', 'DEFERRED_CLOUD_TASKS_APPENGINE_VERSION',
  'GOOGLE_CLOUD_PROJECT', 'GCLOUD_PROJECT', 'GCE_METADATA_HOST',
  'GAE_APPLICATION', 'GAE_ENV', 'GAE_SERVICE', 'GAE_VERSION', 'GAE_INSTANCE', 'K_SERVICE', 'K_REVISION', 'K_CONFIGURATION', 'CLOUD_RUN_JOB',
];

let dataDir: string;
let metadata: FakeMetadataServer | undefined;
let tasks: CloudTasksTestServer | undefined;
let app: Listening | undefined;

beforeEach(async () => {
  for (const key of CLEARED) vi.stubEnv(key, '');
  dataDir = await mkdtemp(join(tmpdir(), 'dm-serverless-'));
  await rm(dataDir, { recursive: true });
  vi.stubEnv('DEFERRED_DATA_DIR', dataDir);
  ran.length = 0;
});

afterEach(async () => {
  await resetRuntime();
  vi.unstubAllEnvs();
  await Promise.all([metadata?.close(), tasks?.close(), app?.close()]);
  metadata = tasks = app = undefined;
  await rm(dataDir, { recursive: true, force: true });
});

function stubEnv(values: Record<string, string>): void {
  for (const [key, value] of Object.entries(values)) vi.stubEnv(key, value);
}

/** A Cloud Tasks test server for `project`/`location` delivering App Engine tasks to a wrapped app; the shim reaches it through the env. */
async function startCloudTasks(project: string, location: string): Promise<CloudTasksTestServer> {
  let listener = (_req: IncomingMessage, res: ServerResponse) => void res.writeHead(503).end();
  app = await listen((req, res) => listener(req, res));
  tasks = await new CloudTasksTestServer({ project, location, queues: ['default'], appEngineServices: { default: app.baseUrl, worker: app.baseUrl }, signIdToken: () => 'unused' }).start();
  stubEnv({ DEFERRED_CLOUD_TASKS_ENDPOINT: `127.0.0.1:${tasks.port}`, DEFERRED_CLOUD_TASKS_INSECURE: '1' });
  configure({ clock: tasks.clock, logger: recordingLogger() });
  const wrapped = wrapApp((_req: IncomingMessage, res: ServerResponse) => void res.writeHead(404).end(), { useDeferred: true });
  listener = wrapped;
  return tasks;
}

async function deferError(): Promise<Error> {
  const error = await defer(serverlessTask, 'x').then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  if (!error) throw new Error('defer() resolved; expected it to reject');
  return error;
}

describe('platform detection', () => {
  it('reads each platform from its own variables; the App Engine development server is not production', () => {
    expect(detectPlatform({ GAE_APPLICATION: 's~p', GAE_ENV: 'standard' })).toEqual({ platform: 'app-engine', evidence: 'GAE_APPLICATION' });
    expect(detectPlatform({ GAE_ENV: 'standard' })).toEqual({ platform: 'app-engine', evidence: 'GAE_ENV' });
    expect(detectPlatform({ K_SERVICE: 'svc' })).toEqual({ platform: 'cloud-run', evidence: 'K_SERVICE' });
    expect(detectPlatform({ CLOUD_RUN_JOB: 'nightly' })).toEqual({ platform: 'cloud-run', evidence: 'CLOUD_RUN_JOB' });
    expect(detectPlatform({ GAE_ENV: 'localdev', GAE_APPLICATION: 'dev~p' })).toBeUndefined();
    expect(detectPlatform({ GAE_VERSION: 'counter-app' })).toBeUndefined();
    expect(detectPlatform({})).toBeUndefined();
    expect(projectFromAppId('s~my-project')).toBe('my-project');
    expect(projectFromAppId('e~example.com:my-project')).toBe('example.com:my-project');
  });
});

describe('the default backend', () => {
  it.each([
    ['App Engine', APP_ENGINE, 'cloud-tasks'],
    ['Cloud Run', CLOUD_RUN, 'cloud-tasks'],
    ['a Cloud Run job', { CLOUD_RUN_JOB: 'nightly' }, 'cloud-tasks'],
    ['the App Engine development server', { GAE_ENV: 'localdev', GAE_APPLICATION: 'dev~aeproj' }, 'embedded'],
    ['anywhere else', {}, 'embedded'],
  ])('on %s is %s', (_label, env, kind) => {
    stubEnv(env);
    configure({ logger: recordingLogger() });
    expect(getRuntime().backend.kind).toBe(kind);
  });

  it('a configured backend wins: DEFERRED_BACKEND=embedded on App Engine queues on the instance, as asked', () => {
    stubEnv({ ...APP_ENGINE, DEFERRED_BACKEND: 'embedded' });
    configure({ logger: recordingLogger() });
    expect(getRuntime().backend.kind).toBe('embedded');
  });
});

describe('App Engine with no backend configured', () => {
  it('derives the project from GAE_APPLICATION and the location from the metadata server, and runs the task', async () => {
    metadata = await startMetadataServer({ 'instance/region': 'projects/123456789/regions/europe-west1' });
    stubEnv({ ...APP_ENGINE, GCE_METADATA_HOST: metadata.host });
    const server = await startCloudTasks('aeproj', 'europe-west1');
    const enqueued = await defer(serverlessTask, 'on app engine');
    expect(server.queued('default')).toEqual([`projects/aeproj/locations/europe-west1/queues/default/tasks/${enqueued.name}`]);
    expect(metadata.requests).toEqual(['instance/region']); // the project came from GAE_APPLICATION
    await server.advance(0);
    expect(server.deliveries.map((d) => d.status)).toEqual([200]);
    expect(ran).toEqual(['on app engine']);
    // Nothing went to the instance's disk.
    expect(existsSync(dataDir)).toBe(false);
  });

  it('asks the metadata server once, not per task', async () => {
    metadata = await startMetadataServer({ 'project/project-id': 'aeproj', 'instance/region': 'projects/1/regions/us-central1' });
    stubEnv({ GAE_ENV: 'standard', GCE_METADATA_HOST: metadata.host });
    const server = await startCloudTasks('aeproj', 'us-central1');
    await defer(serverlessTask, 'a');
    await defer(serverlessTask, 'b');
    expect(server.queued()).toHaveLength(2);
    expect(metadata.requests.sort()).toEqual(['instance/region', 'project/project-id']);
  });

  it('configured settings win over the metadata server, which is then not asked', async () => {
    metadata = await startMetadataServer({ 'instance/region': 'projects/1/regions/asia-east1' });
    stubEnv({ ...APP_ENGINE, GCE_METADATA_HOST: metadata.host, DEFERRED_CLOUD_TASKS_LOCATION: 'us-east1', GOOGLE_CLOUD_PROJECT: 'other' });
    const server = await startCloudTasks('other', 'us-east1');
    await defer(serverlessTask, 'x');
    expect(server.queued()).toHaveLength(1);
    expect(metadata.requests).toEqual([]);
  });

  it('fails at the first defer(), naming DEFERRED_BACKEND, the missing key and why the metadata server did not help; writes nothing', async () => {
    metadata = await startMetadataServer({});
    stubEnv({ ...APP_ENGINE, GCE_METADATA_HOST: metadata.host });
    configure({ logger: recordingLogger() });
    wrapApp((_req: IncomingMessage, res: ServerResponse) => void res.end(), { useDeferred: true }); // starting the app is fine
    const error = await deferError();
    expect(error).toBeInstanceOf(CloudTasksConfigError);
    expect(error.message).toContain('No backend is configured (DEFERRED_BACKEND is unset) and this is App Engine (GAE_APPLICATION is set)');
    expect(error.message).toContain('missing location (DEFERRED_CLOUD_TASKS_LOCATION)');
    expect(error.message).not.toContain('project (');
    expect(error.message).toMatch(new RegExp(`the metadata server did not tell \\(http://${metadata.host}/computeMetadata/v1/instance/region answered 404\\)`));
    expect(error.message).toContain('DEFERRED_BACKEND=embedded keeps tasks on this instance only');
    expect(existsSync(dataDir)).toBe(false);
  });

  it('without a metadata server, names project and location and says the server is unreachable', async () => {
    const closed = await listen((_req, res) => void res.end());
    const host = closed.baseUrl.replace('http://', '');
    await closed.close();
    stubEnv({ GAE_ENV: 'standard', GCE_METADATA_HOST: host });
    configure({ logger: recordingLogger() });
    const error = await deferError();
    expect(error.message).toContain('App Engine (GAE_ENV is set)');
    expect(error.message).toContain('missing project (DEFERRED_CLOUD_TASKS_PROJECT or GOOGLE_CLOUD_PROJECT), location (DEFERRED_CLOUD_TASKS_LOCATION)');
    expect(error.message).toContain(`http://${host}/computeMetadata/v1/project/project-id is unreachable (ECONNREFUSED)`);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('a server without Metadata-Flavor: Google is not taken for the metadata server', async () => {
    metadata = await startMetadataServer({ 'instance/region': 'projects/1/regions/us-central1' }, { flavor: false });
    await expect(new MetadataServer({}, { GCE_METADATA_HOST: metadata.host }).region()).rejects.toThrow(/did not answer as a metadata server/);
  });
});

describe('Cloud Run with no backend configured', () => {
  it('derives project and location, and names the HTTP target settings nothing can derive', async () => {
    metadata = await startMetadataServer({ 'project/project-id': 'runproj', 'instance/region': 'projects/42/regions/us-central1' });
    stubEnv({ ...CLOUD_RUN, GCE_METADATA_HOST: metadata.host });
    configure({ logger: recordingLogger() });
    const error = await deferError();
    expect(error).toBeInstanceOf(CloudTasksConfigError);
    expect(error.message).toContain('this is Cloud Run (K_SERVICE is set)');
    expect(error.message).toContain('missing baseUrl (DEFERRED_CLOUD_TASKS_BASE_URL), serviceAccountEmail (DEFERRED_CLOUD_TASKS_SERVICE_ACCOUNT).');
    expect(error.message).toContain('DEFERRED_BACKEND');
    expect(error.message).not.toMatch(/project \(|location \(/);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('with the HTTP target configured, enqueues an HTTP task in the derived project and region', async () => {
    metadata = await startMetadataServer({ 'project/project-id': 'runproj', 'instance/region': 'projects/42/regions/us-central1' });
    stubEnv({
      ...CLOUD_RUN,
      GCE_METADATA_HOST: metadata.host,
      DEFERRED_CLOUD_TASKS_BASE_URL: 'https://counter-42.us-central1.run.app',
      DEFERRED_CLOUD_TASKS_SERVICE_ACCOUNT: 'tasks-invoker@runproj.iam.gserviceaccount.com',
    });
    const server = await startCloudTasks('runproj', 'us-central1');
    await defer(serverlessTask, 'x');
    expect(server.queued('default')).toHaveLength(1);
    expect(server.created[0]!.httpRequest).toMatchObject({
      url: 'https://counter-42.us-central1.run.app/_ah/queue/deferred',
      oidcToken: { serviceAccountEmail: 'tasks-invoker@runproj.iam.gserviceaccount.com' },
    });
  });
});

describe('an explicitly configured Cloud Tasks backend on App Engine', () => {
  it('also takes the location from the metadata server; a missing one does not mention DEFERRED_BACKEND', async () => {
    metadata = await startMetadataServer({});
    const backend = new CloudTasksBackend({ project: 'p' }, { env: { ...APP_ENGINE, GCE_METADATA_HOST: metadata.host } });
    const error = await backend
      .enqueue({ queue: 'default', url: '/_ah/queue/deferred', etaMs: 0, headers: {}, body: new Uint8Array([1]) })
      .catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(CloudTasksConfigError);
    expect((error as Error).message).toMatch(/^The Cloud Tasks backend is missing location \(DEFERRED_CLOUD_TASKS_LOCATION\); the metadata server did not tell/);
    expect((error as Error).message).not.toContain('DEFERRED_BACKEND');
  });
});
