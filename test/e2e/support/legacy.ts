// Drives the legacy reference runtime from tests: its queue (same singleton the
// apps use, ESM or CommonJS) and the counter scenario of the App Engine sample.
import type * as http from 'node:http';
import { expect } from 'vitest';
import { getLegacyQueue, type LegacyTaskQueue } from '../../../fixtures/legacy-runtime/google/appengine/api/taskqueue/index.js';
import { setLogger, type LegacyLogger, type LogLevel } from '../../../fixtures/legacy-runtime/google/appengine/runtime/state.js';
import { request, serve } from './http.js';

export const legacyQueue: LegacyTaskQueue = getLegacyQueue();

/** Collects the legacy runtime's log lines instead of printing them. */
export function captureLegacyLogs(): Array<{ level: LogLevel; message: string; error?: unknown }> {
  const lines: Array<{ level: LogLevel; message: string; error?: unknown }> = [];
  const logger: LegacyLogger = { log: (level, message, error) => lines.push({ level, message, error }) };
  setLogger(logger);
  return lines;
}

export interface CounterClock {
  /** Deliver what is due now. */
  drain(): Promise<unknown>;
  /** Move time forward and deliver what became due. */
  advance(ms: number): Promise<unknown>;
}

/**
 * The sample's observable behaviour: one increment defers three tasks of 10
 * (now, +60 s, +120 s on the custom URL). The counter reads 0, 10 after the
 * due task ran, 20 a minute later, 30 another minute later, then stays 30.
 */
export async function expectCounterSequence(baseUrl: string, clock: CounterClock): Promise<void> {
  const counter = async () => (await request(baseUrl, '/counter/get')).body;
  expect(await counter()).toBe('0');
  const increment = await request(baseUrl, '/counter/increment');
  expect(increment).toMatchObject({ status: 200, body: 'Deferred counter increment.' });
  await clock.drain();
  expect(await counter()).toBe('10');
  await clock.advance(60_000);
  expect(await counter()).toBe('20');
  await clock.advance(60_000);
  expect(await counter()).toBe('30');
  await clock.advance(30_000);
  expect(await counter()).toBe('30');
}

/** Serve a legacy app over loopback, point the legacy queue at it, run the counter sequence. */
export async function runLegacyCounterScenario(listener: http.RequestListener | http.Server): Promise<void> {
  legacyQueue.reset();
  const served = await serve(listener);
  legacyQueue.setTarget({ baseUrl: served.baseUrl });
  try {
    await expectCounterSequence(served.baseUrl, legacyQueue);
    expect(legacyQueue.queued()).toEqual([]);
    // Every delivery succeeded at the first attempt, the last one on the custom URL.
    expect(legacyQueue.deliveries.map(({ url, status }) => [url, status])).toEqual([
      ['/_ah/queue/deferred', 200],
      ['/_ah/queue/deferred', 200],
      ['/custom/path', 200],
    ]);
  } finally {
    legacyQueue.setTarget(undefined);
    await served.close();
  }
}
