// `deferred-migrate queues plan|apply queue.yaml` against the test Cloud Tasks
// server through the real @google-cloud/tasks client: every field's mapping,
// create, update with an update mask of only the changed fields, idempotency, the
// 500/s limit, bad input, an unreachable service, and the built CLI end to end.
import * as grpc from '@grpc/grpc-js';
import { CloudTasksClient } from '@google-cloud/tasks';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runQueueSync, QueueSyncExit } from '../../cli/queues-sync.js';
import { CloudTasksTestServer } from './server/cloud-tasks-server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'dist/esm/cli/index.js');

const QUEUE_YAML = `# the app's queues
queue:
- name: default
  rate: 5/s
  retry_parameters:
    task_retry_limit: 3
- name: mail
  rate: 10/m
  bucket_size: 20
  max_concurrent_requests: 2
  target: v2.worker
  retry_parameters:
    task_retry_limit: 7
    task_age_limit: 2d
    min_backoff_seconds: 1.5
    max_backoff_seconds: 60
    max_doublings: 2
- name: slow
  rate: 0
- name: pulled
  mode: pull
  acl:
  - user_email: someone@example.com
total_storage_limit: 120M
`;

let server: CloudTasksTestServer;
let client: CloudTasksClient;
let dir: string;

beforeEach(async () => {
  server = await new CloudTasksTestServer({ project: 'p', location: 'us-central1', queues: { default: {}, legacy: { maxBurstSize: 7 } } }).start();
  client = new CloudTasksClient({ ...server.endpoint, sslCreds: grpc.credentials.createInsecure(), universeDomain: 'googleapis.com' });
  dir = mkdtempSync(path.join(tmpdir(), 'dm-queue-sync-'));
});
afterEach(async () => {
  await client.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}): Record<string, string> {
  return { DEFERRED_CLOUD_TASKS_ENDPOINT: `127.0.0.1:${server.port}`, DEFERRED_CLOUD_TASKS_INSECURE: '1', ...extra };
}

function writeYaml(text: string): string {
  const file = path.join(dir, 'queue.yaml');
  writeFileSync(file, text);
  return file;
}

async function sync(args: string[], environment: Record<string, string> = env()) {
  let stdout = '';
  let stderr = '';
  const code = await runQueueSync(args, {
    cwd: dir,
    env: environment,
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
  });
  return { code, stdout, stderr };
}

const getQueue = async (id: string) => (await client.getQueue({ name: server.queuePath(id) }))[0];

describe('queues plan', () => {
  it('shows creates with every mapped field, updates old → new, skipped and unnamed queues; changes nothing', async () => {
    writeYaml(QUEUE_YAML);
    const { code, stdout } = await sync(['plan', 'queue.yaml', '--project', 'p', '--location', 'us-central1', '--json']);
    expect(code).toBe(QueueSyncExit.Success);
    const plan = JSON.parse(stdout);
    expect(plan.parent).toBe('projects/p/locations/us-central1');
    const byId = Object.fromEntries(plan.entries.map((e: { queueId: string }) => [e.queueId, e]));
    expect(byId.default).toMatchObject({
      action: 'update',
      changes: [
        { path: 'rate_limits.max_dispatches_per_second', from: '500/s', to: '5/s' },
        { path: 'retry_config.max_attempts', from: '100', to: '4' },
      ],
    });
    expect(byId.mail.action).toBe('create');
    expect(byId.mail.changes).toEqual([
      { path: 'rate_limits.max_dispatches_per_second', to: '0.166667/s' },
      { path: 'rate_limits.max_concurrent_dispatches', to: '2' },
      { path: 'retry_config.max_attempts', to: '8' },
      { path: 'retry_config.max_retry_duration', to: '172800s' },
      { path: 'retry_config.min_backoff', to: '1.5s' },
      { path: 'retry_config.max_backoff', to: '60s' },
      { path: 'retry_config.max_doublings', to: '2' },
      { path: 'app_engine_routing_override', to: 'v2.worker' },
    ]);
    expect(byId.mail.notes.join('\n')).toMatch(/bucket_size 20 is not applied: max_burst_size is output only/);
    expect(byId.slow).toMatchObject({ action: 'create', changes: [{ path: 'state', to: 'PAUSED' }] });
    expect(byId.pulled.action).toBe('skip');
    expect(byId.pulled.notes[0]).toMatch(/pull queues have no Cloud Tasks equivalent/);
    expect(byId.legacy).toMatchObject({ action: 'not-in-file' });
    expect(plan.notes[0]).toMatch(/total_storage_limit 120M is not applied/);
    // A plan changes nothing.
    expect((await client.listQueues({ parent: server.locationPath }))[0].map((q) => q.name!.split('/').pop())).toEqual(['default', 'legacy']);
    expect((await getQueue('default')).rateLimits!.maxDispatchesPerSecond).toBe(500);
  });

  it('prints a readable plan', async () => {
    writeYaml(QUEUE_YAML);
    const { code, stdout } = await sync(['plan', 'queue.yaml'], env({ DEFERRED_CLOUD_TASKS_PROJECT: 'p', DEFERRED_CLOUD_TASKS_LOCATION: 'us-central1' }));
    expect(code).toBe(0);
    expect(stdout).toContain('Cloud Tasks queues in projects/p/locations/us-central1 for');
    expect(stdout).toMatch(/~ update default\n\s+rate_limits\.max_dispatches_per_second\s+500\/s → 5\/s/);
    expect(stdout).toMatch(/\+ create mail\n/);
    expect(stdout).toContain('? not in the file legacy');
    expect(stdout).toContain('Plan: 2 to create, 1 to update, 0 unchanged, 1 skipped, 1 not in the file.');
    expect(stdout).not.toContain('\u001b['); // not a TTY: no colour
  });
});

describe('queues apply', () => {
  it('creates and updates through the admin API, every field mapped; a second apply changes nothing', async () => {
    writeYaml(QUEUE_YAML);
    const { code, stdout } = await sync(['apply', 'queue.yaml', '--project', 'p', '--location', 'us-central1']);
    expect(code).toBe(0);
    expect(stdout).toContain('Updated default.');
    expect(stdout).toContain('Created mail.');
    expect(stdout).toContain('Applied: 3 queues changed.');
    const mail = await getQueue('mail');
    expect(mail).toMatchObject({
      state: 'RUNNING',
      appEngineRoutingOverride: { service: 'worker', version: 'v2' },
      rateLimits: { maxConcurrentDispatches: 2 },
      retryConfig: { maxAttempts: 8, maxRetryDuration: { seconds: '172800' }, minBackoff: { seconds: '1', nanos: 500_000_000 }, maxBackoff: { seconds: '60' }, maxDoublings: 2 },
    });
    expect(mail.rateLimits!.maxDispatchesPerSecond).toBeCloseTo(1 / 6, 12);
    expect(await getQueue('default')).toMatchObject({ rateLimits: { maxDispatchesPerSecond: 5 }, retryConfig: { maxAttempts: 4, maxRetryDuration: {} } });
    expect((await getQueue('slow')).state).toBe('PAUSED');
    await expect(client.getQueue({ name: server.queuePath('pulled') })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    expect((await getQueue('legacy')).rateLimits!.maxBurstSize).toBe(7); // not in the file: untouched

    const again = await sync(['apply', 'queue.yaml', '--project', 'p', '--location', 'us-central1', '--json']);
    expect(again.code).toBe(0);
    const plan = JSON.parse(again.stdout);
    expect(plan.applied).toEqual([]);
    expect(plan.entries.filter((e: { action: string }) => e.action === 'unchanged').map((e: { queueId: string }) => e.queueId)).toEqual(['default', 'mail', 'slow']);
  });

  it('updates only the changed fields (the update mask), leaving what the file does not set', async () => {
    writeYaml(QUEUE_YAML);
    expect((await sync(['apply', 'queue.yaml', '--project', 'p', '--location', 'us-central1'])).code).toBe(0);
    // Changed outside the file: the file does not set default's concurrency, so apply keeps it.
    await client.updateQueue({ queue: { name: server.queuePath('default'), rateLimits: { maxConcurrentDispatches: 9 } }, updateMask: { paths: ['rate_limits.max_concurrent_dispatches'] } });
    writeYaml(QUEUE_YAML.replace('rate: 5/s', 'rate: 20/s').replace('max_doublings: 2', 'max_doublings: 4'));
    const { code, stdout } = await sync(['apply', 'queue.yaml', '--project', 'p', '--location', 'us-central1', '--json']);
    expect(code).toBe(0);
    const plan = JSON.parse(stdout);
    expect(plan.applied).toEqual(['default', 'mail']);
    const changes = Object.fromEntries(plan.entries.map((e: { queueId: string; changes: unknown[] }) => [e.queueId, e.changes]));
    expect(changes.default).toEqual([{ path: 'rate_limits.max_dispatches_per_second', from: '5/s', to: '20/s' }]);
    expect(changes.mail).toEqual([{ path: 'retry_config.max_doublings', from: '2', to: '4' }]);
    expect(await getQueue('default')).toMatchObject({ rateLimits: { maxDispatchesPerSecond: 20, maxConcurrentDispatches: 9 }, retryConfig: { maxAttempts: 4 } });
    expect((await getQueue('mail')).retryConfig).toMatchObject({ maxDoublings: 4, maxAttempts: 8 });
  });

  it('a rate above 500/s is an error that says so and suggests sharding; nothing is applied', async () => {
    writeYaml('queue:\n- name: default\n  rate: 5/s\n- name: firehose\n  rate: 1200/s\n');
    const { code, stdout, stderr } = await sync(['apply', 'queue.yaml', '--project', 'p', '--location', 'us-central1']);
    expect(code).toBe(QueueSyncExit.UsageError);
    expect(stdout).toBe('');
    expect(stderr).toContain('cannot be applied to Cloud Tasks; nothing was changed');
    expect(stderr).toContain(`queue "firehose": rate 1200/s is 1200 dispatches per second, above Cloud Tasks' maximum of 500 per queue. Shard it: several queues (e.g. firehose-0 .. firehose-2 at 400/s each)`);
    expect((await getQueue('default')).rateLimits!.maxDispatchesPerSecond).toBe(500);
    await expect(client.getQueue({ name: server.queuePath('firehose') })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it('a target or queue id Cloud Tasks cannot take is exit 2 naming the queue', async () => {
    writeYaml('queue:\n- name: default\n  rate: 5/s\n  target: a.b.c.d\n- name: mail\n  rate: 1/s\n');
    const { code, stderr } = await sync(['plan', 'queue.yaml', '--project', 'p', '--location', 'us-central1'], env({ DEFERRED_CLOUD_TASKS_QUEUES: 'mail=bad_id' }));
    expect(code).toBe(QueueSyncExit.UsageError);
    expect(stderr).toContain('queue "default": target must be "service", "version.service" or "instance.version.service", got "a.b.c.d".');
    expect(stderr).toContain('queue "mail": Queue "mail" maps to the Cloud Tasks queue id "bad_id"');
  });

  it('maps queue.yaml names through the shim\'s queuePrefix', async () => {
    writeYaml('queue:\n- name: mail\n  rate: 1/s\n');
    const { code } = await sync(['apply', 'queue.yaml', '--project', 'p', '--location', 'us-central1'], env({ DEFERRED_CLOUD_TASKS_QUEUE_PREFIX: 'app-' }));
    expect(code).toBe(0);
    expect((await getQueue('app-mail')).rateLimits!.maxDispatchesPerSecond).toBe(1);
  });
});

describe('bad input and an unreachable service', () => {
  it('a malformed queue.yaml is exit 2 with line and column', async () => {
    writeYaml('queue:\n- name: default\n  rate: fast\n');
    const { code, stderr } = await sync(['plan', 'queue.yaml', '--project', 'p', '--location', 'us-central1']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/queue\.yaml:3:9: queue\[0\]\.rate: must be N\/s/);
  });

  it('no project or location is exit 2 naming the flags and variables', async () => {
    writeYaml(QUEUE_YAML);
    const { code, stderr } = await sync(['plan', 'queue.yaml']);
    expect(code).toBe(2);
    expect(stderr).toContain('queues plan needs --project (or DEFERRED_CLOUD_TASKS_PROJECT, GOOGLE_CLOUD_PROJECT) and --location (or DEFERRED_CLOUD_TASKS_LOCATION).');
  });

  it('an unknown flag is exit 2', async () => {
    expect((await sync(['plan', 'queue.yaml', '--bogus'])).code).toBe(2);
  });

  it('an unreachable Cloud Tasks is exit 7 and nothing applied', async () => {
    writeYaml(QUEUE_YAML);
    const closed = server.port;
    await client.close();
    await server.close();
    const started = Date.now();
    const { code, stderr } = await sync(['apply', 'queue.yaml', '--project', 'p', '--location', 'us-central1', '--timeout', '1'], env({ DEFERRED_CLOUD_TASKS_ENDPOINT: `127.0.0.1:${closed}` }));
    expect(code).toBe(QueueSyncExit.CloudTasksError);
    expect(Date.now() - started).toBeLessThan(15_000); // --timeout bounds the call and its retries
    expect(stderr).toMatch(/ListQueues projects\/p\/locations\/us-central1 failed/);
    // afterEach closes them again: restart so that works.
    server = await new CloudTasksTestServer({ project: 'p', location: 'us-central1', queues: [] }).start();
    client = new CloudTasksClient({ ...server.endpoint, sslCreds: grpc.credentials.createInsecure(), universeDomain: 'googleapis.com' });
  });
});

describe('the built CLI', () => {
  it('deferred-migrate queues apply, then plan: exit 0, queues created, nothing left to change', async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\``);
    writeYaml(QUEUE_YAML);
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env() };
        delete childEnv.FORCE_COLOR;
        execFile(process.execPath, [CLI, ...args], { cwd: dir, env: childEnv, encoding: 'utf8' }, (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
        );
      });
    const applied = await run(['queues', 'apply', 'queue.yaml', '--project', 'p', '--location', 'us-central1']);
    expect(applied).toMatchObject({ code: 0, stderr: '' });
    expect(applied.stdout).toContain('Applied: 3 queues changed.');
    expect((await getQueue('mail')).retryConfig!.maxAttempts).toBe(8);
    const plan = await run(['queues', 'plan', 'queue.yaml', '--project', 'p', '--location', 'us-central1']);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('Plan: 0 to create, 0 to update, 3 unchanged, 1 skipped, 1 not in the file.');
    const help = await run(['queues', 'plan', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--location');
    expect(help.stdout).toContain('Exit codes:');
  });
});
