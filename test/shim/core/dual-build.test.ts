// The ESM and CommonJS builds loaded into one process share one registry and one
// runtime, and recognise each other's error classes. Uses dist/ (npm test builds it).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

it('shares the registry, the runtime and the error classes between the ESM and CJS builds', async () => {
  const script = fileURLToPath(new URL('./fixtures/dual-build.mjs', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, [script]);
  const report = JSON.parse(stdout);
  expect(report.sameRuntime).toBe(true);
  expect(report.results).toEqual(['Success', 'PermanentTaskFailure', 'SingularTaskFailure']);
  expect(report.seen).toEqual([1, 2, 3]);
  expect(report.enqueued).toBe('task1');
  expect(report.transactionalEnqueued).toBe('task2');
  expect(report.sameTransactional).toBe(true);
  expect(report.nestedAcrossBuilds).toEqual([false, true]);
  expect(report.instanceofAcrossBuilds).toBe(true);
  expect(report.notConfused).toBe(false);
  // Validation errors carry the Task Queue API's class names, subclasses of InvalidTaskError, in both builds.
  expect(report.legacyNamed).toEqual([
    ['InvalidTaskNameError', true, true, true],
    ['InvalidEtaError', true, true, true],
    ['InvalidUrlError', true, true, true],
    ['InvalidQueueNameError', true, true, true],
    ['InvalidTaskRetryOptionsError', true, true, true],
  ]);
  expect(report.newClassesAcrossBuilds).toEqual(Array.from({ length: 5 }, () => [true, true, false, false]));
  expect(report.tombstonedAcrossBuilds).toEqual([true, true, false, 'TombstonedTaskError']);
  const expected = [
    'Handler',
    'InvalidEtaError',
    'InvalidQueueNameError',
    'InvalidTaskError',
    'InvalidTaskNameError',
    'InvalidTaskRetryOptionsError',
    'InvalidUrlError',
    'ManualClock',
    'PermanentTaskFailure',
    'QueueFileError',
    'QueueYamlError',
    'SingularTaskFailure',
    'TaskAlreadyExistsError',
    'TaskNotFoundError',
    'TaskStateError',
    'TombstonedTaskError',
    'TransactionalEnqueueError',
    'TransactionalTaskDroppedError',
    'UnknownQueueError',
    'configure',
    'defer',
    'deferred',
    'environFrom',
    'getRuntime',
    'getTaskContext',
    'register',
    'run',
    'serialize',
    'transactional',
    'wrapApp',
  ];
  expect(report.esmExports).toEqual(expected);
  expect(report.cjsExports).toEqual(expected);
  expect(report.namespace).toEqual([
    'Handler',
    'PermanentTaskFailure',
    'SingularTaskFailure',
    'defer',
    'environ',
    'getTaskContext',
    'register',
    'registerModule',
    'run',
    'serialize',
    'transactional',
  ]);
});
