// Shared by the adapter tests: a runtime on the memory backend with a manual
// clock and a recording logger, registered task functions that record their
// calls, hand-made task requests, and loopback servers.
import { afterEach, beforeEach } from 'vitest';
import { ManualClock, register, serialize } from '../../../shim/index.js';
import type { Logger, LogLevel } from '../../../shim/api/types.js';
import { configure, resetRuntime, type Mode } from '../../../shim/runtime/runtime.js';

export interface LogEntry {
  level: LogLevel;
  message: string;
  fields?: Record<string, unknown>;
}

/** Calls of the registered task functions, in order: `[functionName, ...args]`. */
export const calls: unknown[][] = [];
export const logs: LogEntry[] = [];

export function recordTask(label: string, amount: number): void {
  calls.push(['recordTask', label, amount]);
}
register(recordTask);

export const recordingLogger: Logger = {
  debug: (message, fields) => void logs.push({ level: 'debug', message, fields }),
  info: (message, fields) => void logs.push({ level: 'info', message, fields }),
  warn: (message, fields) => void logs.push({ level: 'warn', message, fields }),
  error: (message, fields) => void logs.push({ level: 'error', message, fields }),
};

export interface TestRuntime {
  clock: ManualClock;
}

/** A fresh memory-backed runtime for every test of the calling file. */
export function useMemoryRuntime(mode: Mode): TestRuntime {
  const state = { clock: new ManualClock() };
  beforeEach(async () => {
    await resetRuntime();
    calls.length = 0;
    logs.length = 0;
    state.clock = new ManualClock();
    configure({ backend: 'memory', clock: state.clock, mode, logger: recordingLogger });
  });
  afterEach(async () => {
    await resetRuntime();
  });
  return state;
}

/** A task request as the development server accepts it (task-name header, no signature). */
export function devTaskRequest(label: string, amount: number, taskName = 'task-by-hand') {
  return {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream', 'X-AppEngine-TaskName': taskName, 'X-AppEngine-QueueName': 'default' },
    body: Buffer.from(serialize(recordTask, label, amount)),
  };
}

export { listen, serverHandle, type Listening } from '../../support/listen.js';
