// What the main thread and the scan worker share: the request, and the counter from
// which both claim chunks of the file list, so each file is scanned exactly once.
import type { Discovery } from '../codemods/analysis/discover.js';
import type { FileScanResult } from '../codemods/analysis/tree-scan.js';

export interface ScanRequest {
  paths: string[];
  root: string;
  needles: string[];
  /** One Int32: the index of the next unclaimed file. */
  claims: SharedArrayBuffer;
}

export type ScanMessage = { discovery: Discovery } | { results: Array<[number, FileScanResult]> };

/** Files per claim: small enough to share the tail evenly, large enough that claiming costs nothing. */
const CHUNK = 32;

export function claimChunk(counter: Int32Array, total: number): { start: number; end: number } | undefined {
  const start = Atomics.add(counter, 0, CHUNK);
  return start < total ? { start, end: Math.min(start + CHUNK, total) } : undefined;
}
