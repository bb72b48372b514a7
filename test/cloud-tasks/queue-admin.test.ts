// The queue admin RPCs of the test Cloud Tasks server, driven by the real
// @google-cloud/tasks client: resource names, defaults, update masks, output-only
// fields, limits, pause/resume/purge, and RunTask, as cloudtasks.proto and
// queue.proto document them.
import * as grpc from '@grpc/grpc-js';
import { CloudTasksClient } from '@google-cloud/tasks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listen, type Listening } from '../support/listen.js';
import { CloudTasksTestServer, givesUp } from './server/cloud-tasks-server.js';
import { DEFAULT_RETRY } from './server/queues.js';

let statuses: number[] = [];
let app: Listening;
let server: CloudTasksTestServer;
let client: CloudTasksClient;
const parent = () => server.locationPath;
const queueName = (id: string) => server.queuePath(id);

beforeEach(async () => {
  statuses = [];
  app = await listen((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    res.statusCode = statuses.shift() ?? 200;
    res.end();
  });
  server = await new CloudTasksTestServer({
    project: 'p',
    location: 'us-central1',
    queues: { default: {}, legacy: { maxDispatchesPerSecond: 5, maxBurstSize: 20 } },
    appEngineServices: { default: app.baseUrl },
  }).start();
  client = new CloudTasksClient({ ...server.endpoint, sslCreds: grpc.credentials.createInsecure(), universeDomain: 'googleapis.com' });
});
afterEach(async () => {
  await client.close();
  await server.close();
  await app.close();
});

const task = (extra: Record<string, unknown> = {}) => ({ appEngineHttpRequest: { relativeUri: '/work', body: Buffer.from('x') }, ...extra });

describe('CreateQueue and GetQueue', () => {
  it('creates a queue with the given settings and service defaults for the rest', async () => {
    const [created] = await client.createQueue({
      parent: parent(),
      queue: {
        name: queueName('mail'),
        rateLimits: { maxDispatchesPerSecond: 10, maxBurstSize: 400 },
        retryConfig: { maxAttempts: 4, minBackoff: { seconds: 2 } },
        appEngineRoutingOverride: { service: 'worker' },
      },
    });
    expect(created).toMatchObject({
      name: 'projects/p/locations/us-central1/queues/mail',
      state: 'RUNNING',
      appEngineRoutingOverride: { service: 'worker' },
      // max_burst_size is output only: the 400 sent is ignored, the service picks one from the rate.
      rateLimits: { maxDispatchesPerSecond: 10, maxConcurrentDispatches: 1000, maxBurstSize: 10 },
      retryConfig: { maxAttempts: 4, minBackoff: { seconds: '2' }, maxBackoff: { seconds: '3600' }, maxDoublings: 16 },
    });
    const [got] = await client.getQueue({ name: queueName('mail') });
    expect(got).toEqual(created);
  });

  it.each([
    ['an existing queue', { name: 'projects/p/locations/us-central1/queues/default' }, grpc.status.ALREADY_EXISTS],
    ['a malformed queue id', { name: 'projects/p/locations/us-central1/queues/has_underscore' }, grpc.status.INVALID_ARGUMENT],
    ['a name outside the parent', { name: 'projects/p/locations/europe-west1/queues/x' }, grpc.status.INVALID_ARGUMENT],
    ['no name', {}, grpc.status.INVALID_ARGUMENT],
    ['a rate above 500/s', { name: 'projects/p/locations/us-central1/queues/fast', rateLimits: { maxDispatchesPerSecond: 501 } }, grpc.status.INVALID_ARGUMENT],
    ['more than 5000 concurrent dispatches', { name: 'projects/p/locations/us-central1/queues/wide', rateLimits: { maxConcurrentDispatches: 5001 } }, grpc.status.INVALID_ARGUMENT],
    ['max_attempts below -1', { name: 'projects/p/locations/us-central1/queues/neg', retryConfig: { maxAttempts: -2 } }, grpc.status.INVALID_ARGUMENT],
    ['min_backoff above max_backoff', { name: 'projects/p/locations/us-central1/queues/bo', retryConfig: { minBackoff: { seconds: 20 }, maxBackoff: { seconds: 10 } } }, grpc.status.INVALID_ARGUMENT],
  ])('refuses %s', async (_label, queue, code) => {
    await expect(client.createQueue({ parent: parent(), queue })).rejects.toMatchObject({ code });
  });

  it('answers NOT_FOUND for another location or an unknown queue, INVALID_ARGUMENT for a malformed name', async () => {
    await expect(client.createQueue({ parent: 'projects/p/locations/asia-east1', queue: { name: 'projects/p/locations/asia-east1/queues/x' } })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(client.getQueue({ name: queueName('nope') })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(client.getQueue({ name: 'queues/default' })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });
});

describe('ListQueues', () => {
  it('lists in lexicographic order, in pages, filtered by state', async () => {
    for (const id of ['c', 'a', 'b']) await client.createQueue({ parent: parent(), queue: { name: queueName(id) } });
    const [all] = await client.listQueues({ parent: parent() });
    expect(all.map((q) => q.name!.split('/').pop())).toEqual(['a', 'b', 'c', 'default', 'legacy']);
    const [page, , response] = await client.listQueues({ parent: parent(), pageSize: 2 }, { autoPaginate: false });
    expect(page.map((q) => q.name!.split('/').pop())).toEqual(['a', 'b']);
    expect(response?.nextPageToken).toBeTruthy();
    await client.pauseQueue({ name: queueName('b') });
    const [paused] = await client.listQueues({ parent: parent(), filter: 'state: PAUSED' });
    expect(paused.map((q) => q.name)).toEqual([queueName('b')]);
    await expect(client.listQueues({ parent: 'projects/other/locations/us-central1' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });
});

describe('UpdateQueue', () => {
  it('changes only the fields in the update mask', async () => {
    const [updated] = await client.updateQueue({
      queue: { name: queueName('default'), rateLimits: { maxDispatchesPerSecond: 20, maxConcurrentDispatches: 7 }, retryConfig: { maxAttempts: 3, maxDoublings: 1 } },
      updateMask: { paths: ['rate_limits.max_dispatches_per_second', 'retry_config.max_attempts'] },
    });
    expect(updated).toMatchObject({ rateLimits: { maxDispatchesPerSecond: 20, maxConcurrentDispatches: 1000 }, retryConfig: { maxAttempts: 3, maxDoublings: 16 } });
  });

  it('a message path covers its fields; an empty mask updates every field (unset ones back to the defaults)', async () => {
    await client.updateQueue({ queue: { name: queueName('default'), retryConfig: { maxAttempts: 5, maxDoublings: 2 } }, updateMask: { paths: ['retry_config'] } });
    const [got] = await client.getQueue({ name: queueName('default') });
    expect(got.retryConfig).toMatchObject({ maxAttempts: 5, maxDoublings: 2, maxBackoff: { seconds: '3600' } });
    const [all] = await client.updateQueue({ queue: { name: queueName('default'), rateLimits: { maxConcurrentDispatches: 3 } } });
    expect(all).toMatchObject({ rateLimits: { maxConcurrentDispatches: 3, maxDispatchesPerSecond: 500 }, retryConfig: { maxAttempts: DEFAULT_RETRY.maxAttempts, maxDoublings: 16 } });
  });

  it('creates the queue when it does not exist', async () => {
    const [made] = await client.updateQueue({ queue: { name: queueName('fresh'), rateLimits: { maxDispatchesPerSecond: 2 } }, updateMask: { paths: ['rate_limits.max_dispatches_per_second'] } });
    expect(made).toMatchObject({ name: queueName('fresh'), state: 'RUNNING', rateLimits: { maxDispatchesPerSecond: 2 } });
  });

  it('resets a queue.yaml queue\'s max_burst_size from the rate, whatever the mask', async () => {
    expect((await client.getQueue({ name: queueName('legacy') }))[0].rateLimits).toMatchObject({ maxDispatchesPerSecond: 5, maxBurstSize: 20 });
    const [updated] = await client.updateQueue({ queue: { name: queueName('legacy'), retryConfig: { maxAttempts: 2 } }, updateMask: { paths: ['retry_config.max_attempts'] } });
    expect(updated.rateLimits).toMatchObject({ maxDispatchesPerSecond: 5, maxBurstSize: 5 });
  });

  it('ignores output-only paths and refuses unknown ones, the name, and values over the limits', async () => {
    const [same] = await client.updateQueue({ queue: { name: queueName('default'), state: 'PAUSED' }, updateMask: { paths: ['state'] } });
    expect(same.state).toBe('RUNNING');
    await expect(client.updateQueue({ queue: { name: queueName('default') }, updateMask: { paths: ['rate_limits.bogus'] } })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    await expect(client.updateQueue({ queue: { name: queueName('default') }, updateMask: { paths: ['name'] } })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    const fast = client.updateQueue({ queue: { name: queueName('default'), rateLimits: { maxDispatchesPerSecond: 600 } }, updateMask: { paths: ['rate_limits.max_dispatches_per_second'] } });
    await expect(fast).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining('max_dispatches_per_second must be in [0, 500]') });
    await expect(client.updateQueue({ queue: {} })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });
});

describe('PauseQueue, ResumeQueue, PurgeQueue', () => {
  it('a paused queue accepts tasks and dispatches none until resumed', async () => {
    const [paused] = await client.pauseQueue({ name: queueName('default') });
    expect(paused.state).toBe('PAUSED');
    await client.createTask({ parent: queueName('default'), task: task() });
    expect(await server.advance(60_000)).toBe(0);
    expect(server.deliveries).toHaveLength(0);
    expect((await client.resumeQueue({ name: queueName('default') }))[0].state).toBe('RUNNING');
    expect(await server.advance(0)).toBe(1);
    expect(server.deliveries.map((d) => d.status)).toEqual([200]);
  });

  it('purge deletes every task of the queue, records the purge time, and keeps the names taken', async () => {
    await client.createTask({ parent: queueName('default'), task: task({ name: `${queueName('default')}/tasks/one` }) });
    await client.createTask({ parent: queueName('default'), task: task() });
    await client.createTask({ parent: queueName('legacy'), task: task() });
    const [purged] = await client.purgeQueue({ name: queueName('default') });
    expect(Number(purged.purgeTime!.seconds) * 1000).toBe(server.clock.now());
    expect(server.queued('default')).toEqual([]);
    expect(server.queued('legacy')).toHaveLength(1);
    await expect(client.createTask({ parent: queueName('default'), task: task({ name: `${queueName('default')}/tasks/one` }) })).rejects.toMatchObject({ code: grpc.status.ALREADY_EXISTS });
    await expect(client.purgeQueue({ name: queueName('nope') })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });
});

describe('RunTask', () => {
  it('dispatches at once, even in a paused queue; a failure reschedules with the backoff and is kept in lastAttempt', async () => {
    await client.updateQueue({ queue: { name: queueName('default'), retryConfig: { minBackoff: { seconds: 10 } } }, updateMask: { paths: ['retry_config.min_backoff'] } });
    await client.pauseQueue({ name: queueName('default') });
    const later = { seconds: Math.floor(server.clock.now() / 1000) + 3600 };
    const [created] = await client.createTask({ parent: queueName('default'), task: task({ scheduleTime: later }) });
    statuses = [500];
    const [running] = await client.runTask({ name: created.name! });
    expect(running.dispatchCount).toBe(1);
    await server.settled();
    const [after] = await client.getTask({ name: created.name! });
    expect(after).toMatchObject({ dispatchCount: 1, responseCount: 1, lastAttempt: { responseStatus: { code: grpc.status.INTERNAL } }, firstAttempt: { dispatchTime: {} } });
    expect(Number(after.scheduleTime!.seconds) * 1000).toBe(server.clock.now() + 10_000);
    await client.runTask({ name: created.name! });
    await server.settled();
    await expect(client.getTask({ name: created.name! })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(client.runTask({ name: created.name! })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });
});

it('retrying stops when both max_attempts and max_retry_duration are reached', () => {
  const retry = { ...DEFAULT_RETRY, maxAttempts: 3, maxRetryDurationMs: 60_000 };
  expect(givesUp(retry, 3, 59_999)).toBe(false);
  expect(givesUp(retry, 2, 60_000)).toBe(false);
  expect(givesUp(retry, 3, 60_000)).toBe(true);
  expect(givesUp({ ...retry, maxRetryDurationMs: 0 }, 3, 0)).toBe(true);
  expect(givesUp({ ...retry, maxAttempts: -1 }, 1000, 60_000)).toBe(true);
  expect(givesUp({ ...retry, maxAttempts: -1, maxRetryDurationMs: 0 }, 1000, 1e9)).toBe(false);
});

describe('the REST mapping (the client with fallback: rest)', () => {
  it('serves the queue admin RPCs and RunTask as HTTP/1.1 JSON, update masks in their JSON form', async () => {
    const rest = new CloudTasksClient({
      apiEndpoint: '127.0.0.1',
      port: server.restPort,
      fallback: 'rest',
      protocol: 'http',
      universeDomain: 'googleapis.com',
      authClient: { universeDomain: 'googleapis.com', getRequestHeaders: async () => new Headers(), fetch: (url: string, init: RequestInit) => fetch(url, init) },
    } as ConstructorParameters<typeof CloudTasksClient>[0]);
    try {
      const [created] = await rest.createQueue({ parent: parent(), queue: { name: queueName('viarest'), rateLimits: { maxDispatchesPerSecond: 3 }, retryConfig: { minBackoff: { seconds: 4 } } } });
      expect(created).toMatchObject({ name: queueName('viarest'), rateLimits: { maxDispatchesPerSecond: 3 }, state: 'RUNNING' });
      const [updated] = await rest.updateQueue({
        queue: { name: queueName('viarest'), rateLimits: { maxDispatchesPerSecond: 7, maxConcurrentDispatches: 2 }, retryConfig: { maxDoublings: 1 } },
        updateMask: { paths: ['rate_limits.max_dispatches_per_second', 'retry_config.max_doublings'] },
      });
      expect(updated).toMatchObject({ rateLimits: { maxDispatchesPerSecond: 7, maxConcurrentDispatches: 1000 }, retryConfig: { maxDoublings: 1, minBackoff: { seconds: '4' } } });
      expect((await rest.pauseQueue({ name: queueName('viarest') }))[0].state).toBe('PAUSED');
      const [queues] = await rest.listQueues({ parent: parent(), filter: 'state: PAUSED' });
      expect(queues.map((q) => q.name)).toEqual([queueName('viarest')]);
      expect((await rest.resumeQueue({ name: queueName('viarest') }))[0].state).toBe('RUNNING');
      const [made] = await rest.createTask({ parent: queueName('viarest'), task: task() });
      const [ran] = await rest.runTask({ name: made.name! });
      expect(ran.dispatchCount).toBe(1);
      await server.settled();
      expect(server.deliveries.map((d) => d.status)).toEqual([200]);
      await rest.createTask({ parent: queueName('viarest'), task: task() });
      await rest.purgeQueue({ name: queueName('viarest') });
      expect(server.queued('viarest')).toEqual([]);
      await expect(rest.createQueue({ parent: parent(), queue: { name: queueName('viarest') } })).rejects.toMatchObject({ code: grpc.status.ALREADY_EXISTS });
    } finally {
      await rest.close();
    }
  });
});
