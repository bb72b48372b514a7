// Every fixture under fixtures/codemods: migrate input → expected output and
// report; migrate the output → no change and the same manual items (f(f(x)) =
// f(x)); and the rules' jscodeshift transforms on the single-file cases, compared
// with the engine's run of the first half (kept, not run again: the suite is CPU-bound).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Project, ts } from 'ts-morph';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../codemods/engine.js';
import { isManual } from '../../codemods/types.js';
import { RULES } from '../../codemods/rewrite/index.js';
import type { Transform } from '../../codemods/rewrite/single-file.js';
import type { MigrationResult } from '../../codemods/types.js';
import { itemsOf, listCases, listTree, readExpectedItems, UPDATE, writeExpected, type FixtureCase } from './fixture-harness.js';


// The type check compares before and after: on a second run the error is already
// "before" (the marker in the expected output is what stays), so it is reported once.
// So is middleware-bypassed: the mount it is found at is gone from the output.
const ONCE_PER_MIGRATION = new Set(['new-type-error', 'shim-unresolved', 'middleware-bypassed']);

function manualCodes(items: Array<{ code: string; rule: string; severity: string }>): string[] {
  return items.filter((i) => isManual(i as never) && !ONCE_PER_MIGRATION.has(i.code)).map((i) => `${i.rule}:${i.code}`).sort();
}

function parseProblem(file: string, text: string): string | undefined {
  const project = new Project({ useInMemoryFileSystem: true, compilerOptions: { allowJs: true, jsx: ts.JsxEmit.Preserve } });
  const sourceFile = project.createSourceFile(file.replace(/^\//, ''), text);
  const diagnostics = (sourceFile.compilerNode as unknown as { parseDiagnostics: ts.Diagnostic[] }).parseDiagnostics;
  return diagnostics[0] ? ts.flattenDiagnosticMessageText(diagnostics[0].messageText, '\n') : undefined;
}

const transforms = new Map<string, Transform>();
for (const rule of RULES) {
  const module = (await import(`../../codemods/rewrite/${rule.meta.id}.ts`)) as { default: Transform };
  transforms.set(rule.meta.id, module.default);
}

/** The engine's run of each single-file fixture's input, for the jscodeshift half. */
const singleRuns = new Map<string, Promise<MigrationResult>>();

async function runCase(fixture: FixtureCase): Promise<void> {
  if (fixture.kind === 'single') {
    const run = migrate({ paths: [fixture.input], root: fixture.dir });
    singleRuns.set(fixture.input, run);
    const result = await run;
    const file = result.files.find((f) => f.absPath === fixture.input);
    const actual = file?.updated ?? readFileSync(fixture.input, 'utf8');
    const items = itemsOf(result, false);
    if (UPDATE) {
      writeExpected(fixture.output, actual);
      writeExpected(fixture.report, JSON.stringify(items, null, 2) + '\n');
    }
    expect(actual).toBe(readFileSync(fixture.output, 'utf8'));
    expect(items).toEqual(readExpectedItems(fixture.report));
    const failedBefore = result.files.some((f) => f.status === 'failed');

    // Idempotency: the expected output is a fixpoint with the same manual items.
    const again = await migrate({ paths: [fixture.output], root: fixture.dir });
    if (!failedBefore) {
      expect(again.files.filter((f) => f.updated !== undefined).map((f) => f.file)).toEqual([]);
      expect(again.files.filter((f) => f.status === 'failed').map((f) => f.items)).toEqual([]);
    }
    expect(manualCodes(again.files.flatMap((f) => f.items))).toEqual(manualCodes(result.files.flatMap((f) => f.items)));
    return;
  }
  const result = await migrate({ paths: [fixture.input], root: fixture.input });
  const inputFiles = listTree(fixture.input);
  const actual = new Map<string, string>();
  for (const rel of inputFiles) {
    const abs = path.join(fixture.input, rel);
    const file = result.files.find((f) => f.absPath === abs);
    actual.set(rel, file?.updated ?? readFileSync(abs, 'utf8'));
  }
  const items = itemsOf(result, true);
  if (UPDATE) {
    for (const [rel, text] of actual) writeExpected(path.join(fixture.output, rel), text);
    writeExpected(fixture.report, JSON.stringify(items, null, 2) + '\n');
  }
  expect(listTree(fixture.output)).toEqual(inputFiles);
  for (const [rel, text] of actual) expect({ rel, text }).toEqual({ rel, text: readFileSync(path.join(fixture.output, rel), 'utf8') });
  expect(items).toEqual(readExpectedItems(fixture.report));

  const again = await migrate({ paths: [fixture.output], root: fixture.output });
  expect(again.files.filter((f) => f.updated !== undefined).map((f) => f.file)).toEqual([]);
  expect(manualCodes(again.files.flatMap((f) => f.items))).toEqual(manualCodes(result.files.flatMap((f) => f.items)));
}

const cases = listCases();

describe('codemod fixtures', () => {
  it('has fixtures for every rule', () => {
    const rules = new Set(cases.map((c) => c.rule));
    for (const rule of RULES) expect(rules.has(rule.meta.id)).toBe(true);
  });
  for (const fixture of cases) {
    it(`${fixture.rule}/${fixture.name}`, async () => {
      await runCase(fixture);
    });
  }
});

describe('jscodeshift transforms on single-file fixtures', () => {
  for (const fixture of cases) {
    if (fixture.kind !== 'single' || !transforms.has(fixture.rule)) continue;
    it(`${fixture.rule}/${fixture.name}`, async () => {
      // The engine's runs are already settled here, so without this turn the whole block
      // would run as one chain of microtasks and hold the worker's RPC past its timeout.
      await new Promise((resolve) => setImmediate(resolve));
      const source = readFileSync(fixture.input, 'utf8');
      const result = await (singleRuns.get(fixture.input) ?? migrate({ paths: [fixture.input], root: fixture.dir }));
      const file = result.files.find((f) => f.absPath === fixture.input);
      if (file?.status === 'failed') {
        expect(() => transforms.get(fixture.rule)!({ path: fixture.input, source })).toThrow();
        return;
      }
      // The rule alone changes the file exactly when the engine applied edits of that rule.
      const alone = transforms.get(fixture.rule)!({ path: fixture.input, source }, {}, {});
      const ruleEdited = (file?.edits ?? []).some((e) => e.rule === fixture.rule);
      expect(alone !== source).toBe(ruleEdited);
      // Alone, each rule is idempotent and leaves parseable code.
      const transform = transforms.get(fixture.rule)!;
      expect(transform({ path: fixture.input, source: alone ?? source }, {}, {})).toBe(alone);
      expect(parseProblem(fixture.input, alone ?? source)).toBeUndefined();
    });
  }
});
