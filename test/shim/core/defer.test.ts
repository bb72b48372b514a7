// defer(): option splitting and validation, synchronous errors, names,
// overflow, enqueue failures and their logging.
import { beforeEach, describe, expect, it } from 'vitest';
import { defer, taskSize } from '../../../shim/api/defer.js';
import {
  DeferredError,
  InvalidEtaError,
  InvalidQueueNameError,
  InvalidTaskError,
  InvalidTaskNameError,
  InvalidTaskRetryOptionsError,
  InvalidUrlError,
  NotRegisteredError,
  TaskAlreadyExistsError,
  TaskTooLargeError,
  TombstonedTaskError,
  TransactionalNotSupportedError,
  UnserializableArgumentError,
} from '../../../shim/api/errors.js';
import { register } from '../../../shim/api/registry.js';
import type { LocalBackend } from '../../../shim/backends/local/backend.js';
import { configure, drain } from '../../../shim/runtime/runtime.js';
import { decodeEnvelope } from '../../../shim/serialization/envelope.js';
import { deliverTo, freshRuntime, recordingBackend, type TestRuntime } from './helpers.js';

let rt: TestRuntime;
let calls: unknown[][];

function work(...args: unknown[]): void {
  calls.push(args);
}

beforeEach(async () => {
  rt = await freshRuntime();
  calls = [];
  register(work);
});

describe('options', () => {
  it('takes the last argument as options only when all its own keys start with _', async () => {
    const backend = recordingBackend();
    await freshRuntime({ backend });
    register(work);
    await defer(work, { a: 1 });
    await defer(work, { _queue: 'mail' });
    await defer(work, { _x: 1 }, { _queue: 'mail' });
    await defer(work, {});
    // Not a plain object: an argument (and refused as one, since its prototype would be lost).
    expect(() => defer(work, Object.assign(Object.create({ inherited: 1 }), { _queue: 'x' }))).toThrow(/argument 1 is an object with a custom prototype/);
    const argsOf = (i: number) => (decodeEnvelope(backend.enqueued[i]!.body) as { args: unknown[] }).args;
    expect(argsOf(0)).toEqual([{ a: 1 }]);
    expect([argsOf(1), backend.enqueued[1]!.queue]).toEqual([[], 'mail']);
    expect([argsOf(2), backend.enqueued[2]!.queue]).toEqual([[{ _x: 1 }], 'mail']);
    expect(argsOf(3)).toEqual([{}]);
    expect(backend.enqueued).toHaveLength(4);
  });

  it('throws synchronously for invalid options, enqueuing nothing', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ _countdown: 1, _eta: new Date() }, /countdown and ETA together/],
      [{ _name: 'has space' }, /_name must match/],
      [{ _name: 'x'.repeat(501) }, /_name must match/],
      [{ _eta: new Date(rt.clock.now() + 31 * 24 * 3600 * 1000) }, /30 days/],
      [{ _countdown: 31 * 24 * 3600 }, /30 days/],
      [{ _countdown: Number.NaN }, /_countdown/],
      [{ _eta: 'tomorrow' }, /_eta/],
      [{ _bogus: 1 }, /Unknown defer option _bogus/],
      [{ _url: 'http://evil.example/x' }, /relative URL/],
      [{ _url: '//evil.example/x' }, /relative URL/],
      [{ _url: '/x?a=1' }, /query string/],
      [{ _url: '/x#frag' }, /fragment/],
      [{ _queue: 'bad queue' }, /_queue/],
      [{ _headers: { A: 1 } }, /must be a string/],
      [{ _headers: { A: 'x\r\nInjected: 1' } }, /line break/],
      [{ _target: 'svc', _headers: { host: 'h' } }, /_target together with a Host/],
      [{ _transactional: true, _name: 'n' }, /cannot be named/],
      [{ _retry_options: { task_retry_limit: -1 } }, /non-negative/],
      [{ _retry_options: { retries: 1 } }, /Unknown _retry_options key retries/],
      [{ _retry_options: { min_backoff_seconds: 5, max_backoff_seconds: 1 } }, /cannot exceed/],
    ];
    for (const [options, message] of cases) {
      expect(() => defer(work, options), JSON.stringify(options)).toThrow(InvalidTaskError);
      expect(() => defer(work, options), JSON.stringify(options)).toThrow(message);
    }
    expect((rt.backend as LocalBackend).store.size()).toBe(0);
  });

  it("throws the Task Queue API's subclass of InvalidTaskError where that API told the failures apart", () => {
    const far = new Date(rt.clock.now() + 31 * 24 * 3600 * 1000);
    const cases: Array<[Record<string, unknown>, typeof InvalidTaskError]> = [
      [{ _name: 'has space' }, InvalidTaskNameError],
      [{ _name: 'x'.repeat(501) }, InvalidTaskNameError],
      [{ _name: 7 }, InvalidTaskNameError],
      [{ _transactional: true, _name: 'n' }, InvalidTaskNameError],
      [{ _eta: far }, InvalidEtaError],
      [{ _countdown: 31 * 24 * 3600 }, InvalidEtaError],
      [{ _eta: 'tomorrow' }, InvalidEtaError],
      [{ _eta: new Date(Number.NaN) }, InvalidEtaError],
      [{ _url: 'http://evil.example/x' }, InvalidUrlError],
      [{ _url: '//evil.example/x' }, InvalidUrlError],
      [{ _url: '/x#frag' }, InvalidUrlError],
      [{ _url: `/${'x'.repeat(2083)}` }, InvalidUrlError],
      [{ _queue: 'bad queue' }, InvalidQueueNameError],
      [{ _retry_options: { task_retry_limit: -1 } }, InvalidTaskRetryOptionsError],
      [{ _retry_options: { retries: 1 } }, InvalidTaskRetryOptionsError],
      [{ _retry_options: { min_backoff_seconds: 5, max_backoff_seconds: 1 } }, InvalidTaskRetryOptionsError],
    ];
    const subclasses = [InvalidTaskNameError, InvalidEtaError, InvalidUrlError, InvalidQueueNameError, InvalidTaskRetryOptionsError];
    for (const [options, cls] of cases) {
      let error: unknown;
      try {
        defer(work, options);
      } catch (e) {
        error = e;
      }
      const label = JSON.stringify(options).slice(0, 80);
      expect(error, label).toBeInstanceOf(cls);
      // Still an InvalidTaskError (and a DeferredError) for catches written against the shim.
      expect(error, label).toBeInstanceOf(InvalidTaskError);
      expect(error, label).toBeInstanceOf(DeferredError);
      expect((error as Error).name, label).toBe(cls.name);
      expect(subclasses.filter((other) => error instanceof other), label).toEqual([cls]);
    }
    // The failures Task Queue reported as plain InvalidTaskError stay plain.
    for (const options of [{ _countdown: 1, _eta: new Date() }, { _url: '/x?a=1' }, { _bogus: 1 }, { _headers: { A: 1 } }, { _countdown: Number.NaN }]) {
      let error: unknown;
      try {
        defer(work, options);
      } catch (e) {
        error = e;
      }
      expect((error as Error).name, JSON.stringify(options)).toBe('InvalidTaskError');
      expect(subclasses.some((other) => error instanceof other), JSON.stringify(options)).toBe(false);
    }
  });

  it('brands the new classes for instanceof across builds: a twin with the same name matches, a sibling does not', () => {
    // A class of the same name and brand, as the other build (CommonJS or ESM) defines it.
    class InvalidEtaErrorTwin extends InvalidTaskError {}
    Object.defineProperty(InvalidEtaErrorTwin, 'name', { value: 'InvalidEtaError' });
    const twin = new InvalidEtaErrorTwin('x');
    expect(twin.name).toBe('InvalidEtaError');
    expect(twin instanceof InvalidEtaError).toBe(true);
    expect(twin instanceof InvalidTaskError).toBe(true);
    expect(twin instanceof InvalidUrlError).toBe(false);
    expect(twin instanceof InvalidTaskNameError).toBe(false);
    // A branded object that is no subclass instance at all: the brand's chain decides.
    const foreign = Object.assign(Object.create(Error.prototype), { [Symbol.for('deferred-migrate.error-classes')]: ['InvalidUrlError', 'InvalidTaskError', 'DeferredError'] });
    expect(foreign instanceof InvalidUrlError).toBe(true);
    expect(foreign instanceof InvalidTaskError).toBe(true);
    expect(foreign instanceof InvalidEtaError).toBe(false);
    expect(new InvalidTaskError('x') instanceof InvalidTaskNameError).toBe(false);
  });

  it('computes eta from countdown and from _eta as a Date or epoch seconds', async () => {
    const now = rt.clock.now();
    expect((await defer(work, { _countdown: 1.5 })).eta.getTime()).toBe(now + 1500);
    expect((await defer(work, { _eta: new Date(now + 5000) })).eta.getTime()).toBe(now + 5000);
    expect((await defer(work, { _eta: now / 1000 + 7 })).eta.getTime()).toBe(now + 7000);
    expect((await defer(work)).eta.getTime()).toBe(now);
  });

  it('takes a negative _countdown as Python did (eta = now + countdown, due at once), and refuses an ETA before the epoch', async () => {
    deliverTo();
    const now = rt.clock.now();
    const task = await defer(work, 'late', { _countdown: -5 });
    expect(task.eta.getTime()).toBe(now - 5000);
    // Due at once: the clock does not move, and the task runs.
    await drain();
    expect(calls).toEqual([['late']]);
    expect(() => defer(work, { _countdown: -(now / 1000) - 1 })).toThrow(InvalidEtaError);
    expect(() => defer(work, { _eta: -1 })).toThrow(/before 1970/);
    expect(() => defer(work, { _eta: new Date(-1000) })).toThrow(InvalidEtaError);
  });

  it('_url: null means the queue URL; a custom URL is kept', async () => {
    expect((await defer(work, { _url: null, _queue: 'mail' })).url).toBe('/_ah/queue/mail');
    expect((await defer(work, { _url: null })).url).toBe('/_ah/queue/default');
    expect((await defer(work, { _url: '/custom/path' })).url).toBe('/custom/path');
    expect((await defer(work, { _url: undefined })).url).toBe('/_ah/queue/deferred');
  });

  it('null is absent for the options the legacy defer() took null for (Python None defaults)', async () => {
    // Row 168 (helper 37's probe): the legacy defer() accepted these, a port of Python's `_name=None` writes them.
    const task = await defer(work, 1, { _name: null, _target: null, _retry_options: null, _transactional: null } as never);
    expect(task.name).toMatch(/\S/);
    expect(task.queue).toBe('default');
  });
});

describe('synchronous errors', () => {
  it('refuses unregistered functions and non-functions', () => {
    expect(() => defer(function notRegistered() {})).toThrow(NotRegisteredError);
    expect(() => defer('work' as never)).toThrow(/needs a registered function/);
  });

  it('refuses unserializable arguments naming the argument', () => {
    expect(() => defer(work, 1, { nested: [Symbol('s')] })).toThrow(UnserializableArgumentError);
    expect(() => defer(work, 1, { nested: [Symbol('s')] })).toThrow(/argument 2\.nested\[0\] is a symbol/);
  });
});

describe('names', () => {
  it('refuses a duplicate name, also after the task ran (tombstone)', async () => {
    deliverTo();
    await defer(work, { _name: 'once' });
    const queued = await defer(work, { _name: 'once' }).catch((error: unknown) => error);
    expect(queued).toBeInstanceOf(TaskAlreadyExistsError);
    expect(queued).not.toBeInstanceOf(TombstonedTaskError);
    expect((queued as Error).message).toMatch(/already exists/);
    await drain();
    expect(calls).toHaveLength(1);
    // The task ran: Task Queue's TombstonedTaskError, still a TaskAlreadyExistsError for the catches that test that.
    const ran = await defer(work, { _name: 'once' }).catch((error: unknown) => error);
    expect(ran).toBeInstanceOf(TombstonedTaskError);
    expect(ran).toBeInstanceOf(TaskAlreadyExistsError);
    expect(ran).toMatchObject({ name: 'TombstonedTaskError', taskName: 'once', queue: 'default' });
    expect((ran as Error).message).toMatch(/already ran in queue "default"/);
    expect((await defer(work, { _name: 'once', _queue: 'other' })).name).toBe('once');
  });

  it('generates distinct names', async () => {
    const names = await Promise.all(Array.from({ length: 5 }, () => defer(work).then((t) => t.name)));
    expect(names).toEqual(['task1', 'task2', 'task3', 'task4', 'task5']);
  });
});

describe('enqueue failures', () => {
  it('refuses _transactional on the memory backend: the awaiting caller gets the error, nothing else is logged', async () => {
    const promise = defer(work, { _transactional: true });
    await expect(promise).rejects.toThrow(TransactionalNotSupportedError);
    await new Promise((resolve) => setImmediate(resolve));
    expect(rt.logger.at('error')).toEqual([]);
  });

  it('logs a failed enqueue that nobody awaits', async () => {
    void defer(work, { _transactional: true });
    await drain();
    await new Promise((resolve) => setImmediate(resolve));
    expect(rt.logger.at('error')[0]).toMatchObject({ message: 'deferring a task failed: the task was not enqueued', fields: { function: 'work' } });
  });

  it('passes _transactional to a backend that may support it', async () => {
    const backend = recordingBackend();
    await freshRuntime({ backend });
    register(work);
    await defer(work, { _transactional: true });
    expect(backend.enqueued[0]!.transactional).toBe(true);
  });

  it('an un-awaited failing defer is logged, and neither crashes nor leaves an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', listener);
    try {
      await defer(work, { _name: 'dup' });
      void defer(work, { _name: 'dup' });
      await drain();
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
      expect(rt.logger.at('error')[0]!.fields!.error).toBeInstanceOf(TaskAlreadyExistsError);
    } finally {
      process.off('unhandledRejection', listener);
    }
  });

  it('drain() waits for enqueues still in flight', async () => {
    let release!: () => void;
    const backend = recordingBackend({
      enqueue: async (task) => {
        await new Promise<void>((resolve) => (release = resolve));
        backend.enqueued.push(task);
        return { name: 'n', queue: task.queue, eta: new Date(task.etaMs), url: task.url, headers: task.headers };
      },
    });
    await freshRuntime({ backend });
    register(work);
    void defer(work);
    const drained = drain();
    expect(backend.enqueued).toHaveLength(0);
    release();
    await drained;
    expect(backend.enqueued).toHaveLength(1);
  });
});

describe('task size and the overflow store', () => {
  it('counts size as App Engine: method + payload + URL + headers (name + value + 4)', () => {
    expect(taskSize({ body: new Uint8Array(10), url: '/abc', headers: { Ab: 'cde' } })).toBe(4 + 10 + 4 + 2 + 3 + 4);
  });

  it('keeps a task at the limit inline and moves one byte more to the overflow store', async () => {
    const backend = recordingBackend({ maxTaskSizeBytes: 300 });
    await freshRuntime({ backend });
    register(work);
    const fixed = taskSize({ body: Buffer.from('{"v":1,"fn":"work","args":[""]}'), url: '/_ah/queue/deferred', headers: { 'Content-Type': 'application/octet-stream' } });
    await defer(work, 'a'.repeat(300 - fixed));
    await defer(work, 'a'.repeat(301 - fixed));
    expect(backend.enqueued[0]!.overflowKey).toBeUndefined();
    expect(taskSize(backend.enqueued[0]!)).toBe(300);
    expect(backend.enqueued[1]!.overflowKey).toBe('blob1');
    expect(decodeEnvelope(backend.enqueued[1]!.body)).toEqual({ kind: 'overflow', key: 'blob1' });
  });

  it('deletes the blob when the enqueue of an overflowing task fails (no orphan)', async () => {
    deliverTo();
    await defer(work, { _name: 'big' });
    const deleted: string[] = [];
    const original = rt.backend.overflow.delete;
    rt.backend.overflow.delete = async (key) => {
      deleted.push(key);
      await original(key);
    };
    await expect(defer(work, 'b'.repeat(200 * 1024), { _name: 'big' })).rejects.toThrow(TaskAlreadyExistsError);
    expect(deleted).toHaveLength(1);
    expect(await rt.backend.overflow.get(deleted[0]!)).toBeUndefined();
  });

  it('refuses a task whose headers alone exceed the limit, deleting the blob', async () => {
    const backend = recordingBackend({ maxTaskSizeBytes: 200 });
    await freshRuntime({ backend });
    register(work);
    await expect(defer(work, { _headers: { 'X-Big': 'h'.repeat(300) } })).rejects.toThrow(TaskTooLargeError);
    expect(await backend.overflow.get('blob1')).toBeUndefined();
    expect(backend.enqueued).toEqual([]);
  });
});

describe('arguments', () => {
  it('a __proto__ key in the arguments reaches the function as data and pollutes nothing', async () => {
    deliverTo();
    const payload = JSON.parse('{"__proto__":{"isAdmin":true},"name":"x"}');
    await defer(work, payload);
    await drain();
    const received = calls[0]![0] as Record<string, unknown>;
    expect(Object.getPrototypeOf(received)).toBe(Object.prototype);
    expect(received.isAdmin).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(received, '__proto__')!.value).toEqual({ isAdmin: true });
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it('delivers typed arguments through the whole queue', async () => {
    configure({ mode: 'production' });
    deliverTo();
    const args = [new Date(5), 10n ** 30n, new Map([['k', new Set([1])]]), Buffer.from([1, 2]), Number.NaN, undefined];
    await defer(work, ...args);
    await drain();
    expect(calls).toEqual([args]);
  });
});
