// One Cloud Tasks world per test: the OIDC issuer, the test Cloud Tasks server
// (sharing its clock with the shim runtime), an app listening on a loopback port,
// and the shim configured with a CloudTasksBackend that talks to the server
// through the real @google-cloud/tasks client.
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudTasksBackend, type CloudTasksConfig } from '../../shim/backends/cloud-tasks/backend.js';
import type { Logger } from '../../shim/api/types.js';
import { configure, getRuntime, resetRuntime } from '../../shim/runtime/runtime.js';
import { CloudTasksTestServer, type QueueSeed } from './server/cloud-tasks-server.js';
import { TestOidcIssuer } from './server/oidc-issuer.js';

export const PROJECT = 'test-project';
export const LOCATION = 'us-central1';
export const SERVICE_ACCOUNT = 'tasks-invoker@test-project.iam.gserviceaccount.com';

export interface LogEntry {
  level: keyof Logger;
  message: string;
  fields?: Record<string, unknown>;
}

export function recordingLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: keyof Logger) => (message: string, fields?: Record<string, unknown>) => void entries.push({ level, message, fields });
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export interface WorldOptions {
  target: 'appengine' | 'http';
  queues?: string[] | Record<string, QueueSeed>;
  /** Extra backend options (merged over the defaults below). */
  backend?: Partial<CloudTasksConfig>;
  serverMaxTaskSizeBytes?: number;
  /** How the client talks to the server: gRPC (default) or the REST fallback. */
  transport?: 'grpc' | 'rest';
  /** The environment the backend reads (default: none, so the test machine's variables play no part). */
  env?: Record<string, string>;
}

export interface World {
  issuer: TestOidcIssuer;
  server: CloudTasksTestServer;
  backend: CloudTasksBackend;
  appUrl: string;
  logger: ReturnType<typeof recordingLogger>;
  /** Waits for enqueues in flight, then moves the shared clock and delivers what fell due. */
  advance(ms: number): Promise<number>;
  get(path: string): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

/** An app to serve: a Node listener (Express apps are ones) or a Koa app (`callback()`). */
export type Servable = RequestListener | { callback(): RequestListener };

/**
 * The app is created only after the runtime is configured with the Cloud Tasks
 * backend: `wrapApp` starts the runtime's backend, which must not be the default one.
 */
export async function startWorld(createApp: () => Servable | Promise<Servable>, options: WorldOptions): Promise<World> {
  const issuer = await new TestOidcIssuer().start();
  let listener: RequestListener = (_req, res) => {
    res.statusCode = 503;
    res.end('app not created yet');
  };
  const http = createServer((req, res) => listener(req, res));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  http.keepAliveTimeout = 1;
  const appUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const server = await new CloudTasksTestServer({
    project: PROJECT,
    location: LOCATION,
    queues: options.queues ?? ['default'],
    appEngineServices: { default: appUrl },
    signIdToken: (claims) => issuer.sign(claims),
    maxTaskSizeBytes: options.serverMaxTaskSizeBytes,
  }).start();
  const logger = recordingLogger();
  const backend = new CloudTasksBackend(
    {
      project: PROJECT,
      location: LOCATION,
      target: options.target,
      ...(options.target === 'http' ? { baseUrl: appUrl, serviceAccountEmail: SERVICE_ACCOUNT } : {}),
      apiEndpoint: '127.0.0.1',
      ...(options.transport === 'rest' ? { port: server.restPort, fallback: 'rest' as const } : { port: server.port }),
      insecure: true,
      timeoutMs: 5000,
      oidcCertsUrls: { pem: issuer.pemCertsUrl, jwk: issuer.jwkCertsUrl },
      ...options.backend,
    },
    { logger, env: options.env ?? {} },
  );
  configure({ backend, clock: server.clock, mode: 'production', logger });
  const app = await createApp();
  listener = typeof app === 'function' ? app : app.callback();
  return {
    issuer,
    server,
    backend,
    appUrl,
    logger,
    async advance(ms) {
      await getRuntime().drain();
      return server.advance(ms);
    },
    async get(path) {
      const response = await fetch(appUrl + path);
      return { status: response.status, body: await response.text() };
    },
    async close() {
      await resetRuntime();
      await server.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await issuer.close();
    },
  };
}
