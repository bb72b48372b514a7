// Property tests of the codemod: fast-check builds legacy programs from the
// contract's forms (support/legacy-program.ts) and `migrate()` runs on each, in
// process, in its own directory. For every program:
//   - no crash, and no file fails (the inputs are valid code);
//   - every migrated file parses;
//   - the unrelated code around the legacy constructs is byte-identical, in order;
//   - a second run over the written output changes nothing;
//   - programs without constructs the contract says to report get no manual steps;
//   - no reference in the output still reaches a legacy-only symbol (TaskHandler
//     on the shim, a value the resolver lost, this.request/this.response in a
//     handler) unless the first run reported a manual step on its line (or an
//     unresolved-legacy-reference in its file): anything else is a silent miss;
//   - every defer() whose synchronous throw a try handled (support/guarded-sites.ts)
//     is awaited in an async function, and so is every call on its path to the
//     try, so the catch still sees the error; or the first run reported the call
//     (`sync-error-handling`): anything else is a silent miss;
// and, over the whole batch: every input type-checks against the legacy runtime
// types, and the output of every program migrated without manual steps
// type-checks against the shim.
// RELIABILITY_SEED=<n> replays a run; LONG=1 generates thousands of programs.
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { discover } from '../../codemods/analysis/discover.js';
import { legacyAccesses } from '../../codemods/analysis/handler-members.js';
import { analyze } from '../../codemods/analysis/index.js';
import { createMatchers } from '../../codemods/analysis/specifiers.js';
import { migrate } from '../../codemods/engine.js';
import type { MigrationResult, ReportItem } from '../../codemods/types.js';
import { legacyCommonJsProgram, legacyProgram, VENDOR_DEFERRED, type LegacyProgram } from './support/legacy-program.js';
import { scaled, suiteSeed } from './support/scale.js';
import { REPO_ROOT, syntaxErrors, typeCheckFiles, vendorReexport, type FileDiagnostic } from './support/typecheck.js';

const PROGRAMS = scaled(100, 3_000);
const COMMONJS_PROGRAMS = scaled(40, 1_000);
/** Programs per TypeScript program in the type-check. */
const TYPE_CHECK_BATCH = 300;
const seed = suiteSeed();
/**
 * Codes that report a guarded defer() call as a manual step: the rule's own, and
 * those of the rules that own the calls it leaves alone (a used result, a
 * `_transactional` call, a lambda, which cannot be migrated as written).
 */
const GUARDED_REPORT_CODES = new Set(['sync-error-handling', 'defer-result', 'transactional-enqueue', 'non-registrable-callable']);

/** The outermost call or `await` written right after `marker` in `text`, parsed. */
function callAfterMarker(file: string, text: string, marker: string): ts.Node | undefined {
  const at = text.indexOf(`/* ${marker} */`);
  if (at < 0) return undefined;
  let pos = at + marker.length + 6;
  while (/\s/.test(text[pos] ?? '')) pos += 1;
  const kind = /\.[cm]?js$/.test(file) ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
  let found: ts.Node | undefined;
  const visit = (node: ts.Node): void => {
    if (node.getStart(source) > pos || node.getEnd() < pos) return;
    if (!found && node.getStart(source) === pos && (ts.isAwaitExpression(node) || ts.isCallExpression(node))) {
      found = node;
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Why the call after `marker` would not hand a rejection to the try: not awaited, or not in an async function. */
function notAwaited(file: string, text: string, marker: string): string | undefined {
  const node = callAfterMarker(file, text, marker);
  if (!node) return `no call after /* ${marker} */ in the output`;
  if (!ts.isAwaitExpression(node)) return `/* ${marker} */ ${node.getText().slice(0, 40)} is not awaited`;
  let fn: ts.Node | undefined = node.parent;
  while (fn && !ts.isFunctionLike(fn)) fn = fn.parent;
  // None of the generated files may use top-level await (no package.json says "module").
  if (!fn) return `/* ${marker} */ is awaited at the top level of a module that is not an ES module`;
  const isAsync = ts.canHaveModifiers(fn) && !!ts.getModifiers(fn)?.some((m) => m.kind === ts.SyntaxKind.AsyncKeyword);
  return isAsync ? undefined : `/* ${marker} */ is awaited in a function that is not async`;
}

interface Migrated {
  dir: string;
  program: LegacyProgram;
  /** Absolute path -> original text of the program's source files. */
  inputs: Map<string, string>;
  manualSteps: number;
  /** Reason codes of the manual steps. */
  codes: string[];
}

function describeProgram(program: LegacyProgram, result?: MigrationResult): string {
  const files = Object.entries(program.files)
    .map(([path, text]) => `--- ${path}\n${text}`)
    .join('\n');
  const outputs = result?.files.map((f) => `+++ ${f.file} (${f.status}) ${f.items.map((i) => `${i.code}: ${i.message}`).join(' | ')}\n${f.updated ?? '(unchanged)'}`).join('\n');
  return `seed ${seed}\n${files}${outputs ? `\n${outputs}` : ''}`;
}

describe('codemod properties over generated legacy programs', () => {
  const base = mkdtempSync(join(tmpdir(), 'dm-codemod-props-'));
  // Type resolution of 'express' and @types/node from the generated programs.
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(base, 'node_modules'), 'dir');
  afterAll(() => rm(base, { recursive: true, force: true }), scaled(60_000, 600_000));
  const migrated: Migrated[] = [];
  let counter = 0;
  const silentMisses: string[] = [];
  let legacyOnlySurvivors = 0;
  const guardedOutcomes = { awaited: 0, reported: 0, missed: 0 };
  /** The same for the sites whose path goes through a member of an object or a class. */
  const throughMembers = { awaited: 0, reported: 0 };

  /**
   * The guarded defer() calls of a program whose try no longer sees their
   * error: neither awaited along the whole path to the try nor reported.
   */
  function guardedMisses(program: LegacyProgram, result: MigrationResult): { missed: string[]; siteReports: Set<ReportItem> } {
    const missed: string[] = [];
    const siteReports = new Set<ReportItem>();
    for (const [path, sites] of Object.entries(program.guardedSites)) {
      const input = program.files[path]!;
      const file = result.files.find((f) => f.file === path);
      const output = file?.updated ?? input;
      const items = (file?.items ?? []).filter((i) => i.severity !== 'note' && GUARDED_REPORT_CODES.has(i.code));
      for (const site of sites) {
        // A report anywhere on the call counts (defer-options reports the `_transactional` line).
        const line = input.slice(0, input.indexOf(`/* ${site.marker} */`)).split('\n').length;
        const call = callAfterMarker(path, input, site.marker);
        const lastLine = call ? line + call.getText().split('\n').length - 1 : line;
        const onSite = items.filter((i) => i.line >= line && i.line <= lastLine);
        if (onSite.length > 0) {
          guardedOutcomes.reported += 1;
          if (site.throughMember) throughMembers.reported += 1;
          // Those of the constructs the contract reports anyway (_transactional, a lambda) stay manual steps.
          for (const item of onSite) if (item.code === 'sync-error-handling' || item.code === 'defer-result') siteReports.add(item);
          continue;
        }
        const problems = [site.marker, ...site.callers].map((marker) => notAwaited(path, output, marker)).filter((p): p is string => p !== undefined);
        if (problems.length === 0) {
          guardedOutcomes.awaited += 1;
          if (site.throughMember) throughMembers.awaited += 1;
        } else {
          guardedOutcomes.missed += 1;
          missed.push(`${path}:${line} ${problems.join('; ')}`);
        }
      }
    }
    return { missed, siteReports };
  }

  /** Legacy-only references left in the written output that the first run did not report. */
  async function unreportedSurvivors(dir: string, result: MigrationResult): Promise<string[]> {
    const discovery = await discover([join(dir, 'src')], dir);
    const analysis = analyze({ root: dir, discovery, matchers: createMatchers() });
    const missed: string[] = [];
    for (const record of analysis.candidates) {
      const items = result.files.filter((f) => f.file === record.rel).flatMap((f) => f.items).filter((i) => i.severity !== 'note');
      const survivors = [
        ...analysis.symbols.legacyReferences(record).filter((r) => r.legacyOnly).map((r) => r.node),
        ...analysis.handlers.classes.filter((h) => h.record === record).flatMap((h) => legacyAccesses(h.node)),
      ];
      legacyOnlySurvivors += survivors.length;
      const lostInFile = items.some((i) => i.code === 'unresolved-legacy-reference');
      for (const node of survivors) {
        const line = node.getStartLineNumber();
        if (lostInFile || items.some((i) => i.line === line)) continue;
        missed.push(`${record.rel}:${line} ${node.getText()}`);
      }
    }
    return missed;
  }

  /** Migrates one program and checks every per-program property; keeps it for the batch type-check. */
  async function checkProgram(program: LegacyProgram): Promise<void> {
    // A turn of the event loop per program: migrate() awaits only promises, so a whole property
    // run would otherwise starve vitest's worker RPC, whose fixed 60 s timeout then fails the run.
    await new Promise((resolve) => setImmediate(resolve));
    const dir = join(base, `p${String(++counter).padStart(5, '0')}`);
    const inputs = new Map<string, string>();
    for (const [path, text] of Object.entries(program.files)) {
      const file = join(dir, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, path === VENDOR_DEFERRED ? vendorReexport(file) : text);
      if (path.startsWith('src/')) inputs.set(file, text);
    }

    // The app's manifest, in the directory the run walks: its exports (an uncalled `kick()`) are
    // called from the app alone, so a defer() in one has no unseen caller; without it, or with it
    // above what the run walks, each would be reported (sync-error-handling).
    writeFileSync(join(dir, 'src', 'package.json'), JSON.stringify({ name: `generated-${counter}`, private: true, main: 'index.js' }));
    const result = await migrate({ paths: [join(dir, 'src')], root: dir });
    const context = () => describeProgram(program, result);
    const failed = result.files.filter((f) => f.status === 'failed');
    expect(failed.map((f) => `${f.file}: ${f.items.map((i) => i.message).join('; ')}`), context()).toEqual([]);

    for (const [path, chunks] of Object.entries(program.unrelated)) {
      const file = result.files.find((f) => f.file === path);
      const text = file?.updated ?? program.files[path]!;
      expect(syntaxErrors(path, text), context()).toEqual([]);
      let from = 0;
      for (const chunk of chunks) {
        const at = text.indexOf(chunk, from);
        expect(at, `unrelated chunk ${chunk.slice(0, 12)} of ${path} changed or moved\n${context()}`).toBeGreaterThanOrEqual(0);
        from = at + chunk.length;
      }
    }
    for (const file of result.files) {
      if (file.updated === undefined) continue;
      expect(syntaxErrors(file.file, file.updated), context()).toEqual([]);
      writeFileSync(file.absPath, file.updated);
    }

    const missed = await unreportedSurvivors(dir, result);
    silentMisses.push(...missed);
    expect(missed, `legacy-only references survive the migration unreported\n${context()}`).toEqual([]);
    const { missed: lostCatches, siteReports } = guardedMisses(program, result);
    silentMisses.push(...lostCatches);
    expect(lostCatches, `a try no longer sees the error of a defer() call, and the call was not reported\n${context()}`).toEqual([]);

    const again = await migrate({ paths: [join(dir, 'src')], root: dir });
    const changedAgain = again.files.filter((f) => f.updated !== undefined || f.status === 'failed');
    expect(
      changedAgain.map((f) => `${f.file} (${f.status}): ${f.items.map((i) => i.message).join('; ')}\n${f.updated ?? ''}`),
      `second run\n${context()}`,
    ).toEqual([]);

    // A guarded call the codemod could not await is reported (checked above): such
    // a report is an expected outcome, not a manual step the contract forbids.
    const manualSteps = result.files.flatMap((f) => f.items).filter((i) => i.severity !== 'note' && !siteReports.has(i));
    if (!program.expectsManualSteps) {
      expect(manualSteps.map((i) => `${i.file}:${i.line} ${i.code}: ${i.message}`), `manual steps for a program the contract says is migratable\n${context()}`).toEqual([]);
    } else {
      expect(manualSteps.length, `a program with _transactional/_target/a lambda/an unmounted table got no report\n${context()}`).toBeGreaterThan(0);
    }
    // A reported defer-result leaves code that does not type-check until done by hand; a reported sync-error-handling does.
    const leftToDo = result.files.flatMap((f) => f.items).filter((i) => i.severity !== 'note' && !(siteReports.has(i) && i.code === 'sync-error-handling'));
    migrated.push({ dir, program, inputs, manualSteps: leftToDo.length, codes: manualSteps.map((i) => i.code) });
  }

  it(`migrates ${PROGRAMS} TypeScript programs: no crash, parses, unrelated code untouched, idempotent on disk`, async () => {
    await fc.assert(fc.asyncProperty(legacyProgram, checkProgram), { numRuns: PROGRAMS, seed, endOnFailure: true });
  }, scaled(10 * 60_000, 120 * 60_000));

  it(`migrates ${COMMONJS_PROGRAMS} CommonJS programs with the same properties`, async () => {
    await fc.assert(fc.asyncProperty(legacyCommonJsProgram, checkProgram), { numRuns: COMMONJS_PROGRAMS, seed, endOnFailure: true });
  }, scaled(10 * 60_000, 120 * 60_000));

  it('inputs type-check against the legacy runtime; outputs without manual steps type-check against the shim', async () => {
    expect(migrated.length).toBe(PROGRAMS + COMMONJS_PROGRAMS);
    const typed = migrated.filter((m) => m.program.typeChecked);
    const roots = typed.flatMap((m) => [...m.inputs.keys()]);
    const before = new Map<string, FileDiagnostic[]>();
    const after = new Map<string, FileDiagnostic[]>();
    // In batches (one program each), which bounds memory at the large scale.
    for (let i = 0; i < typed.length; i += TYPE_CHECK_BATCH) {
      const batch = typed.slice(i, i + TYPE_CHECK_BATCH);
      const files = batch.flatMap((m) => [...m.inputs.keys()]);
      for (const [file, diagnostics] of await typeCheckFiles(files, new Map(batch.flatMap((m) => [...m.inputs])))) before.set(file, diagnostics);
      for (const [file, diagnostics] of await typeCheckFiles(files)) after.set(file, diagnostics);
    }
    let clean = 0;
    let colliding = 0;
    for (const m of typed) {
      const files = [...m.inputs.keys()];
      const inputErrors = files.flatMap((f) => before.get(f) ?? []);
      expect(inputErrors, `the generator built an input that does not type-check\n${describeProgram(m.program)}`).toEqual([]);
      if (m.manualSteps > 0) continue;
      clean += 1;
      if (m.program.declaresShimName) colliding += 1;
      const outputErrors = files.flatMap((f) => after.get(f) ?? []).map((d) => `${d.file}:${d.line} ${d.message}`);
      const outputs = files.map((f) => `+++ ${f}\n${readFileSync(f, 'utf8')}`).join('\n');
      expect(outputErrors, `output does not type-check:\n${outputErrors.join('\n')}\n${describeProgram(m.program)}\n${outputs}`).toEqual([]);
    }
    const codes = new Map<string, number>();
    for (const code of migrated.flatMap((m) => m.codes)) codes.set(code, (codes.get(code) ?? 0) + 1);
    console.log(
      `codemod properties (seed ${seed}): manual steps by reason: ${[...codes].map(([code, n]) => `${code} ${n}`).join(', ')}\n` +
      `codemod properties (seed ${seed}): ${migrated.length} programs (${typed.length} TypeScript, ${migrated.length - typed.length} CommonJS), ` +
        `${roots.length} TypeScript files type-checked before; ${clean} migrated without manual steps and type-checked against the shim after ` +
        `(${colliding} of them declaring a name the shim import adds), ${typed.length - clean} with manual steps\n` +
        `codemod properties (seed ${seed}): ${legacyOnlySurvivors} legacy-only references left in outputs; ` +
        `${migrated.filter((m) => Object.keys(m.program.guardedSites).length > 0).length} programs with guarded defer() calls: ${guardedOutcomes.awaited} awaited along their path, ${guardedOutcomes.reported} reported, ${guardedOutcomes.missed} missed (through object or class members: ${throughMembers.awaited} awaited, ${throughMembers.reported} reported); ${silentMisses.length} silent misses in all`,
    );
    expect(silentMisses).toEqual([]);
  }, scaled(5 * 60_000, 60 * 60_000));
});
