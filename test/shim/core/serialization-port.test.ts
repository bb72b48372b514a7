// Port of the upstream SerializationTest: each case runs `run(serialize(...))`.
// Python's classes, callable instances and bound methods have no JS counterpart
// that could cross a process boundary; their ported forms are registered
// functions and static methods, and the refusals move to defer() time.
import { beforeEach, describe, expect, it } from 'vitest';
import { defer } from '../../../shim/api/defer.js';
import { NotRegisteredError } from '../../../shim/api/errors.js';
import { register, registerModule } from '../../../shim/api/registry.js';
import { run, serialize } from '../../../shim/serialization/envelope.js';
import { freshRuntime } from './helpers.js';

let calls: unknown[][];

function recordCall(...args: unknown[]): void {
  calls.push(args);
}

class Counter {
  static value = 0;
  static bump(by: number): number {
    Counter.value += by;
    return Counter.value;
  }
}

/** A callable instance's state travels as data: the "constructor" ran at defer time, once. */
function makeGreeter(greeting: string): { greeting: string } {
  calls.push(['constructed', greeting]);
  return { greeting };
}
function greet(state: { greeting: string }, name: string): string {
  calls.push(['called', name]);
  return `${state.greeting}, ${name}`;
}

beforeEach(async () => {
  await freshRuntime();
  calls = [];
  register(recordCall);
  register(greet);
});

describe('SerializationTest', () => {
  it('testFunction: a module-level function runs once with its arguments', async () => {
    await run(serialize(recordCall, 1, 2));
    expect(calls).toEqual([[1, 2]]);
  });

  it('testCallableObject: the state is built once by the caller, not rebuilt at run time', async () => {
    const data = serialize(greet, makeGreeter('hello'), 'ann');
    expect(calls).toEqual([['constructed', 'hello']]);
    expect(await run(data)).toBe('hello, ann');
    expect(calls).toEqual([['constructed', 'hello'], ['called', 'ann']]);
  });

  it('testClass: a static factory stands for the class; its constructor runs at run time, not at serialize time', async () => {
    class Account {
      constructor(readonly id: number) {
        calls.push(['constructed', id]);
      }
      static open(id: number): Account {
        return new Account(id);
      }
    }
    registerModule(Account, 'Account');
    const data = serialize(Account.open, 9);
    expect(calls).toEqual([]);
    const account = await run(data);
    expect(account).toBeInstanceOf(Account);
    expect(calls).toEqual([['constructed', 9]]);
  });

  it('testStaticMethod / testClassMethod: a static method registered as Class.method runs with its class', async () => {
    registerModule(Counter, 'Counter');
    Counter.value = 1;
    expect(await run(serialize(Counter.bump, 2))).toBe(3);
    expect(Counter.value).toBe(3);
  });

  it('testBuiltin: a builtin registered under a name runs (operator.add becomes Math.max)', async () => {
    register(Math.max, 'Math.max');
    expect(await run(serialize(Math.max, 1, 2))).toBe(2);
  });

  it('testLambda: an unregistered arrow function is refused at serialize and defer time', () => {
    const lambda = (x: number) => x;
    expect(() => serialize(lambda, 1)).toThrow(NotRegisteredError);
    expect(() => defer(lambda, 1)).toThrow(NotRegisteredError);
    expect(() => defer(() => 1)).toThrow(/anonymous function is not registered/);
  });

  it('testNestedFunction: a closure is refused at defer time', () => {
    const outer = (base: number) =>
      function inner(n: number) {
        return base + n;
      };
    expect(() => defer(outer(1), 2)).toThrow(/"inner" is not registered.*closures/);
  });

  it('testInstanceMethod: a bound method cannot be registered, with what to do instead', () => {
    const counter = { n: 1, get() { return this.n; } };
    expect(() => register(counter.get.bind(counter))).toThrow(/bound function.*module-level function/);
  });

  it('testNestedClass: an instance of a local class is refused as an argument, naming it', () => {
    class Local {
      x = 1;
    }
    expect(() => defer(recordCall, 1, new Local())).toThrow(/argument 2 is an instance of Local/);
  });
});
