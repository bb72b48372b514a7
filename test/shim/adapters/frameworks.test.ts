// Every supported host framework, over real HTTP on loopback: the deferred path is
// answered by the Handler, everything else reaches the app untouched, and task
// bodies reach custom-URL routes with and without the framework's body parsers.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defer, getRuntime } from '../../../shim/index.js';
import { appFixtures, subclassSaw } from './apps.js';
import { calls, devTaskRequest, logs, recordTask, useMemoryRuntime, type Listening } from './support.js';

const DEFERRED = '/_ah/queue/deferred';

describe.each(appFixtures)('$name', (fixture) => {
  describe('development mode (the task-name header suffices)', () => {
    useMemoryRuntime('development');
    let server: Listening;
    beforeEach(async () => {
      subclassSaw.length = 0;
      server = await fixture.start();
    });
    afterEach(() => server.close());

    it('answers POST /_ah/queue/deferred with the Handler: 200 Success, text/plain', async () => {
      const response = await fetch(server.baseUrl + DEFERRED, devTaskRequest('default-path', 1));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await response.text()).toBe('Success');
      expect(calls).toEqual([['recordTask', 'default-path', 1]]);
    });

    it('ignores the query string of the deferred path', async () => {
      const response = await fetch(`${server.baseUrl}${DEFERRED}?x=1`, devTaskRequest('with-query', 2));
      expect(await response.text()).toBe('Success');
      expect(calls).toEqual([['recordTask', 'with-query', 2]]);
    });

    it('answers 403 without the task-name header and runs nothing', async () => {
      const { headers, body } = devTaskRequest('forged', 1);
      const response = await fetch(server.baseUrl + DEFERRED, {
        method: 'POST',
        headers: { 'Content-Type': headers['Content-Type'] },
        body,
      });
      expect(response.status).toBe(403);
      expect(await response.text()).toMatch(/X-AppEngine-Taskname/);
      expect(calls).toEqual([]);
    });

    it('answers 405 with Allow: POST to GET', async () => {
      const response = await fetch(server.baseUrl + DEFERRED);
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
      expect(calls).toEqual([]);
    });

    it('passes other routes through untouched, bodies included', async () => {
      const hello = await fetch(`${server.baseUrl}/hello`);
      expect(hello.status).toBe(200);
      expect(await hello.text()).toBe('hello');
      const echo = await fetch(`${server.baseUrl}/echo`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ nested: { list: [1, 'two'] } }),
      });
      expect(echo.status).toBe(200);
      expect(await echo.json()).toEqual({ nested: { list: [1, 'two'] } });
      // Only the exact path is intercepted: no prefix or trailing-slash match.
      const below = await fetch(`${server.baseUrl}${DEFERRED}/more`, devTaskRequest('below', 1));
      expect(below.status).toBe(404);
      expect(calls).toEqual([]);
    });

    it('runs tasks sent to a custom URL route calling new Handler().post(environFrom(request))', async () => {
      const response = await fetch(`${server.baseUrl}/custom/path`, devTaskRequest('custom', 3));
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('Success');
      expect(calls).toEqual([['recordTask', 'custom', 3]]);
    });

    it('runs tasks through a Handler subclass overriding post()', async () => {
      const response = await fetch(`${server.baseUrl}/custom/subclass`, devTaskRequest('subclass', 4));
      expect(await response.text()).toBe('Success');
      expect(subclassSaw).toEqual(['/custom/subclass']);
      expect(calls).toEqual([['recordTask', 'subclass', 4]]);
    });
  });

  describe('production mode (the signature is required), tasks delivered in process', () => {
    useMemoryRuntime('production');
    let server: Listening;
    beforeEach(async () => {
      subclassSaw.length = 0;
      server = await fixture.start();
    });
    afterEach(() => server.close());

    it('delivers deferred tasks to the default path, a custom route and a subclass route', async () => {
      await defer(recordTask, 'default', 1);
      await defer(recordTask, 'custom', 2, { _url: '/custom/path' });
      await defer(recordTask, 'subclass', 3, { _url: '/custom/subclass' });
      // A task whose Content-Type makes JSON parsers read it: the signed bytes must still reach the Handler.
      await defer(recordTask, 'json-typed', 4, { _url: '/custom/path', _headers: { 'Content-Type': 'application/json' } });
      // Deliveries start as soon as each enqueue commits, so some finish before drain()
      // (which counts only what it delivered): the calls below are the check.
      await getRuntime().drain();
      expect(calls).toEqual(
        expect.arrayContaining([
          ['recordTask', 'default', 1],
          ['recordTask', 'custom', 2],
          ['recordTask', 'subclass', 3],
          ['recordTask', 'json-typed', 4],
        ]),
      );
      expect(calls).toHaveLength(4);
      expect(subclassSaw).toEqual(['/custom/subclass']);
      expect(logs.filter((entry) => entry.level === 'error')).toEqual([]);
    });

    it('refuses a task request without the queue signature (403, nothing runs)', async () => {
      for (const path of [DEFERRED, '/custom/path']) {
        const response = await fetch(server.baseUrl + path, devTaskRequest('forged', 1));
        expect(response.status).toBe(403);
        expect(await response.text()).toMatch(/did not originate from Task Queue/);
      }
      expect(calls).toEqual([]);
    });
  });
});
