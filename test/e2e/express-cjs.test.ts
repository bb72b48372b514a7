// Express 5 + plain CommonJS JavaScript (type-checked through JSDoc) legacy app,
// built on bindings derived across files: the SDK re-exported through
// `module.exports = { TaskHandler: d.TaskHandler, ... }`, a base class read from
// that object (`const Base = sdk.TaskHandler`), a class expression extending it,
// `defer` destructured from the required object; route tables filled by `push`
// and built with `concat`, one mounted under a prefix (`app.use('/custom', ...)`).
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
  name: 'express-cjs',
  moduleKind: 'cjs',
  mainModule: 'main.js',
  async loadLegacyListener(appDir) {
    const { createApp } = createRequire(join(appDir, 'package.json'))('./app.js') as { createApp(): http.RequestListener };
    return createApp();
  },
});
