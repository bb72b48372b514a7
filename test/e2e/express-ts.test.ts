// Express + TypeScript legacy app: barrel re-exports, a TaskHandler subclass
// chain across files, a route table mounted with app.use, app.yaml builtins.
import type * as http from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeLegacyApp } from './support/app-suite.js';

describeLegacyApp({
  name: 'express-ts',
  moduleKind: 'esm',
  mainModule: 'src/main.ts',
  viaCli: true,
  async loadLegacyListener(appDir) {
    const { createApp } = (await import(pathToFileURL(join(appDir, 'src/app.ts')).href)) as { createApp(): http.RequestListener };
    return createApp();
  },
});
