// The verification pass of a run: after every edit, in memory, before anything is
// written. It reuses the analysis of the migrated texts (the engine's idempotency
// pass) to find references that still reach legacy-only symbols, and type-checks
// the changed files against their tsconfig before and after. Items are located in
// the migrated text; the engine maps them back to the original for the report.
import type { Analysis } from '../analysis/index.js';
import * as path from 'node:path';
import { roleOfSpecifier } from '../analysis/specifiers.js';
import type { ReasonCode, Severity } from '../types.js';
import { findLegacyReferences, type LegacyReferenceFinder } from './legacy-references.js';
import { lineIndexAt, lineStarts } from './offset-map.js';
import { hasTypeConfig, typeCheckMigration, type TypeCheckResult } from './typecheck.js';

export const VERIFY_RULE = 'verify';

export interface VerifyFinding {
  absPath: string;
  /** Offset in the migrated text. */
  offset: number;
  code: ReasonCode;
  severity: Severity;
  message: string;
}

export interface VerifyInput {
  /** Analysis of the texts as the migration leaves them. */
  analysis: Analysis;
  /** absPath → migrated text of every file the run may write (changed or not). */
  texts: ReadonlyMap<string, string>;
  /** absPath → migrated text of the files the migration changes. */
  changed: ReadonlyMap<string, string>;
  /** absPath → 0-based lines of the migrated text that already carry a manual item. */
  reportedLines: ReadonlyMap<string, ReadonlySet<number>>;
  root: string;
  shimModule: string;
  shimTypes?: string;
  typeCheck: boolean | 'auto';
  onPhase?: (description: string) => void;
  findReferences?: LegacyReferenceFinder;
}

export interface VerifyOutput {
  findings: VerifyFinding[];
  typeCheck?: TypeCheckResult;
}

export function verifyMigration(input: VerifyInput): VerifyOutput {
  const findings: VerifyFinding[] = [];
  const find = input.findReferences ?? findLegacyReferences;
  for (const record of input.analysis.candidates) {
    const text = input.texts.get(record.absPath);
    if (text === undefined) continue; // a file the run fails or does not own
    const starts = lineStarts(text);
    const reported = input.reportedLines.get(record.absPath) ?? new Set<number>();
    // One finding per line (its marker covers the line), naming every reference on it.
    const byLine = new Map<number, { offset: number; whats: string[]; whys: string[] }>();
    for (const reference of find(input.analysis, record)) {
      const offset = reference.node.getStart();
      const line = lineIndexAt(starts, offset);
      if (reported.has(line)) continue; // a rule already explains this line
      if (reference.span) {
        const first = lineIndexAt(starts, reference.span.getStart());
        const last = lineIndexAt(starts, reference.span.getEnd());
        if ([...reported].some((l) => l >= first && l <= last)) continue;
      }
      const found = byLine.get(line);
      if (!found) byLine.set(line, { offset, whats: [reference.what], whys: [reference.why] });
      else if (!found.whats.includes(reference.what)) {
        found.whats.push(reference.what);
        found.whys.push(reference.why);
      }
    }
    for (const { offset, whats, whys } of byLine.values()) {
      const one = whats.length === 1;
      findings.push({
        absPath: record.absPath,
        offset,
        code: 'unresolved-legacy-reference',
        severity: 'error',
        message: one
          ? `${whats[0]} still reaches a legacy-only symbol: ${whys[0]}. It fails when this code runs after the migration; migrate it by hand.`
          : `${whats.join(', ')} still reach legacy-only symbols: ${whys.join('; ')}. They fail when this code runs after the migration; migrate them by hand.`,
      });
    }
  }

  const wanted = input.typeCheck === true || (input.typeCheck === 'auto' && input.changed.size > 0 && hasTypeConfig(input.changed.keys(), input.root));
  if (!wanted || input.changed.size === 0) return { findings };
  input.onPhase?.(`verifying: type-checking ${input.changed.size} changed file${input.changed.size === 1 ? '' : 's'} and their importers, before and after`);
  const matchers = input.analysis.matchers;
  const typeCheck = typeCheckMigration({
    root: input.root,
    changed: input.changed,
    shimModule: input.shimModule,
    ...(input.shimTypes ? { shimTypes: input.shimTypes } : {}),
    isLegacySpecifier: (specifier, fromAbsPath) => {
      const role = roleOfSpecifier(specifier, matchers, fromAbsPath);
      return role === 'deferred' || role === 'webapp';
    },
  });
  if (typeCheck.unverified.length > 0) {
    const first = typeCheck.unverified[0]!;
    const modules = [...new Set(typeCheck.unverified.flatMap((u) => u.modules))];
    const rel = (absPath: string) => path.relative(input.root, absPath).split(path.sep).join('/');
    findings.push({
      absPath: first.absPath,
      offset: 0,
      code: 'verify-incomplete',
      severity: 'note',
      message: `Not type-checked: ${typeCheck.unverified.map((u) => rel(u.absPath)).join(', ')} import${typeCheck.unverified.length === 1 ? 's' : ''} modules that do not resolve (${modules.slice(0, 5).join(', ')}${modules.length > 5 ? ', …' : ''}). Install the project's dependencies and run the migration on a fresh checkout for the type check to cover ${typeCheck.unverified.length === 1 ? 'it' : 'them'}.`,
    });
  }
  for (const diagnostic of typeCheck.diagnostics) {
    findings.push({
      absPath: diagnostic.absPath,
      offset: diagnostic.offset,
      code: 'new-type-error',
      severity: 'error',
      message: `TS${diagnostic.code}: ${diagnostic.message} (a type error the migration introduces; the code type-checked without it before).`,
    });
  }
  const shim = typeCheck.shim;
  if (shim) {
    findings.push({
      absPath: shim.absPath,
      offset: shim.offset,
      code: 'shim-unresolved',
      severity: shim.unresolved ? 'error' : 'note',
      message: shim.unresolved
        ? `${input.shimModule} does not resolve from this project, so the migrated code cannot be type-checked against it: install it (npm install deferred-migrate) and run the migration again.`
        : `${input.shimModule} does not resolve from this project yet; the type check used the shim types of the running deferred-migrate. Install it (npm install deferred-migrate) before running the app.`,
    });
  }
  return { findings, typeCheck };
}
