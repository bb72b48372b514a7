// Koa + TypeScript (NodeNext) legacy app: aliased named imports, a default
// import, `import type`, a route table mounted through koa-connect.
import type Koa from 'koa';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeLegacyApp } from './support/app-suite.js';

describeLegacyApp({
  name: 'koa-ts',
  moduleKind: 'esm',
  mainModule: 'src/main.ts',
  async loadLegacyListener(appDir) {
    const { createApp } = (await import(pathToFileURL(join(appDir, 'src/app.ts')).href)) as { createApp(): Koa };
    return createApp().callback();
  },
});
