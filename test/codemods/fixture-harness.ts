// Loads the fixture pairs under fixtures/codemods/<rule>/__testfixtures__:
// single-file cases `<case>.input.<ext>` + `<case>.output.<ext>` (+ `<case>.report.json`)
// and multi-file cases `<case>/input/`, `<case>/output/` (+ `<case>/report.json`).
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MigrationResult, ReportItem } from '../../codemods/types.js';

export const FIXTURES_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/codemods');

/** Regenerate expected outputs and reports from the current codemod (review the diff!). */
export const UPDATE = process.env.UPDATE === '1';

export interface ExpectedItem {
  file?: string;
  line: number;
  column: number;
  code: string;
  rule: string;
  /** The `<why>` of the `deferred-migrate-ignore` comment that acknowledges the item. */
  acknowledged?: string;
}

export interface SingleFileCase {
  kind: 'single';
  rule: string;
  name: string;
  dir: string;
  input: string;
  output: string;
  report: string;
}

export interface TreeCase {
  kind: 'tree';
  rule: string;
  name: string;
  dir: string;
  input: string;
  output: string;
  report: string;
}

export type FixtureCase = SingleFileCase | TreeCase;

export function listCases(): FixtureCase[] {
  const cases: FixtureCase[] = [];
  for (const rule of readdirSync(FIXTURES_ROOT).sort()) {
    const dir = path.join(FIXTURES_ROOT, rule, '__testfixtures__');
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir).sort()) {
      const full = path.join(dir, entry);
      if (statSync(full).isDirectory()) {
        cases.push({ kind: 'tree', rule, name: entry, dir, input: path.join(full, 'input'), output: path.join(full, 'output'), report: path.join(full, 'report.json') });
        continue;
      }
      const match = /^(.*)\.input\.([a-z]+)$/.exec(entry);
      if (!match) continue;
      const [, name, ext] = match;
      cases.push({
        kind: 'single',
        rule,
        name: name!,
        dir,
        input: full,
        output: path.join(dir, `${name}.output.${ext}`),
        report: path.join(dir, `${name}.report.json`),
      });
    }
  }
  return cases;
}

export function listTree(root: string): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir).sort()) {
      const full = path.join(dir, entry);
      if (statSync(full).isDirectory()) walk(full);
      else files.push(path.relative(root, full).split(path.sep).join('/'));
    }
  };
  walk(root);
  return files;
}

export function itemsOf(result: MigrationResult, withFile: boolean): ExpectedItem[] {
  const items: ReportItem[] = result.files.flatMap((f) => f.items);
  return items
    .map((i) => ({ ...(withFile ? { file: i.file } : {}), line: i.line, column: i.column, code: i.code, rule: i.rule, ...(i.acknowledged !== undefined ? { acknowledged: i.acknowledged } : {}) }))
    .sort((a, b) => (a.file ?? '').localeCompare(b.file ?? '') || a.line - b.line || a.column - b.column || a.code.localeCompare(b.code));
}

export function readExpectedItems(file: string): ExpectedItem[] {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ExpectedItem[]) : [];
}

export function writeExpected(file: string, content: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
}
