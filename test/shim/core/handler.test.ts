// Handler: the status table, body reading, overflow cleanup, subclasses, and
// the instance as a Node request listener.
import { createServer } from 'node:http';
import { Readable } from 'node:stream';
import inject from 'light-my-request';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { defer } from '../../../shim/api/defer.js';
import { PermanentTaskFailure, SingularTaskFailure } from '../../../shim/api/errors.js';
import { Handler } from '../../../shim/api/handler.js';
import { register } from '../../../shim/api/registry.js';
import type { Environ, HandlerResult, TaskContext } from '../../../shim/api/types.js';
import type { LocalBackend } from '../../../shim/backends/local/backend.js';
import { getTaskContext, taskContextStorage } from '../../../shim/runtime/context.js';
import { configure, drain } from '../../../shim/runtime/runtime.js';
import { encodeCall, encodeOverflow, serialize } from '../../../shim/serialization/envelope.js';
import { deliverTo, freshRuntime, taskEnviron, type TestRuntime } from './helpers.js';

const TEXT = { 'Content-Type': 'text/plain' };
let rt: TestRuntime;
let calls: unknown[][];
let behaviour: (...args: unknown[]) => unknown;

function work(...args: unknown[]): unknown {
  calls.push(args);
  return behaviour(...args);
}

beforeEach(async () => {
  rt = await freshRuntime();
  calls = [];
  behaviour = () => 'ok';
  register(work);
});

const post = (body: Uint8Array | string, overrides: Partial<Environ> = {}) =>
  new Handler().post(taskEnviron(typeof body === 'string' ? Buffer.from(body) : body, overrides));

describe('status table', () => {
  it('200 Success for sync and async functions', async () => {
    expect(await post(serialize(work, 1))).toEqual(['Success', 200, TEXT]);
    behaviour = async () => 'later';
    expect(await post(serialize(work, 2))).toEqual(['Success', 200, TEXT]);
    expect(calls).toEqual([[1], [2]]);
  });

  it('200 PermanentTaskFailure when the function raises it, logged at error with the stack', async () => {
    behaviour = () => {
      throw new PermanentTaskFailure('bad input');
    };
    expect(await post(serialize(work))).toEqual(['PermanentTaskFailure', 200, TEXT]);
    const [entry] = rt.logger.at('error');
    expect(entry!.message).toBe('Permanent failure attempting to execute task');
    expect((entry!.fields!.error as Error).stack).toMatch(/bad input/);
  });

  it.each([
    ['an empty body', ''],
    ['bytes that are not UTF-8 JSON', Buffer.from([0xff, 0xfe, 0x00])],
    ['JSON that is not an envelope', '[1,2]'],
    ['a malformed v1 envelope', '{"v":1,"fn":"work"}'],
    ['an envelope from a newer release', '{"v":2,"fn":"work","args":[]}'],
    ['a bad type tag', '{"v":1,"fn":"work","args":[{"$t":"weird"}]}'],
    ['an unregistered name', '{"v":1,"fn":"nobodyRegisteredThis","args":[]}'],
  ])('200 PermanentTaskFailure for %s, and nothing runs', async (_label, body) => {
    expect(await post(body)).toEqual(['PermanentTaskFailure', 200, TEXT]);
    expect(calls).toEqual([]);
    expect(rt.logger.at('error')).toHaveLength(1);
  });

  it('408 SingularTaskFailure, logged at debug only', async () => {
    behaviour = () => {
      throw new SingularTaskFailure('later');
    };
    expect(await post(serialize(work))).toEqual(['SingularTaskFailure', 408, TEXT]);
    expect(rt.logger.at('error')).toEqual([]);
    expect(rt.logger.at('debug')).toHaveLength(1);
  });

  it('500 for other errors: logged with the stack, no stack in the body', async () => {
    behaviour = () => {
      throw new TypeError('secret detail');
    };
    const [body, status, headers] = await post(serialize(work));
    expect([body, status, headers]).toEqual(['Internal Server Error', 500, TEXT]);
    const [entry] = rt.logger.at('error');
    expect((entry!.fields!.error as Error).stack).toMatch(/secret detail/);
  });

  it('matches PermanentTaskFailure and SingularTaskFailure of another class by name, as the legacy Node.js runtime did', async () => {
    // What a task module the migration did not reach throws (the legacy runtime's classes), or an app's own.
    class LegacyPermanent extends Error {
      override name = 'PermanentTaskFailure';
    }
    class LegacySingular extends Error {
      override name = 'SingularTaskFailure';
    }
    behaviour = () => {
      throw new LegacyPermanent('cancelled');
    };
    expect(await post(serialize(work))).toEqual(['PermanentTaskFailure', 200, TEXT]);
    expect(rt.logger.at('error')[0]!.message).toBe('Permanent failure attempting to execute task');
    behaviour = () => {
      throw new LegacySingular('later');
    };
    expect(await post(serialize(work))).toEqual(['SingularTaskFailure', 408, TEXT]);
    expect(rt.logger.at('error')).toHaveLength(1);
    // Only the name counts, not a message or a property.
    behaviour = () => {
      throw Object.assign(new Error('PermanentTaskFailure'), { kind: 'PermanentTaskFailure' });
    };
    expect((await post(serialize(work)))[1]).toBe(500);
  });

  it("names an app's subclass after PermanentTaskFailure or SingularTaskFailure unless it names itself, as the legacy classes did", async () => {
    // Row 170: task code testing error.name (`e.name === 'PermanentTaskFailure'`) on a subclass saw the base name.
    class BadInput extends PermanentTaskFailure {}
    class Named extends PermanentTaskFailure {
      override name = 'Named';
    }
    class Later extends SingularTaskFailure {}
    expect([new BadInput('x').name, new Named('y').name, new Later('z').name]).toEqual(['PermanentTaskFailure', 'Named', 'SingularTaskFailure']);
    expect(String(new BadInput('x'))).toBe('PermanentTaskFailure: x');
    behaviour = () => {
      throw new BadInput('bad');
    };
    expect(await post(serialize(work))).toEqual(['PermanentTaskFailure', 200, TEXT]);
    behaviour = () => {
      throw new Later('later');
    };
    expect(await post(serialize(work))).toEqual(['SingularTaskFailure', 408, TEXT]);
  });

  it('500 for a thrown non-Error value', async () => {
    behaviour = () => {
      throw 'a string';
    };
    expect((await post(serialize(work)))[1]).toBe(500);
    expect((rt.logger.at('error')[0]!.fields!.error as Error).message).toMatch(/a string/);
  });

  it('logs one line of X-AppEngine headers per task at the configured level', async () => {
    await post(serialize(work), { HTTP_X_APPENGINE_QUEUENAME: 'q', HTTP_OTHER: 'no' });
    expect(rt.logger.at('info').map((e) => e.message)).toEqual(['X_APPENGINE_TASKNAME:taskname-goes-here, X_APPENGINE_QUEUENAME:q']);
    configure({ logLevel: 'debug' });
    await post(serialize(work));
    expect(rt.logger.at('info')).toHaveLength(1);
    expect(rt.logger.at('debug').map((e) => e.message)).toEqual(['X_APPENGINE_TASKNAME:taskname-goes-here']);
  });

  it('runs the function with the task context from the headers', async () => {
    let seen: TaskContext | undefined;
    behaviour = async () => {
      await Promise.resolve();
      seen = getTaskContext();
    };
    await post(serialize(work), {
      HTTP_X_APPENGINE_QUEUENAME: 'mail',
      HTTP_X_APPENGINE_TASKRETRYCOUNT: '3',
      HTTP_X_APPENGINE_TASKEXECUTIONCOUNT: '2',
      HTTP_X_APPENGINE_TASKETA: '1700000000.500000',
      HTTP_X_APPENGINE_TASKPREVIOUSRESPONSE: '500',
    });
    expect(seen).toEqual({
      name: 'taskname-goes-here',
      queue: 'mail',
      retryCount: 3,
      executionCount: 2,
      eta: new Date(1_700_000_000_500),
      previousResponse: 500,
      headers: expect.objectContaining({ 'x-appengine-queuename': 'mail' }),
    });
    expect(getTaskContext()).toBeUndefined();
  });

  it('keeps each of two overlapping tasks in its own context, whichever finishes first', async () => {
    const seen: Record<string, (string | undefined)[]> = { first: [], second: [] };
    const gates: Record<string, () => void> = {};
    behaviour = async (label: unknown) => {
      const key = label as string;
      seen[key]!.push(getTaskContext()?.name);
      await new Promise<void>((resolve) => (gates[key] = resolve));
      seen[key]!.push(getTaskContext()?.name);
    };
    const first = post(serialize(work, 'first'), { HTTP_X_APPENGINE_TASKNAME: 'task-1' });
    const second = post(serialize(work, 'second'), { HTTP_X_APPENGINE_TASKNAME: 'task-2' });
    await vi.waitFor(() => expect(Object.keys(gates)).toHaveLength(2));
    gates.first!();
    expect(await first).toEqual(['Success', 200, TEXT]);
    gates.second!();
    expect(await second).toEqual(['Success', 200, TEXT]);
    expect(seen).toEqual({ first: ['task-1', 'task-1'], second: ['task-2', 'task-2'] });
  });

  // Node 20's AsyncLocalStorage, once run, tags every async resource of the process
  // (every ordinary request's sockets and promises) until it is disabled.
  it('switches the context storage off once no task is running', async () => {
    const storage = taskContextStorage as unknown as { enabled?: boolean };
    if (!('enabled' in storage)) return expect(process.versions.node.split('.')[0]).not.toBe('20');
    let during: boolean | undefined;
    behaviour = async () => {
      await Promise.resolve();
      during = storage.enabled;
    };
    await post(serialize(work));
    expect(during).toBe(true);
    expect(storage.enabled).toBe(false);
  });
});

describe('request body', () => {
  it('reads a stream without CONTENT_LENGTH to its end (Python dropped the task)', async () => {
    const body = Buffer.from(serialize(work, 'x'.repeat(50_000)));
    const stream = Readable.from([body.subarray(0, 10), body.subarray(10, 30_000), body.subarray(30_000)]);
    const result = await new Handler().post({ ...taskEnviron(body), CONTENT_LENGTH: undefined, 'wsgi.input': stream });
    expect(result[1]).toBe(200);
    expect(calls).toEqual([['x'.repeat(50_000)]]);
  });

  it('reads exactly CONTENT_LENGTH bytes of a stream', async () => {
    const body = Buffer.from(serialize(work, 1));
    const stream = Readable.from([Buffer.concat([body, Buffer.from('trailing garbage')])]);
    expect((await new Handler().post({ ...taskEnviron(body), 'wsgi.input': stream }))[1]).toBe(200);
  });

  it('500 (retried, not dropped) when the body ends before CONTENT_LENGTH', async () => {
    const body = Buffer.from(serialize(work, 1));
    const result = await new Handler().post({ ...taskEnviron(body), CONTENT_LENGTH: String(body.length + 5) });
    expect(result[1]).toBe(500);
    expect(calls).toEqual([]);
  });

  it('413 before reading or decoding a body larger than maxBodyBytes', async () => {
    configure({ maxBodyBytes: 1000 });
    const body = Buffer.from(serialize(work, 'y'.repeat(2000)));
    expect((await post(body))[1]).toBe(413);
    const endless = new Readable({ read() { this.push(Buffer.alloc(600)); } });
    expect((await new Handler().post({ ...taskEnviron(body), CONTENT_LENGTH: undefined, 'wsgi.input': endless }))[1]).toBe(413);
    expect(calls).toEqual([]);
  });
});

describe('overflow payloads', () => {
  const big = 'z'.repeat(120 * 1024);
  const overflowTask = async () => {
    await defer(work, big);
    const [task] = (rt.backend as LocalBackend).store.claimDue(rt.clock.now(), 10, 1);
    return { body: task!.body, key: task!.overflowKey! };
  };

  it('deletes the blob after a permanent failure', async () => {
    behaviour = () => {
      throw new PermanentTaskFailure('no');
    };
    const { body, key } = await overflowTask();
    expect((await post(body))[0]).toBe('PermanentTaskFailure');
    expect(await rt.backend.overflow.get(key)).toBeUndefined();
  });

  it('keeps the blob after a retryable failure, then deletes it after success', async () => {
    const { body, key } = await overflowTask();
    behaviour = () => {
      throw new SingularTaskFailure();
    };
    expect((await post(body))[1]).toBe(408);
    behaviour = () => {
      throw new Error('transient');
    };
    expect((await post(body))[1]).toBe(500);
    expect(await rt.backend.overflow.get(key)).toBeDefined();
    behaviour = () => 'ok';
    expect((await post(body))[1]).toBe(200);
    expect(calls.map((args) => (args[0] as string).length)).toEqual([big.length, big.length, big.length]);
    expect(await rt.backend.overflow.get(key)).toBeUndefined();
  });

  it('a missing blob is a permanent failure', async () => {
    expect(await post(encodeOverflow('overflow-gone'))).toEqual(['PermanentTaskFailure', 200, TEXT]);
  });

  it('an undecodable blob is a permanent failure and is deleted', async () => {
    const key = await rt.backend.overflow.put(Buffer.from('not json'), { queue: 'default' });
    expect((await post(encodeOverflow(key)))[0]).toBe('PermanentTaskFailure');
    expect(await rt.backend.overflow.get(key)).toBeUndefined();
  });

  it('deletes the blob after a full delivery through the dispatcher', async () => {
    const keys: string[] = [];
    const put = rt.backend.overflow.put;
    rt.backend.overflow.put = async (data, meta) => {
      keys.push(await put(data, meta));
      return keys.at(-1)!;
    };
    deliverTo();
    await defer(work, big);
    await drain();
    expect(calls).toHaveLength(1);
    expect(keys).toHaveLength(1);
    expect(await rt.backend.overflow.get(keys[0]!)).toBeUndefined();
    expect((rt.backend as LocalBackend).store.size()).toBe(0);
  });
});

describe('the instance as a Node request listener', () => {
  it('answers POST with the status table and other methods with 405 Allow: POST', async () => {
    const handler = new Handler();
    const body = Buffer.from(serialize(work, 7));
    const ok = await inject(handler, { method: 'POST', url: '/_ah/queue/deferred', payload: body, headers: { 'X-AppEngine-TaskName': 't' } });
    expect([ok.statusCode, ok.payload, ok.headers['content-type']]).toEqual([200, 'Success', 'text/plain']);
    const get = await inject(handler, { method: 'GET', url: '/_ah/queue/deferred' });
    expect([get.statusCode, get.headers.allow]).toEqual([405, 'POST']);
    const forged = await inject(handler, { method: 'POST', url: '/', payload: body });
    expect(forged.statusCode).toBe(403);
    expect(calls).toEqual([[7]]);
  });

  it('is a function usable by http.createServer, and an instance of Handler', () => {
    const handler = new Handler();
    expect(typeof handler).toBe('function');
    expect(handler).toBeInstanceOf(Handler);
    expect(() => createServer(handler).close()).not.toThrow();
  });

  it('subclasses override post and runFromRequest, call super, and keep their fields', async () => {
    const log: string[] = [];
    class Audited extends Handler {
      prefix = 'audit';
      override async post(environ: Environ): Promise<HandlerResult> {
        log.push(`${this.prefix}:before`);
        const result = await super.post(environ);
        log.push(`${this.prefix}:after:${result[1]}`);
        return result;
      }
      override async runFromRequest(environ: Environ): Promise<HandlerResult> {
        log.push('run');
        return super.runFromRequest(environ);
      }
    }
    const handler = new Audited();
    expect(handler).toBeInstanceOf(Audited);
    const res = await inject(handler, { method: 'POST', url: '/custom', payload: Buffer.from(serialize(work)), headers: { 'X-AppEngine-TaskName': 't' } });
    expect(res.statusCode).toBe(200);
    expect(log).toEqual(['audit:before', 'run', 'audit:after:200']);
  });

  it('runs v0 payloads of the legacy reference runtime', async () => {
    expect(await post('{"fn":"work","args":[1,{"a":[true,null]},"s"]}')).toEqual(['Success', 200, TEXT]);
    expect(calls).toEqual([[1, { a: [true, null] }, 's']]);
  });

  it('never runs anything for a request in production mode without the signature', async () => {
    await freshRuntime({ mode: 'production' });
    register(work);
    const res = await inject(new Handler(), {
      method: 'POST',
      url: '/_ah/queue/deferred',
      payload: Buffer.from(encodeCall('work', [])),
      headers: { 'X-AppEngine-TaskName': 't', 'X-AppEngine-QueueName': 'default' },
    });
    expect(res.statusCode).toBe(403);
    expect(calls).toEqual([]);
  });
});
