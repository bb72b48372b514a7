// Runs a migrated app in a fresh process on the shim, as it would start in
// production (its own `main`, listening on a port), and reports what a client
// observes. A fresh process is the point: it must know every task function by
// name from loading the app alone. Started by runDriver() with
// `node --import tsx after-driver.ts '<json DriverConfig>'` (driver-protocol.ts);
// prints one `E2E_RESULT <json>` line.
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DriverConfig, DriverResult } from './driver-protocol.js';
import { RESULT_MARKER } from './driver-protocol.js';
import { request } from './http.js';

type ShimModule = typeof import('../../../shim/index.js');

async function loadShim(config: DriverConfig): Promise<ShimModule> {
  // Resolved the way the app resolves it, so the app and this driver share one runtime.
  if (config.moduleKind === 'cjs') return createRequire(join(config.appDir, 'package.json'))('deferred-migrate/shim') as ShimModule;
  return (await import(pathToFileURL(join(config.workspace, 'shim-entry.mjs')).href)) as ShimModule;
}

async function startApp(config: DriverConfig): Promise<string> {
  const entry = join(config.appDir, config.mainModule);
  const module = (config.moduleKind === 'cjs' ? createRequire(entry)(entry) : await import(pathToFileURL(entry).href)) as {
    main(port: number): Server | Promise<Server>;
  };
  const server = await module.main(0);
  if (!server.listening) await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function drive(config: DriverConfig): Promise<DriverResult> {
  // The apps' custom task handler announces itself with console.info.
  const customHandlerRuns = { count: 0 };
  const info = console.info.bind(console);
  console.info = (...args: unknown[]) => {
    if (args[0] === 'Executing deferred task.') customHandlerRuns.count += 1;
    info(...args);
  };
  const shim = await loadShim(config);
  const clock = new shim.ManualClock(Date.UTC(2026, 0, 1));
  const errorLogs: string[] = [];
  const quiet = () => undefined;
  const runtime = shim.configure({
    backend: config.backend,
    clock,
    mode: config.scenario === 'legacy-v0' ? 'development' : 'production',
    logger: { debug: quiet, info: quiet, warn: quiet, error: (message, fields) => errorLogs.push(`${message} ${JSON.stringify(fields ?? {})}`) },
    ...(config.dataDir ? { dataDir: config.dataDir } : {}),
  });
  const baseUrl = await startApp(config);
  const counter = async () => (await request(baseUrl, '/counter/get')).body;
  const counters = [await counter()];

  if (config.scenario === 'legacy-v0') {
    // The legacy queue of the old deployment delivers what it still holds to the new code.
    const taskqueue = (await import(
      pathToFileURL(join(config.workspace, 'fixtures/legacy-runtime/google/appengine/api/taskqueue/index.ts')).href
    )) as typeof import('../../../fixtures/legacy-runtime/google/appengine/api/taskqueue/index.js');
    const queue = taskqueue.getLegacyQueue();
    for (const task of config.legacyTasks ?? []) {
      queue.add({ payload: Buffer.from(task.payloadBase64, 'base64'), url: task.url, queueName: task.queueName });
    }
    queue.setTarget({ baseUrl });
    await queue.advance(24 * 3600 * 1000);
    counters.push(await counter());
    const deliveries = queue.deliveries.map(({ url, status }) => ({ url, status }));
    return { counters, deliveries, customHandlerRuns: customHandlerRuns.count, errorLogs };
  }

  const increment = await request(baseUrl, '/counter/increment');
  await runtime.drain();
  counters.push(await counter());
  for (const step of [60_000, 60_000, 30_000]) {
    clock.advance(step);
    await runtime.drain();
    counters.push(await counter());
  }
  await runtime.close();
  return {
    counters,
    increment: { status: increment.status, body: increment.body },
    customHandlerRuns: customHandlerRuns.count,
    errorLogs,
  };
}

const config = JSON.parse(process.argv[2] ?? '{}') as DriverConfig;
drive(config).then(
  (result) => {
    process.stdout.write(`\n${RESULT_MARKER}${JSON.stringify(result)}\n`);
    process.exit(0);
  },
  (error: unknown) => {
    process.stderr.write(`driver failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
