// Human-readable console output: per-file status lines, manual items, the summary line.
import type { FileResult, MigrationResult, ReportItem } from '../types.js';
import { painter, type Painter, type Style } from './color.js';
import { filesPerSecond, hasChanges, isApplied, isManual, notableFiles, type RunMode } from './run-report.js';

export interface HumanOutputOptions {
  color?: boolean;
  /** Also list unchanged files. */
  verbose?: boolean;
}

/** `N migrated, N unchanged, N manual, N failed (N files scanned in X s, Y files/s)` */
export function summaryLine(result: MigrationResult, options: HumanOutputOptions = {}): string {
  const paint = painter(options.color ?? false);
  const s = result.summary;
  const seconds = (result.durationMs / 1000).toFixed(2);
  const counts = [
    paint(s.migrated > 0 ? 'green' : 'dim', `${s.migrated} migrated`),
    `${s.unchanged} unchanged`,
    paint(s.manual > 0 ? 'yellow' : 'dim', `${s.manual} manual`),
    paint(s.failed > 0 ? 'red' : 'dim', `${s.failed} failed`),
  ];
  return `${counts.join(', ')} (${s.scanned} files scanned in ${seconds} s, ${filesPerSecond(s.scanned, result.durationMs)} files/s)`;
}

const STATUS_STYLE: Record<FileResult['status'], Style> = { migrated: 'green', manual: 'yellow', failed: 'red', unchanged: 'dim' };

/** One line per notable file: status word, path, what happened. */
export function statusLines(mode: RunMode, result: MigrationResult, options: HumanOutputOptions = {}): string[] {
  const paint = painter(options.color ?? false);
  const files = options.verbose ? [...result.files].sort((a, b) => (a.file < b.file ? -1 : 1)) : notableFiles(result);
  return files.map((f) => {
    const word = paint(STATUS_STYLE[f.status], f.status.padEnd(9));
    return `${word} ${f.file}${describeFile(mode, f)}`;
  });
}

function describeFile(mode: RunMode, f: FileResult): string {
  if (f.status === 'failed') {
    const errors = f.items.filter((i) => i.severity === 'error');
    return errors.length > 0 ? ` (${errors.map((i) => `${i.code}: ${i.message}`).join('; ')})` : '';
  }
  const parts: string[] = [];
  if (hasChanges(f)) {
    const n = f.edits.length;
    const verb = isApplied(mode, f) ? 'written' : mode === 'write' ? 'not written' : 'would change';
    parts.push(`${n} edit${n === 1 ? '' : 's'}, ${verb}`);
  }
  const manual = f.items.filter(isManual).length;
  const notes = f.items.length - manual;
  if (manual > 0) parts.push(`${manual} manual item${manual === 1 ? '' : 's'}`);
  if (notes > 0) parts.push(`${notes} note${notes === 1 ? '' : 's'}`);
  return parts.length > 0 ? ` (${parts.join('; ')})` : '';
}

/** `path:line:col  severity  code  message  docsUrl` per item. */
export function itemLines(items: ReportItem[], options: HumanOutputOptions = {}): string[] {
  const paint = painter(options.color ?? false);
  const severityStyle: Record<ReportItem['severity'], Style> = { error: 'red', warning: 'yellow', note: 'cyan' };
  return items.map(
    (i) =>
      `${i.file}:${i.line}:${i.column}  ${paint(severityStyle[i.severity], i.severity)}  ${paint('bold', i.code)}  ${
        i.acknowledged !== undefined ? `acknowledged${i.acknowledged ? ` (${i.acknowledged})` : ''}: ` : ''
      }${i.message}  ${paint('dim', i.docsUrl)}`,
  );
}

/** For `check`: every place a legacy usage remains, edits first (they would be rewritten), then manual items. */
export function remainingUsageLines(result: MigrationResult, paintFn: Painter = painter(false)): string[] {
  const lines: string[] = [];
  for (const f of notableFiles(result)) {
    if (!hasChanges(f) || f.status === 'failed') continue;
    for (const e of [...f.edits].sort((a, b) => a.line - b.line)) {
      lines.push(`${f.file}:${e.line}  ${paintFn('yellow', 'would rewrite')}  ${e.description} (${e.rule})`);
    }
    if (f.edits.length === 0) lines.push(`${f.file}  ${paintFn('yellow', 'would rewrite')}`);
  }
  return lines;
}
