import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeEach, describe, expect, it } from 'vitest';
import { Handler } from '../../../shim/api/handler.js';
import { lookup, nameOf, register, registerModule } from '../../../shim/api/registry.js';
import { configure } from '../../../shim/runtime/runtime.js';
import { encodeCall, run, serialize } from '../../../shim/serialization/envelope.js';
import { freshRuntime, taskEnviron, type TestRuntime } from './helpers.js';

let rt: TestRuntime;
beforeEach(async () => {
  rt = await freshRuntime();
});

describe('register', () => {
  it('registers under fn.name by default and returns the function', () => {
    function sendEmail() {}
    expect(register(sendEmail)).toBe(sendEmail);
    expect(lookup('sendEmail')).toBe(sendEmail);
    expect(nameOf(sendEmail)).toBe('sendEmail');
  });

  it('accepts the same function twice, refuses another function under a taken name', () => {
    const a = function job() {};
    const b = function job() {};
    register(a);
    expect(() => register(a)).not.toThrow();
    expect(() => register(b)).toThrow(/"job" is already taken by another function.*register\(fn, "billing\.sendEmail"\)/);
    expect(lookup('job')).toBe(a);
  });

  it('names arrow functions assigned to a const, refuses anonymous ones with what to do', () => {
    const named = () => 1;
    expect(nameOf(register(named))).toBe('named');
    expect(() => register((() => () => 2)())).toThrow(/anonymous function: give it a name, e.g. register\(fn, "sendEmail"\)/);
    const anonymous = [() => 3][0]!;
    expect(nameOf(register(anonymous, 'three'))).toBe('three');
  });

  it('refuses bound functions, invalid names and non-functions', () => {
    function method(this: unknown) {}
    expect(() => register(method.bind({}))).toThrow(/bound function/);
    expect(() => register(method, 'has space')).toThrow(/invalid task function name/);
    expect(() => register(method, '')).toThrow(/invalid task function name/);
    expect(() => register(42 as never)).toThrow(/needs a function, got number/);
  });
});

describe('registerModule', () => {
  it('registers a module namespace: functions as prefix.name, static methods as prefix.Class.method', async () => {
    const tasks = await import('./fixtures/tasks-module.js');
    expect(registerModule(tasks, 'tasks')).toBe(tasks);
    expect(nameOf(tasks.sendEmail)).toBe('tasks.sendEmail');
    expect(nameOf(tasks.Reports.build)).toBe('tasks.Reports.build');
    expect(lookup('tasks.default')).toBeUndefined();
    expect(lookup('tasks.VERSION')).toBeUndefined();
    expect(lookup('tasks.Reports')).toBeUndefined();
    expect(await run(serialize(tasks.Reports.build, 7))).toBe('report 7');
  });

  it('registers a plain object of functions without a prefix', async () => {
    const jobs = { one: () => 1, two: function () { return 2; }, notAFunction: 3 };
    registerModule(jobs);
    expect(await run(encodeCall('two', []))).toBe(2);
    expect(nameOf(jobs.one)).toBe('one');
  });

  it('refuses what is not a module', () => {
    expect(() => registerModule(null as never)).toThrow(/needs a module object/);
  });
});

describe('task modules (the fresh-process fix)', () => {
  it('imports the configured modules before declaring a name unknown, once', async () => {
    let imports = 0;
    configure({
      taskModules: [
        async () => {
          imports += 1;
          return import('./fixtures/lazy-tasks.js');
        },
      ],
    });
    expect(await new Handler().post(taskEnviron(encodeCall('lazy.double', [4])))).toEqual(['Success', 200, { 'Content-Type': 'text/plain' }]);
    expect(await run(encodeCall('lazy.double', [5]))).toBe(10);
    await expect(run(encodeCall('still.unknown', []))).rejects.toThrow(/No function is registered under "still.unknown"/);
    expect(imports).toBe(1);
  });

  it('a task module that fails to import is a retryable 500, not a dropped task', async () => {
    let attempts = 0;
    configure({
      taskModules: [
        async () => {
          if (++attempts === 1) throw new Error('disk hiccup');
          registerModule(await import('./fixtures/tasks-module.js'), 'tasks');
        },
      ],
    });
    const body = encodeCall('tasks.sendEmail', ['ann']);
    expect((await new Handler().post(taskEnviron(body)))[1]).toBe(500);
    expect((await new Handler().post(taskEnviron(body)))[1]).toBe(200);
    expect(rt.logger.at('error')).toHaveLength(1);
  });

  it('DEFERRED_TASK_MODULES lets a fresh process run a task whose module nobody imported', async () => {
    const script = fileURLToPath(new URL('./fixtures/run-with-env-modules.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, DEFERRED_TASK_MODULES: 'test/shim/core/fixtures/lazy-tasks.ts', DEFERRED_BACKEND: 'memory' },
      cwd: fileURLToPath(new URL('../../../', import.meta.url)),
    });
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual(['Success', 200, { 'Content-Type': 'text/plain' }]);
  });
});
