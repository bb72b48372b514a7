import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadQueueYaml, parseQueueYaml, queueConfigFromObject, QueueYamlError } from '../../../shim/queues/queue-yaml.js';

const FULL = `total_storage_limit: 120M
queue:
- name: default
  rate: 1/s
- name: mail
  rate: 2000/d
  bucket_size: 10
  max_concurrent_requests: 2
  target: worker
  retry_parameters:
    task_retry_limit: 7
    task_age_limit: 2d
    min_backoff_seconds: 0.5
    max_backoff_seconds: 200
    max_doublings: 3
- name: fast
  rate: 30/m
- name: hourly
  rate: 1.5/h
- name: pulled
  mode: pull
  acl:
  - user_email: a@example.com
  - writer_email: b@example.com
`;

function errorOf(run: () => unknown): QueueYamlError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(QueueYamlError);
    return error as QueueYamlError;
  }
  throw new Error('expected a QueueYamlError');
}

describe('queue.yaml', () => {
  it('parses every field into typed definitions', () => {
    const config = parseQueueYaml(FULL, 'queue.yaml');
    expect(config.totalStorageLimit).toEqual({ text: '120M', bytes: 120 * 1024 * 1024 });
    expect(config.queues.map((q) => q.name)).toEqual(['default', 'mail', 'fast', 'hourly', 'pulled']);
    const [def, mail, fast, hourly, pulled] = config.queues;
    expect(def).toEqual({ name: 'default', mode: 'push', rate: { text: '1/s', perSecond: 1 } });
    expect(mail).toEqual({
      name: 'mail',
      mode: 'push',
      rate: { text: '2000/d', perSecond: 2000 / 86400 },
      bucketSize: 10,
      maxConcurrentRequests: 2,
      target: 'worker',
      retryParameters: { task_retry_limit: 7, task_age_limit: 2 * 86400, min_backoff_seconds: 0.5, max_backoff_seconds: 200, max_doublings: 3 },
    });
    expect(fast!.rate!.perSecond).toBe(0.5);
    expect(hourly!.rate!.perSecond).toBeCloseTo(1.5 / 3600);
    expect(pulled).toEqual({ name: 'pulled', mode: 'pull', acl: [{ user_email: 'a@example.com' }, { writer_email: 'b@example.com' }] });
  });

  it('reads durations in s, m, h and d, and a rate of 0', () => {
    const config = parseQueueYaml(
      'queue:\n- name: a\n  rate: 0\n  retry_parameters: {task_age_limit: 90s}\n- name: b\n  rate: 1/s\n  retry_parameters: {task_age_limit: 1.5h}\n- name: c\n  rate: 1/s\n  retry_parameters: {task_age_limit: 10m}\n',
    );
    expect(config.queues[0]!.rate).toEqual({ text: '0', perSecond: 0 });
    expect(config.queues.map((q) => q.retryParameters!.task_age_limit)).toEqual([90, 5400, 600]);
  });

  it('points at the line and column of a bad value', () => {
    const error = errorOf(() => parseQueueYaml('queue:\n- name: a\n  rate: 5/x\n', 'q.yaml'));
    expect([error.line, error.column, error.path]).toEqual([3, 9, 'queue[0].rate']);
    expect(error.message).toBe('q.yaml:3:9: queue[0].rate: must be N/s, N/m, N/h or N/d (e.g. 5/s), got "5/x"');
  });

  it("accepts App Engine's other top-level keys, application and resume_paused_queues", () => {
    const config = parseQueueYaml('application: my-app\nresume_paused_queues: True\nqueue:\n- name: a\n  rate: 1/s\n  retry_parameters:\n    task_retry_limit: 2\n');
    expect(config.queues).toEqual([{ name: 'a', mode: 'push', rate: { text: '1/s', perSecond: 1 }, retryParameters: { task_retry_limit: 2 } }]);
  });

  it('points at an unknown key, a bad age limit and a duplicate queue', () => {
    expect(errorOf(() => parseQueueYaml('queue:\n- name: a\n  rate: 1/s\n  bukket_size: 3\n')).message).toMatch(
      /^queue configuration:4:3: queue\[0\]\.bukket_size: unknown key "bukket_size"/,
    );
    const age = errorOf(() => parseQueueYaml('queue:\n- name: a\n  rate: 1/s\n  retry_parameters:\n    task_age_limit: 2 days\n'));
    expect([age.line, age.column]).toEqual([5, 21]);
    const dup = errorOf(() => parseQueueYaml('queue:\n- name: a\n  rate: 1/s\n- name: a\n  rate: 2/s\n'));
    expect([dup.line, dup.problem]).toEqual([4, 'queue "a" is defined twice']);
  });

  it('reports YAML syntax errors with their position, and a push queue without a rate', () => {
    const syntax = errorOf(() => parseQueueYaml('queue:\n- name: a\n  rate: [1/s\n'));
    expect(syntax.line).toBeGreaterThanOrEqual(3);
    expect(syntax.message).toMatch(/is not valid YAML/);
    const noRate = errorOf(() => parseQueueYaml('queue:\n- name: mail\n  bucket_size: 3\n'));
    expect([noRate.line, noRate.column, noRate.problem]).toEqual([2, 3, 'push queue "mail" needs a rate (e.g. rate: 5/s)']);
  });

  it('checks numbers: bucket size and concurrency are positive integers, min backoff <= max', () => {
    expect(errorOf(() => parseQueueYaml('queue:\n- name: a\n  rate: 1/s\n  bucket_size: 0\n')).problem).toBe('must be an integer of at least 1, got 0');
    expect(errorOf(() => parseQueueYaml('queue:\n- name: a\n  rate: 1/s\n  max_concurrent_requests: 1.5\n')).path).toBe('queue[0].max_concurrent_requests');
    expect(
      errorOf(() => parseQueueYaml('queue:\n- name: a\n  rate: 1/s\n  retry_parameters: {min_backoff_seconds: 5, max_backoff_seconds: 1}\n')).problem,
    ).toMatch(/cannot exceed max_backoff_seconds/);
  });

  it('accepts an object, with errors naming the path', () => {
    const config = queueConfigFromObject({ queue: [{ name: 'x', rate: '10/s', retry_parameters: { task_age_limit: 30 } }] });
    expect(config.queues[0]).toEqual({ name: 'x', mode: 'push', rate: { text: '10/s', perSecond: 10 }, retryParameters: { task_age_limit: 30 } });
    const error = errorOf(() => queueConfigFromObject({ queue: [{ name: 'bad name', rate: '1/s' }] }));
    expect(error.message).toBe('queue configuration: queue[0].name: must be 1-100 letters, digits and hyphens, got "bad name"');
    expect(error.line).toBeUndefined();
  });

  it('loads a file and names it in errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'queue-yaml-'));
    const file = join(dir, 'queue.yaml');
    writeFileSync(file, 'queue:\n- name: ok\n  rate: 3/s\n');
    expect(loadQueueYaml(file).source).toBe(file);
    expect(errorOf(() => loadQueueYaml(join(dir, 'missing.yaml'))).message).toMatch(/missing\.yaml: cannot be read/);
    writeFileSync(file, 'queues:\n- name: ok\n');
    expect(errorOf(() => loadQueueYaml(file)).message).toBe(`${file}:1:1: queues: unknown key "queues"; expected one of queue, total_storage_limit, application, resume_paused_queues`);
  });
});
