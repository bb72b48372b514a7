// The tree scan of a run, in a worker thread started before the rest of the CLI loads:
// booting the worker and walking the tree overlap with loading the CLI and the engine
// (ts-morph and TypeScript). Reading and scanning the files is shared: the worker
// starts, and the main thread joins in once the engine has loaded, claiming chunks
// from the same counter. The main thread holds no file text beyond the one it scans.
// The scan runs in process when no worker can run it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Discovery } from '../codemods/analysis/discover.js';
import type { RunScope } from '../codemods/analysis/run-scope.js';
import { assembleTreeScan, scanFile, scanTree, type FileScanResult, type TreeScan } from '../codemods/analysis/tree-scan.js';
import { claimChunk, type ScanMessage, type ScanRequest } from './scan-protocol.js';

const WORKER = new URL('./scan-worker.js', import.meta.url);
/** First arguments that never migrate: the queue commands, help and version. */
const NOT_A_MIGRATION = new Set(['queues', 'tasks', 'dashboard', '--help', '-h', '--version']);

export type ScanScope = Pick<RunScope, 'paths' | 'root' | 'needles'>;

export interface Scan {
  /** Joins the scan (main thread's share of the files), then the whole result. */
  finish(): Promise<TreeScan>;
}

export interface ScanWorker {
  /** Starts the scan of `scope` in the worker; call at most once. */
  start(scope: ScanScope): Scan;
}

/** Boots the scan worker for a command line that may migrate; undefined when it will not. */
export function prestartScanWorker(argv: readonly string[], workerFile: URL = WORKER): ScanWorker | undefined {
  if (argv.some((arg) => NOT_A_MIGRATION.has(arg))) return undefined;
  // Sources run by a TypeScript loader (tests) have no compiled worker beside them.
  if (!existsSync(fileURLToPath(workerFile))) return undefined;
  let worker: Worker;
  try {
    worker = new Worker(workerFile);
  } catch {
    return undefined;
  }
  // A run that ends before it scans (a usage error, a refused dirty tree) must not wait for it.
  worker.unref();
  worker.on('error', () => undefined); // reported through 'exit' below
  return { start: (scope) => startInWorker(worker, scope) };
}

/** The scan for a run: in the prestarted worker when there is one, else in process. */
export function startScan(worker: ScanWorker | undefined, scope: ScanScope): Scan {
  return worker ? worker.start(scope) : { finish: async () => scanTree(scope.paths, scope.root, scope.needles) };
}

function startInWorker(worker: Worker, scope: ScanScope): Scan {
  const claims = new SharedArrayBuffer(4);
  const counter = new Int32Array(claims);
  let discovered: (discovery: Discovery | undefined) => void = () => undefined;
  let scanned: (results: Array<[number, FileScanResult]> | undefined) => void = () => undefined;
  const discovery = new Promise<Discovery | undefined>((resolve) => (discovered = resolve));
  const theirs = new Promise<Array<[number, FileScanResult]> | undefined>((resolve) => (scanned = resolve));
  worker.on('message', (message: ScanMessage) => {
    if ('discovery' in message) discovered(message.discovery);
    else scanned(message.results);
  });
  // A worker that dies resolves with nothing: the main thread scans what is missing.
  worker.once('exit', () => {
    discovered(undefined);
    scanned(undefined);
  });
  const request: ScanRequest = { paths: scope.paths, root: scope.root, needles: scope.needles, claims };
  worker.postMessage(request);

  return {
    async finish() {
      const found = await discovery;
      if (found === undefined) return scanTree(scope.paths, scope.root, scope.needles);
      const results: Array<FileScanResult | undefined> = new Array(found.files.length);
      const scanInto = (i: number): void => {
        const file = found.files[i]!;
        if (file.kind === 'source') results[i] = scanFile(file.absPath, scope.needles);
      };
      for (let chunk = claimChunk(counter, found.files.length); chunk; chunk = claimChunk(counter, found.files.length)) {
        for (let i = chunk.start; i < chunk.end; i++) scanInto(i);
      }
      const fromWorker = await theirs;
      if (fromWorker) for (const [i, result] of fromWorker) results[i] = result;
      else found.files.forEach((file, i) => results[i] === undefined && scanInto(i));
      return assembleTreeScan(found, results);
    },
  };
}
