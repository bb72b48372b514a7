// Plain node:http + TypeScript (NodeNext) legacy app, built on bindings derived
// across files: the SDK's TaskHandler and defer destructured from a namespace
// import and re-exported under other names, a handler class expression extending
// the derived base, a route table spread together from row arrays in one file and
// called as a listener from the app in another.
import type * as http from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeLegacyApp } from './support/app-suite.js';

describeLegacyApp({
  name: 'node-http-ts',
  moduleKind: 'esm',
  mainModule: 'src/main.ts',
  async loadLegacyListener(appDir) {
    const { createApp } = (await import(pathToFileURL(join(appDir, 'src/app.ts')).href)) as { createApp(): http.RequestListener };
    return createApp();
  },
});
