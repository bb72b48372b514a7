// Last step of the engine before the CLI writes: acknowledgements, the
// verification pass, --strict, marker comments and the run's docs links, per
// file. Rule items stay in the coordinates of the original text; verification
// findings (made in the migrated text) are mapped back to it.
import type { Analysis } from '../analysis/index.js';
import type { Planned } from '../engine.js';
import { applyEdits } from '../rewrite/apply.js';
import { docsUrl, type RuleOutput } from '../rewrite/context.js';
import type { ReasonCode, ReportItem } from '../types.js';
import { verifyMigration, VERIFY_RULE } from './index.js';
import { MarkerPlanner, type MarkerSite } from './markers.js';
import { lineIndexAt, lineStarts, OffsetMap, offsetAt, positionAt } from './offset-map.js';

export interface FinishOptions {
  root: string;
  shimModule: string;
  shimTypes?: string;
  typeCheck: boolean | 'auto';
  markers: boolean;
  strict: boolean;
  docsBase: string;
  onPhase?: (description: string) => void;
}

function isManualSeverity(item: ReportItem): boolean {
  return item.severity !== 'note';
}

/** One file's texts and the lazily built helpers over them. */
class FileState {
  readonly original: string;
  readonly migrated: string;
  readonly map: OffsetMap;
  readonly sites: MarkerSite[] = [];
  private originalPlanner?: MarkerPlanner;
  private migratedPlanner?: MarkerPlanner;
  private originalStarts?: number[];
  private migratedStarts?: number[];

  constructor(readonly entry: Planned) {
    this.original = entry.file.text;
    this.migrated = entry.updated ?? entry.file.text;
    this.map = new OffsetMap(entry.updated !== undefined ? entry.edits : []);
  }

  originalOffset(item: Pick<ReportItem, 'line' | 'column'>): number {
    this.originalStarts ??= lineStarts(this.original);
    return offsetAt(this.originalStarts, this.original.length, item.line, item.column);
  }

  migratedOffset(item: Pick<ReportItem, 'line' | 'column'>): number {
    this.migratedStarts ??= lineStarts(this.migrated);
    return offsetAt(this.migratedStarts, this.migrated.length, item.line, item.column);
  }

  migratedLine(offset: number): number {
    this.migratedStarts ??= lineStarts(this.migrated);
    return lineIndexAt(this.migratedStarts, offset);
  }

  /** Original line and column of an offset of the migrated text. */
  originalPosition(migratedOffset: number): { line: number; column: number } {
    this.originalStarts ??= lineStarts(this.original);
    return positionAt(this.originalStarts, this.map.backward(migratedOffset));
  }

  inOriginal(): MarkerPlanner {
    return (this.originalPlanner ??= new MarkerPlanner(this.original, this.entry.file.absPath));
  }

  inMigrated(): MarkerPlanner {
    if (this.migrated === this.original) return this.inOriginal();
    return (this.migratedPlanner ??= new MarkerPlanner(this.migrated, this.entry.file.absPath));
  }
}

export function finishFiles(planned: Map<string, Planned>, final: { analysis: Analysis; output: RuleOutput }, options: FinishOptions): void {
  const outsideYamls = new Set(final.analysis.appYamls.filter((y) => y.outsideRun).map((y) => y.absPath));
  const states = new Map<string, FileState>();
  const reportedLines = new Map<string, Set<number>>();
  for (const entry of planned.values()) {
    if (entry.failure) continue;
    const state = new FileState(entry);
    states.set(entry.file.absPath, state);

    // Acknowledgements written before this run, at the sites the report names.
    for (const item of entry.items) {
      if (!isManualSeverity(item)) continue;
      const why = state.inOriginal().acknowledgement(state.originalOffset(item), item.code);
      if (why !== undefined) item.acknowledged = why;
    }

    // Marker sites: where a second run reports each item (the final analysis'
    // items are in the migrated text), so that run finds its marker; items of a
    // code the second run does not report again go where the first run saw them.
    const lines = new Set<number>();
    const finalItems = (final.output.items.get(entry.file.absPath) ?? []).filter(isManualSeverity);
    const finalCodes = new Set<ReasonCode>(finalItems.map((i) => i.code));
    // By line: a second item of a code the first run reported elsewhere in the file is new.
    const firstSites = new Set(entry.items.filter(isManualSeverity).map((i) => `${i.code}@${i.line}`));
    for (const item of finalItems) {
      const offset = state.migratedOffset(item);
      lines.add(state.migratedLine(offset));
      const acknowledged = state.inMigrated().acknowledgement(offset, item.code);
      if (acknowledged === undefined) state.sites.push({ offset, code: item.code, message: item.message, docsUrl: docsUrl(item.code, options.docsBase) });
      // What only the migrated text shows (e.g. a base class the output no longer lets the
      // analysis follow) is reported too, not only marked: the marker and the report agree.
      const position = state.originalPosition(offset);
      if (!firstSites.has(`${item.code}@${position.line}`)) {
        const reported: ReportItem = { ...item, file: entry.file.rel, ...position };
        if (acknowledged !== undefined) reported.acknowledged = acknowledged;
        entry.items.push(reported);
      }
    }
    for (const item of entry.items) {
      if (!isManualSeverity(item) || finalCodes.has(item.code)) continue;
      const offset = state.map.forward(state.originalOffset(item));
      lines.add(state.migratedLine(offset));
      if (item.acknowledged === undefined) state.sites.push({ offset, code: item.code, message: item.message, docsUrl: docsUrl(item.code, options.docsBase) });
    }
    reportedLines.set(entry.file.absPath, lines);
  }

  const texts = new Map([...states].map(([absPath, state]) => [absPath, state.migrated]));
  const changed = new Map([...states].filter(([, state]) => state.entry.updated !== undefined).map(([absPath, state]) => [absPath, state.migrated]));
  const verification = verifyMigration({
    analysis: final.analysis,
    texts,
    changed,
    reportedLines,
    root: options.root,
    shimModule: options.shimModule,
    ...(options.shimTypes ? { shimTypes: options.shimTypes } : {}),
    typeCheck: options.typeCheck,
    ...(options.onPhase ? { onPhase: options.onPhase } : {}),
  });
  for (const finding of verification.findings) {
    const state = states.get(finding.absPath);
    if (!state) continue;
    const { line, column } = state.originalPosition(finding.offset);
    const item: ReportItem = {
      file: state.entry.file.rel,
      line,
      column,
      code: finding.code,
      severity: finding.severity,
      message: finding.message,
      rule: VERIFY_RULE,
      docsUrl: docsUrl(finding.code, options.docsBase),
    };
    const why = state.inMigrated().acknowledgement(finding.offset, finding.code);
    if (why !== undefined) item.acknowledged = why;
    else state.sites.push({ offset: finding.offset, code: finding.code, message: finding.message, docsUrl: item.docsUrl });
    state.entry.items.push(item);
  }

  for (const state of states.values()) {
    const { entry } = state;
    for (const item of entry.items) item.docsUrl = docsUrl(item.code, options.docsBase);
    if (options.strict && entry.updated !== undefined && entry.items.some((i) => i.code === 'new-type-error' && i.acknowledged === undefined)) {
      // --strict: a file the migration breaks is not written at all.
      entry.refused = true;
      continue;
    }
    // A file that does not parse (e.g. a YAML file a rule could not read) is never touched, markers included.
    // JSON (a package.json whose jest config names the legacy module) has no comments: reported only.
    // An app config above the run's paths (row 313) is reported only: the run does not edit it.
    if (!options.markers || state.sites.length === 0 || entry.items.some((i) => i.code === 'parse-error') || /\.json$/i.test(entry.file.absPath)) continue;
    if (outsideYamls.has(entry.file.absPath)) continue;
    const insertions = state.inMigrated().plan(state.sites);
    if (insertions.length === 0) continue;
    const applied = applyEdits(state.migrated, insertions.map((i) => ({ ...i, rule: 'markers' })));
    if (!applied.ok) continue; // insertions never overlap; keep the unmarked text if they somehow do
    entry.markers = insertions.map((i) => ({ line: state.originalPosition(i.start).line, code: /\(([a-z0-9-]+)\)/.exec(i.text)?.[1] ?? '' }));
    if (applied.text !== state.original) entry.updated = applied.text;
  }
}
