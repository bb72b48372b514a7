#!/usr/bin/env node
// Entry point of the `deferred-migrate` binary. The tree scan's worker thread boots
// first, while the rest of the CLI loads (cli/node-main.ts wires the engine, the
// streams and the environment into runCli).
import { prestartScanWorker } from './background-scan.js';

const argv = process.argv.slice(2);
const scanWorker = prestartScanWorker(argv);
const { main } = await import('./node-main.js');
main(argv, scanWorker);
