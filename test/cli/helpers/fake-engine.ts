// A stand-in for codemods/engine.ts with the same contract, so the CLI's own logic
// (exit codes, streams, writes, reports) is tested in process and independently of
// the rules: `legacyDefer(` becomes `defer(`, a file containing `@@parse-error@@`
// fails to parse, `_transactional` is a manual item.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { FileResult, MigrateOptions, MigrationResult, ReportItem } from '../../../codemods/types.js';

export const FAKE_DOCS = 'https://example.test/manual-steps.md#';

export async function fakeMigrate(options: MigrateOptions): Promise<MigrationResult> {
  const root = options.root ?? process.cwd();
  const absFiles: string[] = [];
  for (const p of options.paths) await collect(path.resolve(p), absFiles);
  absFiles.sort();
  const files: FileResult[] = [];
  let done = 0;
  for (const absPath of absFiles) {
    const original = await fs.readFile(absPath, 'utf8');
    const file = path.relative(root, absPath).split(path.sep).join('/');
    files.push(migrateText(file, absPath, original));
    options.onProgress?.(++done, absFiles.length);
  }
  const count = (s: FileResult['status']) => files.filter((f) => f.status === s).length;
  return {
    root,
    files,
    summary: {
      scanned: files.length,
      candidates: files.filter((f) => f.original.includes('legacyDefer') || f.original.includes('_transactional')).length,
      migrated: count('migrated'),
      unchanged: count('unchanged'),
      manual: count('manual'),
      failed: count('failed'),
    },
    durationMs: 5,
  };
}

function migrateText(file: string, absPath: string, original: string): FileResult {
  const item = (index: number, code: ReportItem['code'], message: string, severity: ReportItem['severity']): ReportItem => {
    const before = original.slice(0, index).split('\n');
    return { file, line: before.length, column: before.at(-1)!.length + 1, code, severity, message, rule: 'fake-rule', docsUrl: `${FAKE_DOCS}${code}` };
  };
  const parseError = original.indexOf('@@parse-error@@');
  if (parseError >= 0) {
    return { file, absPath, status: 'failed', original, edits: [], items: [item(parseError, 'parse-error', 'Unexpected token', 'error')] };
  }
  const edits: FileResult['edits'] = [];
  original.split('\n').forEach((line, i) => {
    if (line.includes('legacyDefer(')) edits.push({ rule: 'fake-defer', line: i + 1, description: 'legacyDefer() -> defer()' });
  });
  const updated = original.replaceAll('legacyDefer(', 'defer(');
  const items: ReportItem[] = [];
  const tx = original.indexOf('_transactional');
  if (tx >= 0) items.push(item(tx, 'transactional-enqueue', 'transactional enqueue is not available on Cloud Tasks', 'warning'));
  const status = items.length > 0 ? 'manual' : edits.length > 0 ? 'migrated' : 'unchanged';
  return { file, absPath, status, original, ...(updated !== original ? { updated } : {}), edits, items };
}

async function collect(p: string, out: string[]): Promise<void> {
  const st = await fs.stat(p);
  if (st.isFile()) {
    if (/\.(ts|js)$/.test(p)) out.push(p);
    return;
  }
  for (const entry of await fs.readdir(p, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    await collect(path.join(p, entry.name), out);
  }
}
