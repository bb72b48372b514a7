// Worker thread of the CLI's tree scan (cli/background-scan.ts): boots while the CLI
// loads, waits for the run's scope, walks the tree, posts the file list, then reads and
// scans files in chunks claimed from a counter it shares with the main thread, posting
// each chunk as it is done. Imports nothing of the TypeScript toolchain.
import { parentPort } from 'node:worker_threads';
import { discoverSync } from '../codemods/analysis/discover.js';
import { scanContext, scanFile } from '../codemods/analysis/tree-scan.js';
import { claimChunk, type ScanMessage, type ScanRequest, type ScannedChunk } from './scan-protocol.js';

parentPort!.once('message', ({ paths, root, needles, claims, chunks }: ScanRequest) => {
  const discovery = discoverSync(paths, root);
  parentPort!.postMessage({ discovery } satisfies ScanMessage);
  const counter = new Int32Array(claims);
  const context = scanContext(discovery, needles);
  let posted = 0;
  for (let chunk = claimChunk(counter, discovery.files.length); chunk; chunk = claimChunk(counter, discovery.files.length)) {
    const scanned: ScannedChunk = [];
    for (let i = chunk.start; i < chunk.end; i++) {
      const file = discovery.files[i]!;
      if (file.kind === 'source') scanned.push([i, scanFile(file.absPath, context)]);
    }
    chunks.postMessage(scanned);
    posted++;
  }
  parentPort!.postMessage({ done: posted } satisfies ScanMessage);
});
