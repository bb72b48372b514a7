// What the main thread and the scan worker share: the request, the counter from which
// both claim chunks of the file list (so each file is scanned exactly once), and the
// messages: the file list and the end on the worker's parent port, the scanned chunks
// on a port of their own that the main thread reads synchronously between its parses.
import type { MessagePort } from 'node:worker_threads';
import type { Discovery } from '../codemods/analysis/discover.js';
import type { FileScanResult } from '../codemods/analysis/tree-scan.js';

export interface ScanRequest {
  paths: string[];
  root: string;
  needles: string[];
  /** One Int32: the index of the next unclaimed file. */
  claims: SharedArrayBuffer;
  /** Where the worker posts each scanned chunk (a ScannedChunk). */
  chunks: MessagePort;
}

/** Scans by index into the discovery's file list. */
export type ScannedChunk = Array<[number, FileScanResult]>;

/** On the parent port: the file list first, then how many chunks were posted, at the end. */
export type ScanMessage = { discovery: Discovery } | { done: number };

/** Files per claim: small enough to share the tail evenly, large enough that claiming costs nothing. */
const CHUNK = 32;

export function claimChunk(counter: Int32Array, total: number): { start: number; end: number } | undefined {
  const start = Atomics.add(counter, 0, CHUNK);
  return start < total ? { start, end: Math.min(start + CHUNK, total) } : undefined;
}
