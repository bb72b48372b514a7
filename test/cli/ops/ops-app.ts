// A small app on the embedded queue for the CLI and shutdown tests, run as a
// child process (node --import tsx). It reads commands on stdin and reports on
// stdout, one line each:
//   flaky <name>          defers flaky(<Date>, <Map>, <Buffer>) on queue "work"; it fails while <dataDir>/fail-switch exists
//   count <name> <queue>  defers count(<name>) on <queue>
//   slow <name> <ms>      defers slow(<ms>) on queue "work": it takes that long (real time)
// Lines out: "ready", "enqueued <name>", "ran <fn> <name>", "started <name>", "attempt-failed <name>".
// env: OPS_APP_DEADLINE_MS (shutdown deadline), OPS_APP_OWN_HANDLER=1 (the app has its own SIGTERM handler).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { configure, defer, getRuntime, getTaskContext, register, wrapApp } from '../../../shim/index.js';

const [dataDir] = process.argv.slice(2);
if (!dataDir) throw new Error('usage: ops-app.ts <dataDir>');
const say = (line: string) => process.stdout.write(`${line}\n`);
const quiet = () => {};

configure({
  backend: 'embedded',
  dataDir,
  mode: 'production',
  logger: { debug: quiet, info: (m) => m.includes('received') && say(`log ${m}`), warn: (m) => process.stderr.write(`warn ${m}\n`), error: quiet },
  queues: {
    queue: [
      { name: 'work', rate: '50/s', bucket_size: 10, retry_parameters: { task_retry_limit: 1, min_backoff_seconds: 0.1 } },
      { name: 'held', rate: '50/s' },
    ],
  },
  ...(process.env.OPS_APP_DEADLINE_MS && { shutdownDeadlineMs: Number(process.env.OPS_APP_DEADLINE_MS) }),
});

const flaky = register(function flaky(when: Date, tags: Map<string, number>, bytes: Uint8Array): void {
  const name = getTaskContext()!.name;
  if (existsSync(join(dataDir, 'fail-switch'))) {
    say(`attempt-failed ${name}`);
    throw new TypeError(`the fail switch is on (${when.toISOString()}, ${tags.size} tag, ${bytes.length} bytes)`);
  }
  say(`ran flaky ${name}`);
}, 'flaky');
const count = register(function count(name: string): void {
  say(`ran count ${name}`);
}, 'count');
const slow = register(async function slow(ms: number): Promise<void> {
  const name = getTaskContext()!.name;
  say(`started ${name}`);
  await new Promise((resolve) => setTimeout(resolve, ms));
  say(`ran slow ${name}`);
}, 'slow');

wrapApp((_req: unknown, res: { statusCode: number; end(body: string): void }) => {
  res.statusCode = 404;
  res.end('not found');
}, { useDeferred: true });

if (process.env.OPS_APP_OWN_HANDLER === '1') {
  process.on('SIGTERM', () => {
    say('app handler');
    void getRuntime()
      .shutdown()
      .then(() => {
        say('app handler done');
        process.exit(0);
      });
  });
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, name, extra] = line.trim().split(/\s+/);
  const enqueued = (promise: Promise<unknown>) =>
    promise.then(
      () => say(`enqueued ${name}`),
      (error: unknown) => say(`enqueue-failed ${name} ${(error as Error).message}`),
    );
  if (command === 'flaky') void enqueued(defer(flaky, new Date(Date.UTC(2026, 10, 30, 12)), new Map([['priority', 1]]), Buffer.from([1, 2, 3]), { _name: name!, _queue: 'work' }));
  else if (command === 'count') void enqueued(defer(count, name!, { _name: name!, _queue: extra! }));
  else if (command === 'slow') void enqueued(defer(slow, Number(extra), { _name: name!, _queue: 'work' }));
});
// Touch the backend now: the dispatcher starts (and the signal handlers are installed) before the first command.
void getRuntime().backend;
say('ready');

