#!/usr/bin/env node
// Entry point of the `deferred-migrate` binary. The tree scan's worker thread boots
// first, then the rest of the CLI loads (cli/node-main.ts wires the engine, the
// streams and the environment into runCli). The CLI and the engine load from their
// CommonJS build (dist/cjs) under the V8 compile cache: on Node 20 a CommonJS graph
// loads faster than ESM (no export lexing, no linking) and only CommonJS gets the
// cache. The ESM modules beside this one when there is no CommonJS build.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { enableCompileCache } from './compile-cache.js';

type BackgroundScan = typeof import('./background-scan.js');
type NodeMain = typeof import('./node-main.js');

const argv = process.argv.slice(2);
const cliDir = fileURLToPath(new URL('.', import.meta.url));
const commonJs = fileURLToPath(new URL('../../cjs/cli/', import.meta.url));
const fromCommonJs = existsSync(`${commonJs}node-main.js`);
const load = async <T>(name: string): Promise<T> => (fromCommonJs ? (createRequire(import.meta.url)(`${commonJs}${name}`) as T) : ((await import(`./${name}`)) as T));

enableCompileCache();
const { prestartScanWorker } = await load<BackgroundScan>('background-scan.js');
const scanWorker = prestartScanWorker(argv, new URL('./scan-worker.js', import.meta.url));
const { main } = await load<NodeMain>('node-main.js');
main(argv, scanWorker, cliDir);
