// The legacy reference runtime (fixtures/legacy-runtime) behaves as the Python 2
// deferred library and webapp did: the "before" side of every e2e test relies on it.
import { spawn } from 'node:child_process';
import type * as http from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { inject } from 'light-my-request';
import { register } from 'tsx/cjs/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import deferredDefault, * as deferred from '../../fixtures/legacy-runtime/google/appengine/ext/deferred/index.js';
import {
  BadTransactionStateError,
  InvalidEtaError,
  InvalidTaskError,
  InvalidTaskNameError,
  InvalidUrlError,
  TaskAlreadyExistsError,
  TaskTooLargeError,
} from '../../fixtures/legacy-runtime/google/appengine/api/taskqueue/index.js';
import { RequestHandler, WSGIApplication } from '../../fixtures/legacy-runtime/google/appengine/ext/webapp/index.js';
import { runtimeState } from '../../fixtures/legacy-runtime/google/appengine/runtime/state.js';
import { request } from './support/http.js';
import { captureLegacyLogs, legacyQueue } from './support/legacy.js';
import { FIXTURES } from './support/workspace.js';

const calls: unknown[][] = [];
function record(...args: unknown[]): void {
  calls.push(args);
}
let attemptsBeforeSuccess = 0;
function flaky(label: string): void {
  if (attemptsBeforeSuccess-- > 0) throw new deferred.SingularTaskFailure(`not yet: ${label}`);
  calls.push([label]);
}
function hopeless(): void {
  throw new deferred.PermanentTaskFailure('never going to work');
}
function broken(): void {
  throw new Error('boom');
}
async function slowRecord(value: number): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  calls.push([value]);
}

class RecordingHandler extends deferred.TaskHandler {
  override runFromRequest(): unknown {
    calls.push(['custom handler', this.request.path]);
    return super.runFromRequest();
  }
}

const tasksApp = new WSGIApplication([
  ['/_ah/queue/deferred', deferred.TaskHandler],
  ['/custom/(\\w+)', RecordingHandler],
]);

let logs: ReturnType<typeof captureLegacyLogs>;
const START = Date.UTC(2026, 0, 1);

beforeEach(() => {
  calls.length = 0;
  attemptsBeforeSuccess = 0;
  logs = captureLegacyLogs();
  legacyQueue.reset(START);
  legacyQueue.setTarget(tasksApp);
});

afterEach(() => {
  delete process.env.SERVER_SOFTWARE;
});

const payloadOf = (task: { payload: Uint8Array }) => JSON.parse(Buffer.from(task.payload).toString('utf8')) as unknown;

describe('defer', () => {
  it('enqueues a v0 payload on the default URL and queue, named like the dev server', () => {
    const task = deferred.defer(record, 'key', 10);
    expect(task).toMatchObject({ name: 'task1', queueName: 'default', url: '/_ah/queue/deferred', etaMs: START });
    expect(task.headers).toEqual({ 'Content-Type': 'application/octet-stream' });
    expect(payloadOf(task)).toEqual({ fn: 'record', args: ['key', 10] });
    expect(deferred.defer(record, 1).name).toBe('task2');
    expect(legacyQueue.queued()).toHaveLength(2);
  });

  it('reads the trailing _ options and leaves other objects as arguments', () => {
    const task = deferred.defer(record, { key: 'value' }, {
      _countdown: 60,
      _name: 'named-task',
      _queue: 'mail',
      _url: '/custom/path',
      _headers: { 'Content-Type': 'text/plain', 'X-Extra': '1' },
      _target: 'backend',
      _retry_options: { task_retry_limit: 1 },
    });
    expect(task).toMatchObject({ name: 'named-task', queueName: 'mail', url: '/custom/path', etaMs: START + 60_000 });
    expect(task.headers).toEqual({ 'Content-Type': 'text/plain', 'X-Extra': '1', Host: 'backend.localhost' });
    expect(task.retryOptions).toEqual({ task_retry_limit: 1 });
    expect(payloadOf(task)).toEqual({ fn: 'record', args: [{ key: 'value' }] });
    expect(deferred.defer(record, { _eta: new Date(START + 5_000) }).etaMs).toBe(START + 5_000);
    expect(deferred.defer(record, { _eta: START / 1000 + 7 }).etaMs).toBe(START + 7_000);
    expect(deferred.defer(record, { _url: null, _queue: 'mail' }).url).toBe('/_ah/queue/mail');
  });

  it('rejects bad options with the task queue errors and enqueues nothing', () => {
    expect(() => deferred.defer(record, { _countdown: 1, _eta: new Date() })).toThrow(InvalidTaskError);
    expect(() => deferred.defer(record, { _countdown: -1 })).toThrow(InvalidTaskError);
    expect(() => deferred.defer(record, { _countdown: 31 * 24 * 3600 })).toThrow(InvalidEtaError);
    expect(() => deferred.defer(record, { _name: 'no spaces allowed' })).toThrow(InvalidTaskNameError);
    expect(() => deferred.defer(record, { _url: 'http://elsewhere/x' })).toThrow(InvalidUrlError);
    expect(() => deferred.defer(record, { _url: '/path?query=1' })).toThrow(InvalidTaskError);
    expect(() => deferred.defer(record, { _transactional: true })).toThrow(BadTransactionStateError);
    expect(() => deferred.defer(record, { _target: 'b', _headers: { host: 'x' } })).toThrow(InvalidTaskError);
    expect(() => deferred.defer(record, { _countdonw: 60 })).toThrow(/Unknown defer\(\) option\(s\) _countdonw/);
    expect(() => deferred.defer(record, { _headers: { 'X-Count': 1 as never } })).toThrow(InvalidTaskError);
    expect(() => deferred.defer(record, 'x'.repeat(200 * 1024))).toThrow(TaskTooLargeError);
    expect(legacyQueue.queued()).toEqual([]);
  });

  it('refuses a second task with a used name, even after the first ran', async () => {
    deferred.defer(record, 1, { _name: 'once' });
    expect(() => deferred.defer(record, 2, { _name: 'once' })).toThrow(TaskAlreadyExistsError);
    await legacyQueue.drain();
    expect(() => deferred.defer(record, 3, { _name: 'once' })).toThrow(TaskAlreadyExistsError);
    expect(deferred.defer(record, 4, { _name: 'once', _queue: 'other' }).name).toBe('once');
  });

  it('refuses what a v0 payload cannot name or carry', () => {
    expect(() => deferred.defer(() => undefined)).toThrow(/anonymous function/);
    expect(() => deferred.defer(record.bind(null))).toThrow(/"bound record"/);
    expect(() => deferred.defer('record' as never)).toThrow('obj must be callable');
    const impostor = { record(): void {} }.record;
    expect(() => deferred.defer(impostor)).toThrow(/Two different functions are named "record"/);
    expect(() => deferred.defer(record, new Date())).toThrow(/argument 0 \(Date\)/);
    expect(() => deferred.defer(record, [1, undefined])).toThrow(/argument 0\[1\] \(undefined\)/);
    expect(() => deferred.defer(record, { n: Number.NaN })).toThrow(/argument 0\.n = NaN/);
    expect(() => deferred.defer(record, new Map())).toThrow(/Map/);
    expect(legacyQueue.queued()).toEqual([]);
  });

  it('is the same API through the default export and through CommonJS require', () => {
    expect(deferredDefault.defer).toBe(deferred.defer);
    expect(deferredDefault.TaskHandler).toBe(deferred.TaskHandler);
    const unregister = register();
    try {
      const required = createRequire(import.meta.url)('../../fixtures/legacy-runtime/google/appengine/ext/deferred') as typeof deferred;
      // A second copy of the module (CommonJS next to ESM) shares the queue and the function map.
      required.defer(record, 'from require');
      expect(legacyQueue.queued().map(payloadOf)).toEqual([{ fn: 'record', args: ['from require'] }]);
      expect(required.default.run).toBe(required.run);
    } finally {
      unregister();
    }
  });
});

describe('run and serialize', () => {
  it('round-trips a call and returns what the function returns', async () => {
    expect(deferred.run(deferred.serialize(record, 'a', [1, { b: null }]))).toBeUndefined();
    expect(calls).toEqual([['a', [1, { b: null }]]]);
    await deferred.run(deferred.serialize(slowRecord, 5));
    expect(calls).toContainEqual([5]);
  });

  it('turns undecodable payloads into PermanentTaskFailure', () => {
    expect(() => deferred.run('not json')).toThrow(deferred.PermanentTaskFailure);
    expect(() => deferred.run('{"fn": 1, "args": []}')).toThrow(deferred.PermanentTaskFailure);
    expect(() => deferred.run('')).toThrow(deferred.PermanentTaskFailure);
  });

  it('fails permanently in a fresh instance that never deferred the function', () => {
    const payload = deferred.serialize(record, 'lost');
    runtimeState().functions.clear(); // what a newly started instance knows
    expect(() => deferred.run(payload)).toThrow(/function "record" is unknown in this process/);
    expect(calls).toEqual([]);
  });
});

describe('TaskHandler through the queue', () => {
  it('runs due tasks with the App Engine headers and answers 200', async () => {
    deferred.defer(record, 'first');
    deferred.defer(record, 'custom', { _url: '/custom/abc', _countdown: 10 });
    expect(await legacyQueue.drain()).toBe(1);
    expect(calls).toEqual([['first']]);
    await legacyQueue.advance(10_000);
    expect(calls).toEqual([['first'], ['custom handler', '/custom/abc'], ['custom']]);
    expect(legacyQueue.deliveries).toEqual([
      { task: 'task1', url: '/_ah/queue/deferred', status: 200 },
      { task: 'task2', url: '/custom/abc', status: 200 },
    ]);
    expect(logs.filter((line) => line.level === 'info').map((line) => line.message)[0]).toMatch(
      /x-appengine-queuename:default, x-appengine-taskname:task1, x-appengine-taskretrycount:0/,
    );
  });

  it('delivers tasks in due order at their due time', async () => {
    deferred.defer(record, 'third', { _countdown: 30 });
    deferred.defer(record, 'first', { _countdown: 10 });
    deferred.defer(record, 'second', { _countdown: 20 });
    await legacyQueue.advance(15_000);
    expect(calls).toEqual([['first']]);
    await legacyQueue.advance(60_000);
    expect(calls).toEqual([['first'], ['second'], ['third']]);
    expect(legacyQueue.now()).toBe(START + 75_000);
  });

  it('retries a SingularTaskFailure (408) with backoff and the retry headers', async () => {
    attemptsBeforeSuccess = 2;
    deferred.defer(flaky, 'eventually');
    await legacyQueue.drain();
    expect(legacyQueue.deliveries.map((d) => d.status)).toEqual([408]);
    expect(legacyQueue.queued()[0]).toMatchObject({ retryCount: 1, previousResponse: 408, etaMs: START + 100 });
    await legacyQueue.advance(1_000);
    expect(legacyQueue.deliveries.map((d) => d.status)).toEqual([408, 408, 200]);
    expect(calls).toEqual([['eventually']]);
    expect(logs.filter((line) => line.level === 'error')).toEqual([]);
  });

  it('drops a PermanentTaskFailure with 200 and an error log', async () => {
    deferred.defer(hopeless);
    await legacyQueue.advance(3_600_000);
    expect(legacyQueue.deliveries.map((d) => d.status)).toEqual([200]);
    expect(logs.filter((line) => line.level === 'error').map((line) => line.message)).toEqual([
      'Permanent failure attempting to execute task',
    ]);
  });

  it('answers 500 to other errors and stops at the task retry limit', async () => {
    deferred.defer(broken, { _retry_options: { task_retry_limit: 2 } });
    await legacyQueue.advance(3_600_000);
    expect(legacyQueue.deliveries.map((d) => d.status)).toEqual([500, 500, 500]);
    expect(legacyQueue.queued()).toEqual([]);
  });

  it('refuses requests without the task-name header, and off-queue requests in production', async () => {
    const body = deferred.serialize(record, 'forged');
    const post = (headers: Record<string, string>, remoteAddress = '127.0.0.1') =>
      inject(tasksApp as http.RequestListener, { method: 'POST', url: '/_ah/queue/deferred', headers, payload: body, remoteAddress });
    expect((await post({})).statusCode).toBe(403);
    expect((await post({ 'x-appengine-taskname': 'x' })).statusCode).toBe(200);
    process.env.SERVER_SOFTWARE = 'Google App Engine/1.9';
    expect((await post({ 'X-AppEngine-TaskName': 'y' })).statusCode).toBe(403);
    expect((await post({ 'X-AppEngine-TaskName': 'z' }, '0.1.0.2')).statusCode).toBe(200);
    expect(calls).toEqual([['forged'], ['forged']]);
  });
});

describe('WSGIApplication', () => {
  class Echo extends RequestHandler {
    get(): void {
      this.response.write(`${this.request.routeArgs.join(',')}|${this.request.get('q', 'none')}`);
    }
  }
  class Explodes extends RequestHandler {
    get(): void {
      throw new Error('handler exploded');
    }
  }
  const app = new WSGIApplication([['/echo/(\\d+)/(\\w+)', Echo], ['/explode', Explodes]], { debug: true });

  it('matches whole paths by regex, passes groups and reads parameters', async () => {
    const answer = await inject(app as http.RequestListener, { url: '/echo/12/ab?q=x' });
    expect([answer.statusCode, answer.body]).toEqual([200, '12,ab|x']);
    expect((await inject(app as http.RequestListener, { url: '/echo/12/ab/more' })).statusCode).toBe(404);
    expect((await inject(app as http.RequestListener, { url: '/echo/%E0%A4%A/x' })).statusCode).toBe(400);
  });

  it('answers 405 with Allow for a verb the handler lacks, 500 for a handler error', async () => {
    const refused = await inject(app as http.RequestListener, { method: 'POST', url: '/echo/1/a' });
    expect([refused.statusCode, refused.headers.allow]).toEqual([405, 'GET']);
    const failed = await inject(app as http.RequestListener, { url: '/explode' });
    expect(failed.statusCode).toBe(500);
    expect(failed.body).toContain('handler exploded'); // debug mode shows the stack
    expect(logs.some((line) => line.level === 'error' && String(line.error).includes('handler exploded'))).toBe(true);
  });

  it('passes unmatched requests to next() when mounted as middleware', async () => {
    let passed = false;
    await new Promise<void>((resolve) => {
      const res = { headersSent: false } as http.ServerResponse;
      app({ url: '/elsewhere', method: 'GET', headers: {} } as http.IncomingMessage, res, () => {
        passed = true;
        resolve();
      });
    });
    expect(passed).toBe(true);
  });

  it('rejects a malformed route table when built', () => {
    expect(() => new WSGIApplication([['/x', 'NotAClass' as never]])).toThrow(/Route 0 must be \[pattern, RequestHandler class\]/);
  });
});

describe('dev_appserver', () => {
  it('serves a CommonJS app with its main() and delivers its tasks on the system clock', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(FIXTURES, 'legacy-runtime/dev_appserver.ts'), join(FIXTURES, 'apps/node-http-cjs/main.js'), '0'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } },
    );
    try {
      const baseUrl = await new Promise<string>((resolve, reject) => {
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const match = /serving .* on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
          if (match?.[1]) resolve(match[1]);
        });
        child.on('exit', (code) => reject(new Error(`dev_appserver exited with ${code}: ${output}`)));
      });
      expect((await request(baseUrl, '/counter/increment')).body).toBe('Deferred counter increment.');
      // The immediate task runs within a poll or two; the others are a minute or more away.
      // (A deadline, not a count of polls: a loaded CI machine may take seconds.)
      let counter = '0';
      const giveUpAt = Date.now() + 30_000;
      while (counter === '0' && Date.now() < giveUpAt) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        counter = (await request(baseUrl, '/counter/get')).body;
      }
      expect(counter).toBe('10');
    } finally {
      child.kill();
    }
  });
});
