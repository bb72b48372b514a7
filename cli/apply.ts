// Write phase: the engine's updated texts go to disk one atomic write per file.
// A file that cannot be written (or changed on disk since the engine read it) is
// left as it was and becomes a failed file with an `io-error` item; the others go on.
import * as path from 'node:path';
import { sweepStaleTempFiles, writeFileAtomic, type WriteFs } from '../codemods/io.js';
import { hasChanges } from '../codemods/report/run-report.js';
import type { FileResult, MigrationResult, ReportItem } from '../codemods/types.js';

export const WRITE_RULE = 'write';
const WRITE_CONCURRENCY = 8;

export interface ApplyOptions {
  fs?: WriteFs;
  docsUrl: (code: ReportItem['code']) => string;
}

export interface ApplyOutcome {
  result: MigrationResult;
  /** Absolute paths written. */
  written: string[];
}

export async function applyChanges(result: MigrationResult, options: ApplyOptions): Promise<ApplyOutcome> {
  const pending = result.files.filter((f) => f.status !== 'failed' && hasChanges(f));
  // A run killed mid-write may have left temp files beside the files it was writing.
  await Promise.all([...new Set(pending.map((f) => path.dirname(f.absPath)))].map((dir) => sweepStaleTempFiles(dir)));
  const failures = new Map<FileResult, ReportItem>();
  const written: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < pending.length) {
      const file = pending[next++]!;
      const outcome = await writeFileAtomic(file.absPath, file.updated!, { expectedOriginal: file.original, fs: options.fs });
      if (outcome.ok) written.push(file.absPath);
      else {
        failures.set(file, {
          file: file.file,
          line: 1,
          column: 1,
          code: 'io-error',
          severity: 'error',
          message: `not written: ${outcome.message}`,
          rule: WRITE_RULE,
          docsUrl: options.docsUrl('io-error'),
        });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, pending.length) }, worker));
  if (failures.size === 0) return { result, written };

  const summary = { ...result.summary };
  const files = result.files.map((f) => {
    const item = failures.get(f);
    if (!item) return f;
    summary[f.status] -= 1;
    summary.failed += 1;
    return { ...f, status: 'failed' as const, items: [...f.items, item] };
  });
  return { result: { ...result, files, summary }, written };
}
