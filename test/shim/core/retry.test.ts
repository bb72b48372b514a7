import { describe, expect, it } from 'vitest';
import { APP_ENGINE_RETRY_DEFAULTS, backoffSeconds, retriesExhausted } from '../../../shim/backends/local/retry.js';

describe('backoffSeconds', () => {
  it('follows the queue.yaml documentation example (10 s min, 300 s max, 3 doublings)', () => {
    const options = { min_backoff_seconds: 10, max_backoff_seconds: 300, max_doublings: 3 };
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffSeconds(n, options))).toEqual([10, 20, 40, 80, 160, 240, 300, 300]);
  });

  it('defaults to App Engine: 0.1 s doubling up to an hour', () => {
    expect(APP_ENGINE_RETRY_DEFAULTS).toEqual({ min_backoff_seconds: 0.1, max_backoff_seconds: 3600, max_doublings: 16 });
    expect(backoffSeconds(1)).toBeCloseTo(0.1);
    expect(backoffSeconds(2)).toBeCloseTo(0.2);
    expect(backoffSeconds(10)).toBeCloseTo(51.2);
    expect(backoffSeconds(20)).toBe(3600);
  });

  it('max_doublings 0 grows linearly from the first retry', () => {
    expect([1, 2, 3].map((n) => backoffSeconds(n, { min_backoff_seconds: 5, max_doublings: 0 }))).toEqual([5, 10, 15]);
  });
});

describe('retriesExhausted', () => {
  it('never gives up without limits', () => {
    expect(retriesExhausted(1_000_000, 1e12, {})).toBe(false);
  });

  it('gives up once the retry limit is exceeded', () => {
    expect(retriesExhausted(2, 0, { task_retry_limit: 2 })).toBe(false);
    expect(retriesExhausted(3, 0, { task_retry_limit: 2 })).toBe(true);
    expect(retriesExhausted(1, 0, { task_retry_limit: 0 })).toBe(true);
  });

  it('gives up once the age limit is exceeded', () => {
    expect(retriesExhausted(50, 10_000, { task_age_limit: 10 })).toBe(false);
    expect(retriesExhausted(1, 10_001, { task_age_limit: 10 })).toBe(true);
  });

  it('needs both limits exceeded when both are set', () => {
    const options = { task_retry_limit: 2, task_age_limit: 10 };
    expect(retriesExhausted(3, 5_000, options)).toBe(false);
    expect(retriesExhausted(1, 20_000, options)).toBe(false);
    expect(retriesExhausted(3, 20_000, options)).toBe(true);
  });
});
