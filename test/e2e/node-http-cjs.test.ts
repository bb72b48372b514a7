// Plain node:http CommonJS legacy app: `require` of the SDK (namespace and
// destructured), `.js` and `.cjs` files, one webapp route table for the whole app.
import type * as http from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { register } from 'tsx/cjs/api';
import { afterAll } from 'vitest';
import { describeLegacyApp } from './support/app-suite.js';

// The legacy SDK is TypeScript; this lets the app's plain `require` load it.
const unregister = register();
afterAll(() => unregister());

describeLegacyApp({
  name: 'node-http-cjs',
  moduleKind: 'cjs',
  mainModule: 'main.js',
  async loadLegacyListener(appDir) {
    const { createApp } = createRequire(join(appDir, 'package.json'))('./app.js') as { createApp(): http.RequestListener };
    return createApp();
  },
});
