// Port of the upstream DeferredTest (appengine-python-standard
// tests/google/appengine/ext/deferred/deferred_test.py). Callable instances there
// become registered functions taking the instance's data; the XSRF production
// check (REMOTE_ADDR 0.1.0.2) becomes the dispatcher's signature.
import { beforeEach, describe, expect, it } from 'vitest';
import { defer } from '../../../shim/api/defer.js';
import { SingularTaskFailure } from '../../../shim/api/errors.js';
import { Handler, XSRF_NO_TASKNAME, XSRF_NOT_FROM_QUEUE } from '../../../shim/api/handler.js';
import { register } from '../../../shim/api/registry.js';
import type { Environ } from '../../../shim/api/types.js';
import type { LocalBackend } from '../../../shim/backends/local/backend.js';
import type { StoredTask } from '../../../shim/backends/local/store.js';
import { signTask } from '../../../shim/runtime/signing.js';
import { decodeEnvelope, run } from '../../../shim/serialization/envelope.js';
import { freshRuntime, recordingBackend, taskEnviron, type TestRuntime } from './helpers.js';

let rt: TestRuntime;
let calls: unknown[][];

function addTo(base: number, n: number): number {
  calls.push([base, n]);
  return base + n;
}

/** Every task in the store, due or not (claimed for 1 ms, so nothing else is disturbed). */
function queuedTasks(): StoredTask[] {
  const store = (rt.backend as LocalBackend).store;
  return store.claimDue(rt.clock.now() + 31 * 24 * 3600 * 1000, 1000, 0);
}

beforeEach(async () => {
  rt = await freshRuntime();
  calls = [];
  register(addTo);
});

describe('DeferredTest', () => {
  it('testDefer: auto names, default URL, named task, bodies run', async () => {
    const first = await defer(addTo, 4, 4);
    const second = await defer(addTo, 5, 2, { _name: 'foo', _countdown: 10 });
    const tasks = queuedTasks();
    expect(tasks.map((t) => [t.queue, t.name, t.url])).toEqual([
      ['default', 'task1', '/_ah/queue/deferred'],
      ['default', 'foo', '/_ah/queue/deferred'],
    ]);
    expect(await run(tasks[0]!.body)).toBe(8);
    expect(await run(tasks[1]!.body)).toBe(7);
    expect(first.name).toBe('task1');
    expect(second.name).toBe('foo');
    expect(second.eta.getTime()).toBe(rt.clock.now() + 10_000);
  });

  it('testDefer: _target reaches the backend', async () => {
    const backend = recordingBackend();
    await freshRuntime({ backend });
    register(addTo);
    await defer(addTo, 5, 2, { _target: 'backend' });
    expect(backend.enqueued[0]!.target).toBe('backend');
  });

  it('testDeferHeaders: user headers are sent beside the octet-stream Content-Type', async () => {
    const task = await defer(addTo, 5, 2, { _headers: { 'X-AppEngine-Fail-Fast': 'true' } });
    expect(task.name).toBe('task1');
    expect(task.url).toBe('/_ah/queue/deferred');
    expect(task.headers).toEqual({ 'Content-Type': 'application/octet-stream', 'X-AppEngine-Fail-Fast': 'true' });
    expect(await run(queuedTasks()[0]!.body)).toBe(7);
  });

  it('testDeferHeadersOverwriting: the user Content-Type wins, whatever its case', async () => {
    const task = await defer(addTo, 5, 2, { _headers: { 'content-type': 'text/plain' } });
    expect(task.headers).toEqual({ 'content-type': 'text/plain' });
    expect(await run(queuedTasks()[0]!.body)).toBe(7);
  });

  it('testHandler: post runs the task once and answers 200 Success', async () => {
    await defer(addTo, 1, 2);
    const result = await new Handler().post(taskEnviron(queuedTasks()[0]!.body));
    expect(result).toEqual(['Success', 200, { 'Content-Type': 'text/plain' }]);
    expect(calls).toEqual([[1, 2]]);
  });

  it('testHandlerWithSingularFailure: 408 then, on the same body, 200', async () => {
    const attempts: number[] = [];
    let counter = 0;
    const flaky = register(function flaky() {
      attempts.push(counter);
      if (counter++ === 0) throw new SingularTaskFailure();
    });
    await defer(flaky);
    const body = queuedTasks()[0]!.body;
    const first = await new Handler().post(taskEnviron(body));
    expect(first).toEqual(['SingularTaskFailure', 408, { 'Content-Type': 'text/plain' }]);
    expect(rt.logger.at('error')).toEqual([]);
    expect(rt.logger.at('debug').map((e) => e.message)).toContain('Failure executing task, task retry forced');
    const second = await new Handler().post(taskEnviron(body));
    expect(second[1]).toBe(200);
    expect(attempts).toEqual([0, 1]);
  });

  it('testXSRFHeaderCheckInDevAppserver', async () => {
    await defer(addTo, 1, 2);
    const body = queuedTasks()[0]!.body;
    const base: Environ = { REQUEST_METHOD: 'POST', PATH_INFO: '/', 'wsgi.input': body, CONTENT_LENGTH: String(body.length) };
    expect(await new Handler().post(base)).toEqual([XSRF_NO_TASKNAME, 403, { 'Content-Type': 'text/plain' }]);
    expect((await new Handler().post({ ...base, SERVER_SOFTWARE: 'Development/1.0' }))[1]).toBe(403);
    expect(calls).toEqual([]);
    const ok = await new Handler().post({ ...base, SERVER_SOFTWARE: 'Development/1.0', HTTP_X_APPENGINE_TASKNAME: 'x' });
    expect(ok[1]).toBe(200);
    expect(calls).toEqual([[1, 2]]);
  });

  it('testXSRFHeaderCheckInProduction: the task name and a valid signature are required', async () => {
    rt = await freshRuntime({ signingSecret: 'test-secret' });
    register(addTo);
    await defer(addTo, 1, 2);
    const body = queuedTasks()[0]!.body;
    const prod = 'Google App Engine/0.0.0';
    const base: Environ = { REQUEST_METHOD: 'POST', PATH_INFO: '/', 'wsgi.input': body, CONTENT_LENGTH: String(body.length) };
    const named = { ...base, SERVER_SOFTWARE: prod, HTTP_X_APPENGINE_TASKNAME: 'task1', HTTP_X_APPENGINE_QUEUENAME: 'default' };
    const good = signTask('test-secret', { queue: 'default', taskName: 'task1', body });
    expect((await new Handler().post(base))[1]).toBe(403);
    expect((await new Handler().post({ ...base, SERVER_SOFTWARE: prod }))[1]).toBe(403);
    expect(await new Handler().post(named)).toEqual([XSRF_NOT_FROM_QUEUE, 403, { 'Content-Type': 'text/plain' }]);
    const forged = signTask('another-secret', { queue: 'default', taskName: 'task1', body });
    expect((await new Handler().post({ ...named, HTTP_X_DEFERRED_SIGNATURE: forged }))[1]).toBe(403);
    // A valid signature for another task name, or for other bytes, proves nothing.
    expect((await new Handler().post({ ...named, HTTP_X_APPENGINE_TASKNAME: 'task2', HTTP_X_DEFERRED_SIGNATURE: good }))[1]).toBe(403);
    const otherBody = signTask('test-secret', { queue: 'default', taskName: 'task1', body: Buffer.from('{}') });
    expect((await new Handler().post({ ...named, HTTP_X_DEFERRED_SIGNATURE: otherBody }))[1]).toBe(403);
    // A missing SERVER_SOFTWARE is production (Python crashed on it).
    const { SERVER_SOFTWARE: _omit, ...noSoftware } = named;
    expect((await new Handler().post(noSoftware))[1]).toBe(403);
    expect(calls).toEqual([]);
    expect(await new Handler().post({ ...named, HTTP_X_DEFERRED_SIGNATURE: good })).toEqual(['Success', 200, { 'Content-Type': 'text/plain' }]);
    expect(calls).toEqual([[1, 2]]);
  });

  it('testOversize: the payload goes to the overflow store, runs in full, and is deleted after success', async () => {
    const big = 'x'.repeat(100 * 1024);
    let received: string | undefined;
    const takeBig = register(function takeBig(s: string) {
      received = s;
    });
    await defer(takeBig, big);
    const tasks = queuedTasks();
    expect(tasks).toHaveLength(1);
    const envelope = decodeEnvelope(tasks[0]!.body);
    expect(envelope.kind).toBe('overflow');
    const key = (envelope as { key: string }).key;
    expect(tasks[0]!.overflowKey).toBe(key);
    expect(await rt.backend.overflow.get(key)).toBeDefined();
    expect((await new Handler().post(taskEnviron(tasks[0]!.body)))[1]).toBe(200);
    expect(received).toBe(big);
    expect(await rt.backend.overflow.get(key)).toBeUndefined();
  });
});
