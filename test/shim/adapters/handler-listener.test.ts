// A Handler instance is itself a Node request listener, as the Python Handler
// instance is a WSGI app: served directly by node:http, no framework, no wrapApp.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Handler } from '../../../shim/index.js';
import { calls, devTaskRequest, listen, useMemoryRuntime, type Listening } from './support.js';

describe('http.createServer(new Handler())', () => {
  useMemoryRuntime('development');
  let server: Listening;
  beforeEach(async () => {
    server = await listen(new Handler());
  });
  afterEach(() => server.close());

  it('runs a task POSTed to any path', async () => {
    const response = await fetch(`${server.baseUrl}/any/path`, devTaskRequest('listener', 1));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('Success');
    expect(calls).toEqual([['recordTask', 'listener', 1]]);
  });

  it('answers other methods with 405 and Allow: POST', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const response = await fetch(`${server.baseUrl}/any/path`, { method });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
    }
    expect(calls).toEqual([]);
  });

  it('answers a request without the task-name header with 403', async () => {
    const response = await fetch(`${server.baseUrl}/`, { method: 'POST', body: devTaskRequest('x', 1).body });
    expect(response.status).toBe(403);
    expect(calls).toEqual([]);
  });
});
