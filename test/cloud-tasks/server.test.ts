// The test Cloud Tasks server itself, driven by the real @google-cloud/tasks client:
// the RPCs the backend does not use on its hot path, the service's validation rules,
// and the dispatcher's headers, retries and give-up.
import * as grpc from '@grpc/grpc-js';
import { CloudTasksClient } from '@google-cloud/tasks';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backoffMs, CloudTasksTestServer, DEFAULT_RETRY } from './server/cloud-tasks-server.js';

let statuses: number[] = [];
let app: Server;
let server: CloudTasksTestServer;
let client: CloudTasksClient;
const parent = () => server.queuePath('default');

beforeAll(async () => {
  app = createServer((req, res) => {
    req.resume();
    res.statusCode = statuses.shift() ?? 200;
    res.end();
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  server = await new CloudTasksTestServer({
    project: 'p',
    location: 'l',
    queues: { default: { maxAttempts: 3, minBackoffMs: 1000, maxBackoffMs: 10_000, maxDoublings: 2 } },
    appEngineServices: { default: `http://127.0.0.1:${(app.address() as AddressInfo).port}` },
  }).start();
  client = new CloudTasksClient({ ...server.endpoint, sslCreds: grpc.credentials.createInsecure(), universeDomain: 'googleapis.com' });
});
afterAll(async () => {
  await client.close();
  await server.close();
  await new Promise<void>((resolve) => app.close(() => resolve()));
});

const appEngineTask = (extra: Record<string, unknown> = {}) => ({ appEngineHttpRequest: { relativeUri: '/work', body: Buffer.from('payload') }, ...extra });

describe('RPCs', () => {
  it('GetTask, ListTasks (paged) and DeleteTask; a deleted name stays taken', async () => {
    const later = { seconds: Math.floor(server.clock.now() / 1000) + 3600 };
    const [a] = await client.createTask({ parent: parent(), task: appEngineTask({ name: `${parent()}/tasks/a`, scheduleTime: later }) });
    await client.createTask({ parent: parent(), task: appEngineTask({ scheduleTime: later }) });
    const [got] = await client.getTask({ name: a.name!, responseView: 'FULL' });
    expect(Buffer.from(got.appEngineHttpRequest!.body as Uint8Array).toString()).toBe('payload');
    const [basic] = await client.getTask({ name: a.name! });
    expect(basic.appEngineHttpRequest!.body).toHaveLength(0);
    const [page1, , response] = await client.listTasks({ parent: parent(), pageSize: 1 }, { autoPaginate: false });
    expect(page1).toHaveLength(1);
    expect(response?.nextPageToken).toBeTruthy();
    expect(await client.listTasks({ parent: parent() }).then(([all]) => all.length)).toBe(2);
    await client.deleteTask({ name: a.name! });
    await expect(client.getTask({ name: a.name! })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(client.createTask({ parent: parent(), task: appEngineTask({ name: a.name }) })).rejects.toMatchObject({ code: grpc.status.ALREADY_EXISTS });
    for (const name of server.queued()) await client.deleteTask({ name });
  });

  it('GetQueue returns the retry config; unknown queues are NOT_FOUND', async () => {
    const [queue] = await client.getQueue({ name: parent() });
    expect(queue).toMatchObject({ name: parent(), state: 'RUNNING', retryConfig: { maxAttempts: 3, maxDoublings: 2 } });
    await expect(client.getQueue({ name: server.queuePath('nope') })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it.each([
    ['a malformed task id', appEngineTask({ name: 'projects/p/locations/l/queues/default/tasks/has space' })],
    ['a name in another queue', appEngineTask({ name: 'projects/p/locations/l/queues/other/tasks/x' })],
    ['no target', {}],
    ['a relative HTTP URL', { httpRequest: { url: '/work' } }],
    ['a schedule time more than 30 days ahead', appEngineTask({ scheduleTime: { seconds: Math.floor(Date.UTC(2026, 1, 15) / 1000) } })],
  ])('rejects %s with INVALID_ARGUMENT', async (_label, task) => {
    await expect(client.createTask({ parent: parent(), task })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });
});

describe('dispatcher', () => {
  it('sends the App Engine task headers, drops user X-AppEngine-* headers, retries with backoff and gives up after maxAttempts', async () => {
    statuses = [503, 500, 500];
    const before = server.deliveries.length;
    await client.createTask({ parent: parent(), task: { appEngineHttpRequest: { relativeUri: '/work', headers: { 'X-AppEngine-TaskName': 'forged', 'X-Custom': '1' }, body: Buffer.from('b') } } });
    await server.advance(0);
    await server.advance(999);
    expect(server.deliveries.length - before).toBe(1);
    await server.advance(1);
    await server.advance(2000);
    const mine = server.deliveries.slice(before);
    expect(mine.map((d) => d.status)).toEqual([503, 500, 500]);
    expect(server.queued()).toEqual([]);
    const [first, second] = mine;
    expect(first!.headers).toMatchObject({ 'X-AppEngine-QueueName': 'default', 'X-AppEngine-TaskRetryCount': '0', 'X-AppEngine-TaskExecutionCount': '0', 'X-Custom': '1' });
    expect(first!.headers['X-AppEngine-TaskName']).not.toBe('forged');
    expect(first!.headers['X-AppEngine-TaskPreviousResponse']).toBeUndefined();
    expect(first!.headers['X-AppEngine-TaskETA']).toMatch(/^\d+\.\d{6}$/);
    expect(second!.headers).toMatchObject({ 'X-AppEngine-TaskRetryCount': '1', 'X-AppEngine-TaskExecutionCount': '1', 'X-AppEngine-TaskPreviousResponse': '503' });
  });

  it('backoff doubles max_doublings times, then grows linearly, capped at max_backoff', () => {
    const retry = { ...DEFAULT_RETRY, minBackoffMs: 10_000, maxBackoffMs: 300_000, maxDoublings: 3 };
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffMs(retry, n) / 1000)).toEqual([10, 20, 40, 80, 160, 240, 300, 300]);
  });
});
