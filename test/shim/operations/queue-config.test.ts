// Where the queue definitions come from (configure, DEFERRED_QUEUES, queue.yaml
// beside app.yaml), and failed-task bookkeeping for PermanentTaskFailure.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defer } from '../../../shim/api/defer.js';
import { PermanentTaskFailure } from '../../../shim/api/errors.js';
import { register } from '../../../shim/api/registry.js';
import { QueueYamlError } from '../../../shim/queues/queue-yaml.js';
import { configure, drain, getRuntime, resolveQueues } from '../../../shim/runtime/runtime.js';
import { deliverTo, freshRuntime } from '../core/helpers.js';

let dir: string;
const savedEnv = process.env.DEFERRED_QUEUES;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'queue-config-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  if (savedEnv === undefined) delete process.env.DEFERRED_QUEUES;
  else process.env.DEFERRED_QUEUES = savedEnv;
});

describe('finding queue.yaml', () => {
  it('takes queue.yaml from the working directory only when app.yaml is beside it', () => {
    writeFileSync(join(dir, 'queue.yaml'), 'queue:\n- name: mail\n  rate: 2/s\n');
    expect(resolveQueues(undefined, dir)).toBeUndefined();
    writeFileSync(join(dir, 'app.yaml'), 'runtime: nodejs22\n');
    expect(resolveQueues(undefined, dir)).toMatchObject({ source: join(dir, 'queue.yaml'), queues: [{ name: 'mail' }] });
  });

  it('takes queue.yml and app.yml too, as App Engine\'s deploy tools did; queue.yaml first', () => {
    writeFileSync(join(dir, 'app.yml'), 'runtime: nodejs22\n');
    writeFileSync(join(dir, 'queue.yml'), 'queue:\n- name: mail\n  rate: 2/s\n  retry_parameters:\n    task_retry_limit: 2\n');
    expect(resolveQueues(undefined, dir)).toMatchObject({ source: join(dir, 'queue.yml'), queues: [{ name: 'mail', retryParameters: { task_retry_limit: 2 } }] });
    writeFileSync(join(dir, 'queue.yaml'), 'queue:\n- name: jobs\n  rate: 1/s\n');
    expect(resolveQueues(undefined, dir)).toMatchObject({ source: join(dir, 'queue.yaml'), queues: [{ name: 'jobs' }] });
  });

  it('takes a path relative to the working directory, or an object', () => {
    writeFileSync(join(dir, 'other.yaml'), 'queue:\n- name: x\n  rate: 1/s\n');
    expect(resolveQueues('other.yaml', dir)!.queues[0]!.name).toBe('x');
    expect(resolveQueues({ queue: [{ name: 'y', rate: '1/m' }] }, dir)!.queues[0]!.rate!.perSecond).toBeCloseTo(1 / 60);
  });

  it('reads DEFERRED_QUEUES, and a malformed file fails configure() with its position', async () => {
    writeFileSync(join(dir, 'env.yaml'), 'queue:\n- name: from-env\n  rate: 1/s\n');
    process.env.DEFERRED_QUEUES = join(dir, 'env.yaml');
    await freshRuntime();
    expect(getRuntime().queues!.queues.map((q) => q.name)).toEqual(['from-env']);
    writeFileSync(join(dir, 'bad.yaml'), 'queue:\n- name: a\n  rate: fast\n');
    expect(() => configure({ queues: join(dir, 'bad.yaml') })).toThrow(QueueYamlError);
    expect(() => configure({ queues: join(dir, 'bad.yaml') })).toThrow(`${join(dir, 'bad.yaml')}:3:9: queue[0].rate`);
    // The runtime kept the previous, valid configuration.
    expect(getRuntime().queues!.queues.map((q) => q.name)).toEqual(['from-env']);
  });
});

describe('PermanentTaskFailure', () => {
  it('moves the task to failed at once, with the error as the Handler logged it', async () => {
    const rt = await freshRuntime();
    const doomed = register(function doomed(): void {
      throw new PermanentTaskFailure('the order was cancelled');
    }, 'doomed');
    deliverTo();
    const { name } = await defer(doomed, { _retry_options: { task_retry_limit: 5 } });
    expect(await drain()).toBe(1);
    rt.clock.advance(3_600_000);
    expect(await drain()).toBe(0);
    const task = await rt.backend.operations!.getTask(name);
    expect(task).toMatchObject({ state: 'failed', attempts: 1, lastStatus: 200, lastError: 'PermanentTaskFailure: the order was cancelled' });
    expect(task.attemptLog[0]!.error!.stack).toMatch(/at doomed/);
  });
});
