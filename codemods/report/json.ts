// Machine-readable report. The schema is documented in docs/cli.md ("JSON report");
// `version` changes only on incompatible changes (fields may be added within a version).
import type { FileStatus, ReasonCode, ReportItem } from '../types.js';
import { fileDiff } from './diff.js';
import { allItems, filesPerSecond, hasChanges, isApplied, isManual, notableFiles, type RunMode, type RunReport } from './run-report.js';

export const JSON_REPORT_VERSION = 1;

export interface JsonReport {
  version: typeof JSON_REPORT_VERSION;
  tool: { name: string; version: string };
  mode: RunMode;
  /** Absolute root; every `file` below is relative to it, POSIX separators. */
  root: string;
  summary: {
    scanned: number;
    candidates: number;
    migrated: number;
    unchanged: number;
    manual: number;
    failed: number;
    /** Items a human must act on (every severity but `note`). */
    manualSteps: number;
    /** Items per reason code, notes included. */
    itemsByCode: Partial<Record<ReasonCode, number>>;
    durationMs: number;
    filesPerSecond: number;
  };
  /** Every file that changes, needs manual work or failed (unchanged files are only counted). */
  files: Array<{
    file: string;
    status: FileStatus;
    /** True when this run wrote the changes to disk. */
    applied: boolean;
    edits: Array<{ rule: string; line: number; description: string }>;
    items: ReportItem[];
    /** Unified diff of the change (present when the file changes). */
    diff?: string;
  }>;
}

export function toJsonReport(report: RunReport): JsonReport {
  const { result, mode } = report;
  const items = allItems(result);
  const itemsByCode: Partial<Record<ReasonCode, number>> = {};
  for (const item of items) itemsByCode[item.code] = (itemsByCode[item.code] ?? 0) + 1;
  return {
    version: JSON_REPORT_VERSION,
    tool: report.tool,
    mode,
    root: result.root,
    summary: {
      scanned: result.summary.scanned,
      candidates: result.summary.candidates,
      migrated: result.summary.migrated,
      unchanged: result.summary.unchanged,
      manual: result.summary.manual,
      failed: result.summary.failed,
      manualSteps: items.filter(isManual).length,
      itemsByCode,
      durationMs: Math.round(result.durationMs),
      filesPerSecond: filesPerSecond(result.summary.scanned, result.durationMs),
    },
    files: notableFiles(result).map((f) => ({
      file: f.file,
      status: f.status,
      applied: isApplied(mode, f),
      edits: [...f.edits].sort((a, b) => a.line - b.line),
      items: [...f.items].sort((a, b) => a.line - b.line || a.column - b.column),
      ...(hasChanges(f) && f.status !== 'failed' ? { diff: fileDiff(f.file, f.original, f.updated!) } : {}),
    })),
  };
}

export function renderJson(report: RunReport): string {
  return `${JSON.stringify(toJsonReport(report), null, 2)}\n`;
}
