// The server side of express-overhead.bench.mjs, in its own process so that the
// load generator does not share its event loop. argv[2], the variant:
//   plain       the app alone
//   imported    the app, with the shim imported but not used
//   configured  the app, with the shim configured and its embedded backend started, not wrapped
//   wrapped     the app wrapped with wrapApp(app, { useDeferred: true })
// (imported and configured split the wrapped app's cost into its steps.)
// Prints the port it listens on, then serves until killed.
//
// The wrapped server is measured in the state of a real app that has been up a
// while: its embedded backend is open and polling, and it has already run a task
// through its deferred endpoint (the in-process delivery, the task context), so
// whatever running tasks leaves behind in the process is part of the measurement.
import express from 'express';
import { importDist, tempDir } from './support.mjs';

const VARIANTS = ['plain', 'imported', 'configured', 'wrapped'];
const variant = process.argv[2];
if (!VARIANTS.includes(variant)) throw new Error(`usage: express-app.mjs ${VARIANTS.join('|')}`);

const app = express();
app.use(express.json());
// The server's own CPU time, read by the bench around each round: CPU per request
// is the measure of what wrapApp adds.
app.get('/__cpu', (_req, res) => {
  const { user, system } = process.cpuUsage();
  res.json({ micros: user + system });
});
app.get('/api/items/:id', (req, res) => {
  res.json({ id: req.params.id, name: `item ${req.params.id}`, tags: ['a', 'b'], price: 12.5 });
});

let served = app;
let warmUp = async () => {};
if (variant !== 'plain') {
  const { configure, defer, getRuntime, register, wrapApp } = await importDist('shim/index.js');
  // Silent: the bench's deferred-path requests are a warm-up task and a forged one (403).
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  if (variant !== 'imported') configure({ backend: 'embedded', dataDir: tempDir('express-app'), logger: silent });
  if (variant === 'configured') await getRuntime().backend;
  if (variant === 'wrapped') {
    served = wrapApp(app, { useDeferred: true });
    let ran;
    const taskRan = new Promise((resolve) => (ran = resolve));
    function warmUpTask(value) {
      ran(value);
    }
    register(warmUpTask);
    warmUp = async () => {
      await defer(warmUpTask, 'warm');
      if ((await taskRan) !== 'warm') throw new Error('the warm-up task did not run');
    };
  }
}

const server = served.listen(0, '127.0.0.1', async () => {
  await warmUp();
  process.stdout.write(`${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
