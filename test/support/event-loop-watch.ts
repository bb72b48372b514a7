// Says which test kept its vitest worker from the event loop for long. Vitest's worker
// RPC times out after a fixed 60 s, and a reply that waited behind synchronous work (or
// a long chain of promises) then fails the run although every test passed
// ("Timeout calling onTaskUpdate"): this line names the test to fix. The line comes after the
// block, under the name of the test current then. EVENT_LOOP_REPORT_MS lowers the threshold.
import { expect } from 'vitest';

const REPORT_AFTER_MS = Number(process.env.EVENT_LOOP_REPORT_MS ?? 15_000);
let last = Date.now();
const watch = setInterval(() => {
  const now = Date.now();
  if (now - last > REPORT_AFTER_MS) {
    const state = expect.getState();
    process.stderr.write(`event loop blocked for ${((now - last) / 1000).toFixed(1)} s in ${state.testPath ?? '?'} :: ${state.currentTestName ?? '(a hook)'}\n`);
  }
  last = now;
}, 250);
watch.unref();
