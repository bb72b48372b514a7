// The process the hostile-request and soak suites talk to over loopback HTTP: a
// wrapped Express 5 app (body parser registered after wrapApp, as real apps do)
// and a wrapped plain Node listener, in production mode, so task requests need
// the dispatcher's signature. One registered task function, `probe`, records
// every call; `GET /__stats` reports what ran and the process's memory.
//
// argv[2]: JSON of TargetAppConfig. First stdout line: JSON {express, node} ports.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Logger } from '../../../shim/api/types.js';
import { configure, defer, environFrom, getRuntime, Handler, register, wrapApp } from '../../../shim/index.js';

export interface TargetAppConfig {
  backend: 'memory' | 'embedded';
  dataDir?: string;
  signingSecret: string;
  maxBodyBytes: number;
}

export interface TargetStats {
  /** Calls of `probe` with a non-numeric id, in order: the id of each. */
  runs: unknown[];
  /** Calls with numeric ids (the soak's), counted in a fixed array so that counting allocates nothing. */
  numeric: { total: number; distinct: number; duplicates: number; missingCount: number; missing: number[] };
  /** Arguments of the last call, as JSON with own `__proto__` keys kept. */
  lastArgs: string;
  polluted: boolean;
  errorsLogged: number;
  /** Tasks still in the queue (embedded) or -1. */
  queued: number;
  heapUsed: number;
  rss: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as TargetAppConfig;
let errorsLogged = 0;
const logger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => void (errorsLogged += 1),
};
configure({
  backend: config.backend,
  ...(config.dataDir !== undefined && { dataDir: config.dataDir }),
  mode: 'production',
  signingSecret: config.signingSecret,
  maxBodyBytes: config.maxBodyBytes,
  logger,
});

const runs: unknown[] = [];
const MAX_NUMERIC_ID = 1 << 22;
const numericRuns = new Uint8Array(MAX_NUMERIC_ID);
let numericTotal = 0;
let lastArgs = '[]';
const probe = register(function probe(id: unknown, ...rest: unknown[]): void {
  if (typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < MAX_NUMERIC_ID) {
    numericTotal += 1;
    numericRuns[id] = Math.min(255, numericRuns[id]! + 1);
    return;
  }
  runs.push(id);
  lastArgs = JSON.stringify([id, ...rest], (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value));
}, 'probe');

/** `upTo`: numeric ids 0..upTo-1 were enqueued; the stats say which never ran. */
function stats(upTo = 0): TargetStats {
  let distinct = 0;
  let duplicates = 0;
  const missing: number[] = [];
  let missingCount = 0;
  for (let id = 0; id < Math.max(upTo, 0) && id < MAX_NUMERIC_ID; id += 1) {
    const count = numericRuns[id]!;
    if (count === 0) {
      missingCount += 1;
      if (missing.length < 50) missing.push(id);
    } else {
      distinct += 1;
      duplicates += count - 1;
    }
  }
  (globalThis as { gc?: () => void }).gc?.();
  const backend = getRuntime().backend as { store?: { size(): number } };
  const memory = process.memoryUsage();
  return {
    runs,
    numeric: { total: numericTotal, distinct, duplicates, missingCount, missing },
    lastArgs,
    polluted: ({} as Record<string, unknown>).polluted !== undefined || Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'),
    errorsLogged,
    queued: backend.store ? backend.store.size() : -1,
    heapUsed: memory.heapUsed,
    rss: memory.rss,
  };
}

const app = wrapApp(express(), { useDeferred: true });
app.use(express.json({ limit: '1mb' }));
app.get('/__stats', (req, res) => void res.json(stats(Number(req.query.upTo ?? 0))));
app.post('/__drain', async (_req, res) => void res.json({ delivered: await getRuntime().drain() }));
// Defers `probe(id, filler)`: the soak's tasks.
app.post('/enqueue', async (req, res) => {
  const { id, filler } = req.body as { id: number; filler: string };
  const task = await defer(probe, id, filler);
  res.status(202).json({ name: task.name });
});
// A custom task URL, answered by the Handler through environFrom, behind a raw parser.
app.post('/custom-task', express.raw({ type: '*/*', limit: config.maxBodyBytes * 2 }), async (req, res) => {
  const [body, status, headers] = await new Handler().post(environFrom(req));
  res.status(status).set(headers).send(body);
});
app.get('/ping', (_req, res) => void res.send('pong'));

// The plain Node listener serves only the deferred path (and 404s); it does not
// take over deliveries from the Express app.
const nodeListener = wrapApp(
  (_req: IncomingMessage, res: ServerResponse) => {
    res.statusCode = 404;
    res.end('not found');
  },
  { useDeferred: true, deliver: false },
);

const expressServer = app.listen(0, '127.0.0.1');
const nodeServer = createServer(nodeListener).listen(0, '127.0.0.1');
await Promise.all([expressServer, nodeServer].map((server) => new Promise((resolve) => server.once('listening', resolve))));
process.stdout.write(
  `${JSON.stringify({ express: (expressServer.address() as AddressInfo).port, node: (nodeServer.address() as AddressInfo).port })}\n`,
);
process.on('SIGTERM', () => {
  void getRuntime()
    .close()
    .finally(() => process.exit(0));
});
