// Hostile requests to the task endpoint, over real loopback HTTP, against a
// wrapped Express app (built-in path and a custom task route) and a wrapped
// plain Node listener, in production mode, in a child process. Each request gets
// the documented status (docs/shim-api.md: 403 not from the queue, 405 other
// methods, 413 too large, 200 PermanentTaskFailure for what can never run), the
// task function runs only for correctly signed requests, the process never
// crashes, and no prototype is polluted.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signTask } from '../../shim/runtime/signing.js';
import { encodeCall } from '../../shim/serialization/envelope.js';
import { scaled } from './support/scale.js';
import { rawStatus, startTarget, type TargetProcess } from './support/target-process.js';

const SECRET = randomBytes(32).toString('base64url');
const MAX_BODY = 64 * 1024;
const DEFERRED = '/_ah/queue/deferred';
const SLOW_CONNECTIONS = scaled(20, 200);

let target: TargetProcess;
/** Ids of the probe calls the suite expects, in any order: only signed, valid requests add one. */
const expectedRuns: string[] = [];

interface Endpoint {
  label: string;
  port: () => number;
  path: string;
}
const ENDPOINTS: Endpoint[] = [
  { label: 'Express, built-in path', port: () => target.ports.express, path: DEFERRED },
  { label: 'Express, custom task route', port: () => target.ports.express, path: '/custom-task' },
  { label: 'plain Node listener', port: () => target.ports.node, path: DEFERRED },
];

function taskHeaders(body: Uint8Array, options: { queue?: string; name?: string; secret?: string; signedBody?: Uint8Array; signedQueue?: string } = {}): Record<string, string> {
  const queue = options.queue ?? 'default';
  const name = options.name ?? `t-${randomBytes(4).toString('hex')}`;
  return {
    'Content-Type': 'application/octet-stream',
    'X-AppEngine-QueueName': queue,
    'X-AppEngine-TaskName': name,
    'X-Deferred-Signature': signTask(options.secret ?? SECRET, { queue: options.signedQueue ?? queue, taskName: name, body: options.signedBody ?? body }),
  };
}

let counter = 0;
/** A valid payload of `probe(id)` and the id. */
function probePayload(extra: unknown[] = []): { id: string; body: Buffer } {
  const id = `run-${++counter}`;
  return { id, body: Buffer.from(encodeCall('probe', [id, ...extra])) };
}

function head(method: string, path: string, headers: Record<string, string>): string {
  return `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}

beforeAll(async () => {
  target = await startTarget({ backend: 'memory', signingSecret: SECRET, maxBodyBytes: MAX_BODY });
});

afterAll(async () => {
  if (!target) return;
  const alive = target.alive();
  const stats = alive ? await target.stats() : undefined;
  await target.stop();
  expect(alive, `the app process died:\n${target.stderr()}`).toBe(true);
  expect(stats!.polluted).toBe(false);
  expect([...stats!.runs].sort()).toEqual([...expectedRuns].sort());
});

describe.each(ENDPOINTS)('$label', (endpoint) => {
  it('runs a correctly signed task once (the control case)', async () => {
    const { id, body } = probePayload();
    const answer = await target.request(endpoint.port(), 'POST', endpoint.path, taskHeaders(body), body);
    expect(answer).toMatchObject({ status: 200, body: 'Success' });
    expectedRuns.push(id);
  });

  it('403s requests that do not prove they come from the queue, running nothing', async () => {
    const { body } = probePayload();
    const other = probePayload().body;
    const name = 'forged';
    const forged: Array<[string, Record<string, string>]> = [
      ['no headers', {}],
      ['task name only (development-server style)', { 'X-AppEngine-TaskName': name }],
      ['random signature', { ...taskHeaders(body), 'X-Deferred-Signature': randomBytes(32).toString('base64url') }],
      ['empty signature', { ...taskHeaders(body), 'X-Deferred-Signature': '' }],
      ['signed with another secret', taskHeaders(body, { secret: 'not-the-secret' })],
      ['signature of another body (replayed header)', taskHeaders(body, { signedBody: other })],
      ['signed for another queue', taskHeaders(body, { queue: 'default', signedQueue: 'critical' })],
      ['signature without the queue header', (({ 'X-AppEngine-QueueName': _q, ...rest }) => rest)(taskHeaders(body))],
    ];
    for (const [label, headers] of forged) {
      const answer = await target.request(endpoint.port(), 'POST', endpoint.path, headers, body);
      expect(answer.status, label).toBe(403);
      expect(answer.body, label).toMatch(/XSRF/);
    }
    // A repeated task-name header folds into "a, b": it no longer matches its signature.
    const signed = taskHeaders(body, { name: 'a' });
    const raw = await target.raw(endpoint.port(), [
      head('POST', endpoint.path, { ...signed, 'X-AppEngine-TaskName': 'a\r\nX-AppEngine-TaskName: b', 'Content-Length': String(body.length), Connection: 'close' }),
      body,
    ]);
    expect(rawStatus(raw)).toBe('403');
  });

  it('answers 200 PermanentTaskFailure to signed payloads that cannot be decoded or name no registered function', async () => {
    const bodies: Array<[string, Uint8Array]> = [
      ['empty body', Buffer.alloc(0)],
      ['not JSON', Buffer.from('definitely not json')],
      ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
      ['truncated envelope', probePayload().body.subarray(0, 12)],
      ['JSON array', Buffer.from('[1,2,3]')],
      ['no fn', Buffer.from('{"v":1,"args":[]}')],
      ['args not an array', Buffer.from('{"v":1,"fn":"probe","args":{"0":1}}')],
      ['newer envelope version', Buffer.from('{"v":99,"fn":"probe","args":[]}')],
      ['unknown type tag', Buffer.from('{"v":1,"fn":"probe","args":[{"$t":"evil","v":1}]}')],
      ['huge BigInt', Buffer.from(`{"v":1,"fn":"probe","args":[{"$t":"bigint","v":"${'9'.repeat(20_000)}"}]}`)],
      ['deep nesting', Buffer.from(`{"v":1,"fn":"probe","args":[${'['.repeat(20_000)}${']'.repeat(20_000)}]}`)],
      ['missing overflow blob', Buffer.from('{"v":1,"overflow":"__proto__"}')],
      ...['nope', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'probe '].map(
        (fn): [string, Uint8Array] => [`unregistered function ${JSON.stringify(fn)}`, Buffer.from(encodeCall(fn, [1]))],
      ),
    ];
    for (const [label, body] of bodies) {
      const answer = await target.request(endpoint.port(), 'POST', endpoint.path, taskHeaders(body), body);
      expect({ label, status: answer.status, body: answer.body }).toEqual({ label, status: 200, body: 'PermanentTaskFailure' });
    }
  });

  it('hands __proto__ and constructor keys to the function as plain data, polluting nothing', async () => {
    const hostile = JSON.parse('{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}') as unknown;
    const { id, body } = probePayload([hostile]);
    const answer = await target.request(endpoint.port(), 'POST', endpoint.path, taskHeaders(body), body);
    expect(answer).toMatchObject({ status: 200, body: 'Success' });
    expectedRuns.push(id);
    const stats = await target.stats();
    expect(stats.polluted).toBe(false);
    expect(JSON.parse(stats.lastArgs)).toEqual([id, hostile]);
    expect(stats.lastArgs).toContain('"__proto__":{"polluted":"yes"}');
  });

  it('413s a body larger than maxBodyBytes, declared or streamed, without waiting for it', async () => {
    const { body } = probePayload();
    if (endpoint.path === '/custom-task') {
      // A custom route reads through the app's own parser (Express's 413 waits for the whole body):
      // a fully sent body between maxBodyBytes and the parser's limit reaches the Handler, which refuses it.
      const big = Buffer.alloc(MAX_BODY + 1024, 0x20);
      const answer = await target.request(endpoint.port(), 'POST', endpoint.path, taskHeaders(big), big);
      expect(answer.status).toBe(413);
      return;
    }
    const declared = await target.raw(endpoint.port(), [
      head('POST', endpoint.path, { ...taskHeaders(body), 'Content-Length': String(MAX_BODY * 100), Connection: 'close' }),
      'x'.repeat(100),
    ]);
    expect(rawStatus(declared)).toBe('413');
    const chunk = Buffer.alloc(16 * 1024, 0x41);
    const chunked = await target.raw(endpoint.port(), [
      head('POST', endpoint.path, { ...taskHeaders(body), 'Transfer-Encoding': 'chunked', Connection: 'close' }),
      ...Array.from({ length: (MAX_BODY / chunk.length) * 2 }, () => Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')])),
    ], { pause: () => new Promise((resolve) => setTimeout(resolve, 5)) });
    expect(rawStatus(chunked)).toBe('413');
  });

  it('survives a body that ends before Content-Length, running nothing', async () => {
    const { body } = probePayload();
    const output = await target.raw(
      endpoint.port(),
      [head('POST', endpoint.path, { ...taskHeaders(body), 'Content-Length': String(body.length + 500) }), body],
      { endAfterWrite: true, timeoutMs: 5_000 },
    );
    // The client is gone: a 500 (retried by a real queue) or no answer at all, never a run.
    expect(['', '500', '400']).toContain(rawStatus(output));
    // Still answering on the same port.
    expect((await target.request(endpoint.port(), 'GET', '/ping')).status).toBe(endpoint.port() === target.ports.express ? 200 : 404);
  });
});

describe('other methods on the built-in task path', () => {
  it.each(ENDPOINTS.filter((endpoint) => endpoint.path === DEFERRED))('$label: 405 with Allow: POST', async (endpoint) => {
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
      const answer = await target.request(endpoint.port(), method, endpoint.path);
      expect(answer.status, method).toBe(405);
      expect(answer.headers.allow, method).toBe('POST');
    }
  });
});

describe('protocol-level abuse (Node http parser in front of the wrapper)', () => {
  it('refuses request smuggling, oversized headers and garbage with 4xx, and keeps serving', async () => {
    const { body } = probePayload();
    const port = target.ports.express;
    const smuggled = await target.raw(port, [
      head('POST', DEFERRED, { ...taskHeaders(body), 'Content-Length': '5', 'Transfer-Encoding': 'chunked', Connection: 'close' }),
      '0\r\n\r\nPOST /_ah/queue/deferred HTTP/1.1\r\n\r\n',
    ]);
    expect(rawStatus(smuggled)).toBe('400');
    const hugeHeader = await target.raw(port, [head('POST', DEFERRED, { 'X-AppEngine-TaskName': 'x'.repeat(64 * 1024), Connection: 'close' })]);
    expect(rawStatus(hugeHeader)).toBe('431');
    const garbage = await target.raw(port, [randomBytes(512)]);
    expect(['400', '']).toContain(rawStatus(garbage));
    expect((await target.request(port, 'GET', '/ping')).body).toBe('pong');
  });

  it('answers every one of a burst of unsigned requests on one keep-alive connection with 403', async () => {
    const { body } = probePayload();
    const count = scaled(100, 2_000);
    const request = head('POST', DEFERRED, { 'X-AppEngine-TaskName': 'burst', 'Content-Length': String(body.length) });
    const output = await target.raw(target.ports.node, [
      ...Array.from({ length: count }, () => Buffer.concat([Buffer.from(request), body])),
      head('GET', '/ping', { Connection: 'close' }),
    ]);
    expect(output.match(/HTTP\/1\.1 403/g)?.length).toBe(count);
  });
});

describe('slow-loris uploads', () => {
  it(`keeps answering while ${SLOW_CONNECTIONS} clients trickle bodies, then runs each completed signed task once`, async () => {
    const port = target.ports.express;
    const trickles: Array<Promise<string>> = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const ids: string[] = [];
    for (let i = 0; i < SLOW_CONNECTIONS; i += 1) {
      const { id, body } = probePayload();
      ids.push(id);
      const headerBlock = head('POST', DEFERRED, { ...taskHeaders(body), 'Content-Length': String(body.length), Connection: 'close' });
      // Header block, the first half of the body, then nothing until the gate opens, then the rest.
      const half = Math.floor(body.length / 2);
      trickles.push(target.raw(port, [headerBlock, body.subarray(0, half), body.subarray(half)], { pause: (index) => (index === 1 ? gate : Promise.resolve()), timeoutMs: 60_000 }));
    }
    // Half-sent connections that never finish: closed by the client at the end, they must run nothing.
    const abandoned = Array.from({ length: 5 }, () => {
      const { body } = probePayload();
      return target.raw(port, [head('POST', DEFERRED, { ...taskHeaders(body), 'Content-Length': String(body.length) }), body.subarray(0, 5)], { timeoutMs: 1_500 });
    });

    // While every slow upload is stuck mid-body, the app and the endpoint still answer.
    const { id, body } = probePayload();
    const during = await target.request(port, 'POST', DEFERRED, taskHeaders(body), body);
    expect(during).toMatchObject({ status: 200, body: 'Success' });
    expectedRuns.push(id);
    expect((await target.stats()).runs).not.toContain(ids[0]);

    release();
    const outputs = await Promise.all(trickles);
    expect(outputs.map(rawStatus)).toEqual(ids.map(() => '200'));
    expectedRuns.push(...ids);
    await Promise.all(abandoned);
    expect(target.alive()).toBe(true);
  });
});
