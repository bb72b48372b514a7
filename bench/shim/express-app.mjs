// The server side of express-overhead.bench.mjs, in its own process so that the
// load generator does not share its event loop. argv[2]: "plain" or "wrapped".
// Prints the port it listens on, then serves until killed.
import express from 'express';
import { importDist, tempDir } from './support.mjs';

const variant = process.argv[2];
if (variant !== 'plain' && variant !== 'wrapped') throw new Error('usage: express-app.mjs plain|wrapped');

const app = express();
app.use(express.json());
// The server's own CPU time, read by the bench between rounds: CPU per request
// is the steady measure of what wrapApp adds, where req/s on 2 shared cores is noisy.
app.get('/__cpu', (_req, res) => {
  const { user, system } = process.cpuUsage();
  res.json({ micros: user + system });
});
app.get('/api/items/:id', (req, res) => {
  res.json({ id: req.params.id, name: `item ${req.params.id}`, tags: ['a', 'b'], price: 12.5 });
});

let served = app;
if (variant === 'wrapped') {
  const { configure, wrapApp } = await importDist('shim/index.js');
  // Silent: the only deferred-path request is the bench's check that it answers 403.
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  configure({ backend: 'embedded', dataDir: tempDir('express-app'), logger: silent });
  served = wrapApp(app, { useDeferred: true });
}

const server = served.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
