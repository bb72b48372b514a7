// What a rule sees (the analysis) and what it produces (edits and report items),
// plus the requests rules make of the import rule (shim names a file needs, spans
// whose legacy references disappear with an edit).
import type { Node } from 'ts-morph';
import type { Analysis } from '../analysis/index.js';
import type { SourceRecord } from '../analysis/project.js';
import type { ReasonCode, ReportItem, Severity, TextEdit } from '../types.js';

/**
 * Where the manual steps are documented: the copy of docs/manual-steps.md that
 * ships in the installed package, as a path from the project that installed it
 * (the package has no public repository to link to; the CLI links the
 * `repository` of package.json once it has one, and `--docs-base` overrides).
 */
export const DOCS_BASE = 'node_modules/deferred-migrate/docs/manual-steps.md';

export function docsUrl(code: ReasonCode, base: string = DOCS_BASE): string {
  return `${base}#${code}`;
}

export interface RuleMeta {
  id: string;
  description: string;
  reasonCodes: ReasonCode[];
  docs: string;
}

export interface PlannedEdit extends TextEdit {
  description: string;
}

/** Flat names of the shim a file's generated code refers to. */
export type ShimName = 'wrapApp' | 'register' | 'environFrom' | 'Handler' | 'deferred' | 'type Environ';

/** A file the run may edit or report on (source or YAML). */
export interface FileRef {
  absPath: string;
  rel: string;
  text: string;
}

export class RuleOutput {
  readonly edits = new Map<string, PlannedEdit[]>();
  readonly items = new Map<string, ReportItem[]>();
  /** absPath → shim names to import → the local name code uses for each. */
  readonly neededImports = new Map<string, Map<ShimName, string>>();
  /** absPath → spans removed by an edit (references inside them no longer count). */
  readonly removedSpans = new Map<string, Array<[number, number]>>();
  /** absPath → local names that generated code refers to (their imports must stay). */
  readonly usedNames = new Map<string, Set<string>>();
  /** Files a rule touched that the run must report on (even if not prefilter candidates). */
  readonly files = new Map<string, FileRef>();

  constructor(readonly rule: string) {}

  edit(record: FileRef, start: number, end: number, text: string, description: string): void {
    this.files.set(record.absPath, record);
    const list = this.edits.get(record.absPath) ?? [];
    list.push({ start, end, text, rule: this.rule, description });
    this.edits.set(record.absPath, list);
  }

  remove(record: FileRef, start: number, end: number, description: string): void {
    this.edit(record, start, end, '', description);
    this.markRemoved(record, start, end);
  }

  markRemoved(record: FileRef, start: number, end: number): void {
    const spans = this.removedSpans.get(record.absPath) ?? [];
    spans.push([start, end]);
    this.removedSpans.set(record.absPath, spans);
  }

  /** Records that `record` needs the shim export `name` under the local name `local`. */
  needImport(record: SourceRecord, name: ShimName, local: string): void {
    this.files.set(record.absPath, record);
    const names = this.neededImports.get(record.absPath) ?? new Map<ShimName, string>();
    names.set(name, local);
    this.neededImports.set(record.absPath, names);
  }

  use(record: FileRef, names: Iterable<string>): void {
    const set = this.usedNames.get(record.absPath) ?? new Set<string>();
    for (const name of names) set.add(name);
    this.usedNames.set(record.absPath, set);
  }

  report(record: SourceRecord, at: Node | number, code: ReasonCode, severity: Severity, message: string): void {
    const pos = typeof at === 'number' ? at : at.getStart();
    const { line, column } = record.sourceFile.getLineAndColumnAtPos(pos);
    this.reportAt(record, line, column, code, severity, message);
  }

  reportAt(file: FileRef, line: number, column: number, code: ReasonCode, severity: Severity, message: string): void {
    this.files.set(file.absPath, file);
    const list = this.items.get(file.absPath) ?? [];
    list.push({ file: file.rel, line, column, code, severity, message, rule: this.rule, docsUrl: docsUrl(code) });
    this.items.set(file.absPath, list);
  }

  /** Folds another rule's output into this one (the engine collects every rule's output). */
  absorb(other: RuleOutput): void {
    for (const [file, list] of other.edits) this.edits.set(file, [...(this.edits.get(file) ?? []), ...list]);
    for (const [file, list] of other.items) this.items.set(file, [...(this.items.get(file) ?? []), ...list]);
    for (const [file, names] of other.neededImports) {
      const merged = this.neededImports.get(file) ?? new Map<ShimName, string>();
      for (const [name, local] of names) merged.set(name, local);
      this.neededImports.set(file, merged);
    }
    for (const [file, spans] of other.removedSpans) this.removedSpans.set(file, [...(this.removedSpans.get(file) ?? []), ...spans]);
    for (const [file, names] of other.usedNames) {
      const merged = this.usedNames.get(file) ?? new Set<string>();
      for (const name of names) merged.add(name);
      this.usedNames.set(file, merged);
    }
    for (const [file, record] of other.files) this.files.set(file, record);
  }
}

export interface Rule {
  meta: RuleMeta;
  /** Adds this rule's edits and items for the whole analysis to `out`. `shared` holds earlier rules' output. */
  run(analysis: Analysis, out: RuleOutput, shared: RuleOutput): void;
}
