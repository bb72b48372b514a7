// The tree scan of a run, in a worker thread started before the rest of the CLI loads:
// booting the worker and walking the tree overlap with loading the CLI and the engine
// (ts-morph and TypeScript). Once the engine has loaded, the main thread takes the
// chunks the worker has scanned (the engine parses the files that name the legacy API
// right away) and claims chunks of its own from the same counter when there is nothing
// to parse. The main thread holds no file text beyond the one it scans or parses.
// The scan runs in process when no worker can run it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { Discovery } from '../codemods/analysis/discover.js';
import type { RunScope } from '../codemods/analysis/run-scope.js';
import { assembleTreeScan, scanContext, scanFile, scanTree, type FileScanResult, type ScanHooks, type TreeScanSource } from '../codemods/analysis/tree-scan.js';
import { claimChunk, type ScanMessage, type ScannedChunk, type ScanRequest } from './scan-protocol.js';

/** First arguments that never migrate: the queue commands, help and version. */
const NOT_A_MIGRATION = new Set(['queues', 'tasks', 'dashboard', '--help', '-h', '--version']);

export type ScanScope = Pick<RunScope, 'paths' | 'root' | 'needles'>;

export interface ScanWorker {
  /** Starts the scan of `scope` in the worker; call at most once. */
  start(scope: ScanScope): TreeScanSource;
}

/** Boots the scan worker (`workerFile`: the built cli/scan-worker.js) for a command line that may migrate; undefined when it will not. */
export function prestartScanWorker(argv: readonly string[], workerFile: URL): ScanWorker | undefined {
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

function inProcess(scope: ScanScope): TreeScanSource {
  return { finish: async () => scanTree(scope.paths, scope.root, scope.needles) };
}

/** The scan for a run: in the prestarted worker when there is one, else in process. */
export function startScan(worker: ScanWorker | undefined, scope: ScanScope): TreeScanSource {
  return worker ? worker.start(scope) : inProcess(scope);
}

function startInWorker(worker: Worker, scope: ScanScope): TreeScanSource {
  const claims = new SharedArrayBuffer(4);
  const counter = new Int32Array(claims);
  const { port1: chunks, port2: workerChunks } = new MessageChannel();
  let discovered: (discovery: Discovery | undefined) => void = () => undefined;
  let ended: (posted: number | undefined) => void = () => undefined;
  const discovery = new Promise<Discovery | undefined>((resolve) => (discovered = resolve));
  const done = new Promise<number | undefined>((resolve) => (ended = resolve));
  worker.on('message', (message: ScanMessage) => {
    if ('discovery' in message) discovered(message.discovery);
    else ended(message.done);
  });
  // A worker that dies ends the scan with nothing more: the main thread scans what is missing.
  worker.once('exit', () => {
    discovered(undefined);
    ended(undefined);
  });
  const request: ScanRequest = { paths: scope.paths, root: scope.root, needles: scope.needles, claims, chunks: workerChunks };
  // From here the run waits for the worker: it must keep the process alive until it ends.
  worker.ref();
  worker.postMessage(request, [workerChunks]);

  return {
    async finish(hooks: ScanHooks = {}) {
      const found = await discovery;
      if (found === undefined) {
        worker.unref();
        return inProcess(scope).finish();
      }
      hooks.discovered?.(found);
      const results: Array<FileScanResult | undefined> = new Array(found.files.length);
      let received = 0;
      const record = (i: number, result: FileScanResult): void => {
        results[i] = result;
        if (!('unreadable' in result)) hooks.scanned?.(found.files[i]!.absPath, result);
      };
      const drain = (): void => {
        for (let message = receiveMessageOnPort(chunks); message; message = receiveMessageOnPort(chunks)) {
          received++;
          for (const [i, result] of message.message as ScannedChunk) record(i, result);
        }
      };
      const context = scanContext(found, scope.needles);
      const scanHere = (i: number): void => {
        const file = found.files[i]!;
        if (file.kind === 'source' && results[i] === undefined) record(i, scanFile(file.absPath, context));
      };
      // This thread's share: what the worker has scanned first (the hooks parse it while the
      // worker reads on), then a chunk of its own, until no chunk is left to claim.
      for (;;) {
        drain();
        const chunk = claimChunk(counter, found.files.length);
        if (!chunk) break;
        for (let i = chunk.start; i < chunk.end; i++) scanHere(i);
      }
      const posted = await done;
      worker.unref();
      drain();
      // Chunks posted before the end are queued before it; wait a turn if one is still in flight.
      for (let turns = 0; posted !== undefined && received < posted && turns < 100; turns++) {
        await new Promise((resolve) => setImmediate(resolve));
        drain();
      }
      chunks.close();
      // Stopped now, so the worker's heap is torn down while the engine works: a worker
      // left to the end of the process holds up its exit by that teardown (about 30 ms).
      worker.terminate().catch(() => undefined);
      // After a worker died (or a chunk never came): whatever is missing, scanned here.
      for (let i = 0; i < found.files.length; i++) scanHere(i);
      return assembleTreeScan(found, results);
    },
  };
}
