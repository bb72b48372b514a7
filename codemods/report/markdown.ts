// Markdown summary meant for a pull-request body: counts, a checklist of manual
// steps grouped by reason code with file:line links, the files changed.
import type { ReportItem } from '../types.js';
import { allItems, hasChanges, isApplied, isManual, itemsByCode, notableFiles, type RunReport } from './run-report.js';
import { summaryLine } from './summary.js';

export interface MarkdownOptions {
  /** Prefix for file links, e.g. `https://github.com/org/repo/blob/<sha>/`; links are relative without it. */
  linkBase?: string;
}

export function renderMarkdown(report: RunReport, options: MarkdownOptions = {}): string {
  const { result, mode } = report;
  const out: string[] = [];
  out.push(`## deferred-migrate report`, '');
  out.push(`**${escapeText(summaryLine(result))}**`, '');
  out.push(
    mode === 'write' ? 'Changes were written to disk.' : mode === 'dry-run' ? 'Dry run: nothing was written.' : 'Check: nothing was written.',
    '',
  );

  const failures = notableFiles(result).filter((f) => f.status === 'failed');
  const failedFiles = new Set(failures.map((f) => f.file));
  const items = allItems(result).filter((i) => !failedFiles.has(i.file) && isManual(i));
  const notes = allItems(result).filter((i) => !failedFiles.has(i.file) && !isManual(i));
  if (items.length > 0) {
    out.push(`### Manual steps (${items.length})`, '');
    for (const [code, group] of itemsByCode(items)) {
      out.push(`#### \`${code}\` (${group.length}) · [what to do](${group[0]!.docsUrl})`, '');
      for (const item of group) out.push(`- [ ] ${locationLink(item, options)} ${escapeText(item.message)}`);
      out.push('');
    }
  }

  const changed = notableFiles(result).filter((f) => hasChanges(f) && f.status !== 'failed');
  if (changed.length > 0) {
    out.push(`### Files ${mode === 'write' ? 'changed' : 'to change'} (${changed.length})`, '');
    out.push('| file | edits | rules |', '|---|---:|---|');
    for (const f of changed) {
      const rules = [...new Set(f.edits.map((e) => e.rule))].sort().map((r) => `\`${r}\``);
      const mark = mode === 'write' && !isApplied(mode, f) ? ' (not written)' : '';
      out.push(`| ${fileLink(f.file, undefined, options)}${mark} | ${f.edits.length} | ${rules.join(', ')} |`);
    }
    out.push('');
  }

  if (notes.length > 0) {
    out.push(`### Notes (${notes.length})`, '');
    for (const note of notes) {
      const acknowledged = note.acknowledged === undefined ? '' : `acknowledged${note.acknowledged ? ` (${escapeText(note.acknowledged)})` : ''}: `;
      out.push(`- ${locationLink(note, options)} \`${note.code}\`: ${acknowledged}${escapeText(note.message)}`);
    }
    out.push('');
  }

  if (failures.length > 0) {
    out.push(`### Failed (${failures.length})`, '');
    for (const f of failures) {
      const reasons = f.items.map((i) => `${locationLink(i, options)} \`${i.code}\`: ${escapeText(i.message)}`);
      out.push(`- ${reasons.length > 0 ? reasons.join('; ') : fileLink(f.file, undefined, options)}`);
    }
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

function locationLink(item: ReportItem, options: MarkdownOptions): string {
  return fileLink(item.file, item, options);
}

function fileLink(file: string, at: { line: number; column: number } | undefined, options: MarkdownOptions): string {
  const label = at === undefined ? file : `${file}:${at.line}:${at.column}`;
  const target = `${options.linkBase ?? ''}${encodeURI(file).replace(/[()]/g, (c) => encodeURIComponent(c))}${at === undefined ? '' : `#L${at.line}`}`;
  return `[\`${label.replace(/`/g, "'")}\`](${target})`;
}

/** Escapes characters Markdown (and GitHub's HTML sanitiser) would interpret in running text. */
export function escapeText(text: string): string {
  return text.replace(/[\\`*_[\]<>|#]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}
