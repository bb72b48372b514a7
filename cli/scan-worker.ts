// Worker thread of the CLI's tree scan (cli/background-scan.ts): boots while the CLI
// loads, waits for the run's scope, walks the tree, posts the file list, then reads and
// scans files in chunks claimed from a counter it shares with the main thread, which
// joins in once the engine has loaded. Imports nothing of the TypeScript toolchain.
import { parentPort } from 'node:worker_threads';
import { discoverSync } from '../codemods/analysis/discover.js';
import { scanFile, type FileScanResult } from '../codemods/analysis/tree-scan.js';
import { claimChunk, type ScanRequest } from './scan-protocol.js';

parentPort!.once('message', ({ paths, root, needles, claims }: ScanRequest) => {
  const discovery = discoverSync(paths, root);
  parentPort!.postMessage({ discovery });
  const counter = new Int32Array(claims);
  const results: Array<[number, FileScanResult]> = [];
  for (let chunk = claimChunk(counter, discovery.files.length); chunk; chunk = claimChunk(counter, discovery.files.length)) {
    for (let i = chunk.start; i < chunk.end; i++) {
      const file = discovery.files[i]!;
      if (file.kind === 'source') results.push([i, scanFile(file.absPath, needles)]);
    }
  }
  parentPort!.postMessage({ results });
});
