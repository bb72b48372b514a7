// migrate(): one analysis, every rule's edits collected, applied once per file,
// then the output analysed again in memory: a file that would change again is a
// failure, not a result. Nothing is written here; the CLI writes.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { analyze, type Analysis } from './analysis/index.js';
import { isSourcePath } from './analysis/discover.js';
import { runScope } from './analysis/run-scope.js';
import { ProjectIndex } from './analysis/project.js';
import { rescanChanged, scanContext, scanTree } from './analysis/tree-scan.js';
import { detectStyle } from './analysis/style.js';
import { applyEdits } from './rewrite/apply.js';
import { DOCS_BASE, docsUrl, RuleOutput, type FileRef, type PlannedEdit } from './rewrite/context.js';
import { RULES } from './rewrite/index.js';
import { isManual, type FileResult, type FileStatus, type MigrateOptions, type MigrationResult, type ReportItem } from './types.js';
import { finishFiles } from './verify/finish.js';

/** Runs every rule over one analysis; the result holds all edits and items. */
export function runRules(analysis: Analysis): RuleOutput {
  const shared = new RuleOutput('engine');
  for (const rule of RULES) {
    const out = new RuleOutput(rule.meta.id);
    rule.run(analysis, out, shared);
    shared.absorb(out);
  }
  return shared;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function engineItem(file: string, line: number, column: number, code: ReportItem['code'], message: string): ReportItem {
  return { file, line, column, code, severity: 'error', message, rule: 'engine', docsUrl: docsUrl(code) };
}

function statusOf(result: Omit<FileResult, 'status'>, failed: boolean): FileStatus {
  if (failed) return 'failed';
  if (result.items.some(isManual)) return 'manual';
  return result.updated !== undefined ? 'migrated' : 'unchanged';
}

export interface Planned {
  file: FileRef;
  edits: PlannedEdit[];
  items: ReportItem[];
  updated?: string;
  failure?: ReportItem;
  /** --strict: the migration adds a type error here; the file is not written. */
  refused?: boolean;
  /** Marker comments added to the text (listed with the edits). */
  markers?: Array<{ line: number; code: string }>;
}

function plan(analysis: Analysis, output: RuleOutput): Map<string, Planned> {
  const files = new Map<string, Planned>();
  const ensure = (file: FileRef): Planned => {
    let entry = files.get(file.absPath);
    if (!entry) {
      entry = { file, edits: [], items: [] };
      files.set(file.absPath, entry);
    }
    return entry;
  };
  for (const record of analysis.candidates) ensure(record);
  for (const yaml of analysis.appYamls) ensure(yaml);
  for (const file of output.files.values()) ensure(file);
  for (const record of analysis.parseFailures) {
    const problem = record.parseProblem!;
    ensure(record).failure = {
      file: record.rel,
      line: problem.line,
      column: problem.column,
      code: 'parse-error',
      severity: 'error',
      message: problem.unread
        ? `This is ${problem.message}, and it names the legacy API or imports a module that does; it was left untouched, and the functions it reaches are reported, not migrated. Migrate its script by hand as the report's other files were (the legacy module does not enqueue on the shim; a function made async is awaited where it is called).`
        : `The file does not parse (${problem.message}); it was left untouched. Fix the syntax error and run the migration again.`,
      rule: 'engine',
      docsUrl: docsUrl('parse-error'),
    };
  }
  for (const entry of analysis.unreadable) {
    const planned = ensure({ absPath: entry.absPath, rel: entry.rel, text: '' });
    planned.failure = {
      file: entry.rel,
      line: 1,
      column: 1,
      code: 'unreadable-file',
      severity: 'error',
      message: `Could not read the file (${entry.error}); it was skipped.`,
      rule: 'engine',
      docsUrl: docsUrl('unreadable-file'),
    };
  }
  for (const [absPath, edits] of output.edits) {
    const entry = files.get(absPath);
    if (entry) entry.edits.push(...edits);
  }
  for (const [absPath, items] of output.items) {
    const entry = files.get(absPath);
    if (entry) entry.items.push(...items);
  }
  for (const entry of files.values()) {
    if (entry.failure || entry.edits.length === 0) continue;
    const applied = applyEdits(entry.file.text, entry.edits);
    if (!applied.ok) {
      const { first, second } = applied.conflict;
      entry.failure = engineItem(
        entry.file.rel,
        lineOf(entry.file.text, second.start),
        1,
        'edit-conflict',
        `Rules ${first.rule} and ${second.rule} both edit this span; the file was left untouched. Migrate this site by hand (see the rules' descriptions) and run again.`,
      );
      continue;
    }
    if (applied.text !== entry.file.text) entry.updated = keepModule(entry.file, applied.text);
  }
  return files;
}

/**
 * A module whose every statement was removed (a file that only held a route
 * table) stays a module: `export {}` keeps `isolatedModules` builds happy.
 */
function keepModule(file: FileRef, updated: string): string {
  if (!isSourcePath(file.absPath) || !/^\s*(import|export)\b/m.test(file.text)) return updated;
  const code = updated.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '').trim();
  if (code !== '') return updated;
  const style = detectStyle(file.text);
  return updated.replace(/\s*$/, '') + (updated.trim() === '' ? '' : style.newline) + `export {}${style.semi ? ';' : ''}` + style.newline;
}

/** Reads a file as the migration would leave it (for the idempotency pass); texts the first pass loaded are reused. */
function migratedReader(planned: Map<string, Planned>, first: Analysis): (absPath: string) => string {
  return (absPath) => {
    const entry = planned.get(absPath);
    if (entry?.updated !== undefined) return entry.updated;
    if (entry && !entry.failure) return entry.file.text;
    return first.index.loadedText(absPath) ?? readFileSync(absPath, 'utf8');
  };
}

/**
 * A turn of the event loop between phases: a process hosting a long run (a test
 * runner's worker, whose RPC replies wait behind synchronous work; an editor) stays
 * responsive, and the CLI's progress line repaints.
 */
function eventLoopTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export async function migrate(options: MigrateOptions): Promise<MigrationResult> {
  const started = performance.now();
  const { root, paths, matchers, needles } = runScope(options);
  // The CLI hands over a scan it started in a worker thread before loading this module;
  // the files that name the legacy API are parsed as their scans come in.
  let index: ProjectIndex | undefined;
  const { discovery, scans } = options.treeScan
    ? await options.treeScan.finish({
        discovered: (found) => (index = new ProjectIndex(found.files)),
        scanned: (absPath, scan) => scan.legacy && index?.load(absPath),
      })
    : scanTree(paths, root, needles);
  const analysis = analyze({ root, paths, discovery, matchers, scans, ...(index ? { index } : {}) });
  await eventLoopTurn();
  const firstOutput = runRules(analysis);
  const planned = plan(analysis, firstOutput);
  await eventLoopTurn();

  // Idempotency: the output, analysed again, must need no further edit.
  const changed = [...planned.values()].filter((p) => p.updated !== undefined);
  let final: { analysis: Analysis; output: RuleOutput } = { analysis, output: firstOutput };
  if (changed.length > 0) {
    const read = migratedReader(planned, analysis);
    const changedTexts = changed.map((p): [string, string] => [p.file.absPath, p.updated!]);
    const second = analyze({ root, paths, discovery, matchers, readText: read, scans: rescanChanged(analysis.scans, changedTexts, scanContext(discovery, needles)), previous: analysis });
    const secondOutput = runRules(second);
    final = { analysis: second, output: secondOutput };
    for (const [absPath, edits] of secondOutput.edits) {
      const entry = planned.get(absPath);
      if (!entry || entry.failure || edits.length === 0) continue;
      const first = edits[0]!;
      entry.failure = engineItem(
        entry.file.rel,
        lineOf(read(absPath), first.start),
        1,
        'not-idempotent',
        `The migrated text would change again (rule ${first.rule}: ${first.description}); the file was left untouched. Please report this with the file.`,
      );
    }
    for (const record of second.parseFailures) {
      const entry = planned.get(record.absPath);
      if (entry && entry.updated !== undefined && !entry.failure) {
        entry.failure = engineItem(entry.file.rel, record.parseProblem!.line, record.parseProblem!.column, 'not-idempotent', `The migrated text does not parse (${record.parseProblem!.message}); the file was left untouched.`);
      }
    }
  }

  await eventLoopTurn();
  // Verification, then markers: both on the migrated texts, before anything is written.
  finishFiles(planned, final, {
    root,
    shimModule: matchers.shim,
    ...(options.shimTypes ? { shimTypes: options.shimTypes } : {}),
    typeCheck: options.verify ?? 'auto',
    markers: options.markers ?? true,
    strict: options.strict ?? false,
    docsBase: options.docsBase ?? DOCS_BASE,
    ...(options.onPhase ? { onPhase: options.onPhase } : {}),
  });

  const files: FileResult[] = [];
  const entries = [...planned.values()].sort((a, b) => (a.file.rel < b.file.rel ? -1 : a.file.rel > b.file.rel ? 1 : 0));
  let done = 0;
  for (const entry of entries) {
    const failed = entry.failure !== undefined || entry.refused === true;
    const items = entry.failure ? [entry.failure, ...entry.items] : entry.items;
    items.sort((a, b) => a.line - b.line || a.column - b.column || a.code.localeCompare(b.code));
    const base: Omit<FileResult, 'status'> = {
      file: entry.file.rel,
      absPath: entry.file.absPath,
      original: entry.file.text,
      edits: failed
        ? []
        : [
            ...entry.edits.map((e) => ({ rule: e.rule, line: lineOf(entry.file.text, e.start), description: e.description })),
            ...(entry.markers ?? []).map((m) => ({ rule: 'markers', line: m.line, description: `marker comment for ${m.code}` })),
          ].sort((a, b) => a.line - b.line),
      items,
    };
    if (!failed && entry.updated !== undefined) base.updated = entry.updated;
    files.push({ ...base, status: statusOf(base, failed) });
    options.onProgress?.(++done, entries.length);
  }
  const count = (status: FileStatus): number => files.filter((f) => f.status === status).length;
  return {
    root,
    files,
    summary: {
      scanned: analysis.scanned,
      candidates: analysis.candidates.length + analysis.parseFailures.length + analysis.appYamls.length,
      migrated: count('migrated'),
      unchanged: count('unchanged'),
      manual: count('manual'),
      failed: count('failed'),
    },
    durationMs: performance.now() - started,
  };
}
