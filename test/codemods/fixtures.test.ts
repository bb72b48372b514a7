// Every fixture under fixtures/codemods: migrate input → expected output and
// report; migrate the output → no change and the same manual items (f(f(x)) =
// f(x)). The rules' jscodeshift transforms on the single-file cases are in
// fixture-transforms.test.ts (its own file, so the two halves run side by side).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../codemods/engine.js';
import { isManual } from '../../codemods/types.js';
import { RULES } from '../../codemods/rewrite/index.js';
import { itemsOf, listCases, listTree, readExpectedItems, UPDATE, writeExpected, type FixtureCase } from './fixture-harness.js';


// The type check compares before and after: on a second run the error is already
// "before" (the marker in the expected output is what stays), so it is reported once.
const ONCE_PER_MIGRATION = new Set(['new-type-error', 'shim-unresolved']);

function manualCodes(items: Array<{ code: string; rule: string; severity: string }>): string[] {
  return items.filter((i) => isManual(i as never) && !ONCE_PER_MIGRATION.has(i.code)).map((i) => `${i.rule}:${i.code}`).sort();
}

async function runCase(fixture: FixtureCase): Promise<void> {
  if (fixture.kind === 'single') {
    const result = await migrate({ paths: [fixture.input], root: fixture.dir });
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
