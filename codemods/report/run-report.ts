// The facts every renderer (summary, JSON, Markdown, SARIF) reads: the engine's
// result after the CLI's write phase, plus what kind of run it was.
import { isManual, type FileResult, type MigrationResult, type ReasonCode, type ReportItem } from '../types.js';

export { isManual };

export type RunMode = 'write' | 'dry-run' | 'check';

export interface RunReport {
  tool: { name: string; version: string };
  mode: RunMode;
  result: MigrationResult;
}

export function hasChanges(file: FileResult): boolean {
  return file.updated !== undefined && file.updated !== file.original;
}

/** True when a run in `mode` wrote this file's changes. */
export function isApplied(mode: RunMode, file: FileResult): boolean {
  return mode === 'write' && file.status !== 'failed' && hasChanges(file);
}

/** Files worth listing: everything but plain unchanged files, sorted by path. */
export function notableFiles(result: MigrationResult): FileResult[] {
  return result.files.filter((f) => f.status !== 'unchanged' || f.items.length > 0 || hasChanges(f)).sort(byFile);
}

/** Every item, notes (what was done) included, sorted by location. */
export function allItems(result: MigrationResult): ReportItem[] {
  return result.files.flatMap((f) => f.items).sort(byLocation);
}

export function itemsByCode(items: ReportItem[]): Map<ReasonCode, ReportItem[]> {
  const groups = new Map<ReasonCode, ReportItem[]>();
  for (const item of [...items].sort(byLocation)) groups.set(item.code, [...(groups.get(item.code) ?? []), item]);
  return new Map([...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function filesPerSecond(scanned: number, durationMs: number): number {
  return durationMs > 0 ? Math.round((scanned * 1000) / durationMs) : scanned;
}

export function byFile(a: { file: string }, b: { file: string }): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : 0;
}

export function byLocation(a: ReportItem, b: ReportItem): number {
  return byFile(a, b) || a.line - b.line || a.column - b.column || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0);
}
