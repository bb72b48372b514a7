// Fastify + TypeScript (NodeNext) legacy app: namespace imports, a route table
// mounted through @fastify/middie, an async main, and a use of the task defer returns.
import type { FastifyInstance } from 'fastify';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeLegacyApp } from './support/app-suite.js';

describeLegacyApp({
  name: 'fastify-ts',
  moduleKind: 'esm',
  mainModule: 'src/server.ts',
  async loadLegacyListener(appDir) {
    const { createApp } = (await import(pathToFileURL(join(appDir, 'src/app.ts')).href)) as { createApp(): Promise<FastifyInstance> };
    const app = await createApp();
    await app.ready();
    return app.server;
  },
});
