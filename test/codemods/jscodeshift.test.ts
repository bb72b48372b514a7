// The rules as jscodeshift transforms, through jscodeshift's own runner: each built
// rule (dist/esm/codemods/rewrite/<rule>.js, its default export) runs once over
// copies of all of its single-file fixtures, and must write what the same
// transform returns in process (fixtures.test.ts relates that to the engine).
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RULES } from '../../codemods/rewrite/index.js';
import type { Transform } from '../../codemods/rewrite/single-file.js';
import { listCases, type SingleFileCase } from './fixture-harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const JSCODESHIFT = path.join(ROOT, 'node_modules/.bin/jscodeshift');
const built = (rule: string) => path.join(ROOT, `dist/esm/codemods/rewrite/${rule}.js`);

const byRule = new Map<string, SingleFileCase[]>();
for (const fixture of listCases()) {
  if (fixture.kind !== 'single') continue;
  byRule.set(fixture.rule, [...(byRule.get(fixture.rule) ?? []), fixture]);
}
const rules = RULES.map((r) => r.meta.id).filter((id) => byRule.has(id));
const scratch = mkdtempSync(path.join(tmpdir(), 'dm-jscodeshift-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(JSCODESHIFT, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

interface RuleRun {
  copies: Array<{ fixture: SingleFileCase; copy: string }>;
  errors: number;
  output: string;
}
const runs = new Map<string, RuleRun>();

beforeAll(async () => {
  for (const rule of rules) {
    if (!existsSync(built(rule))) throw new Error(`${built(rule)} is missing: run \`npm run build\` (npm test does it first)`);
  }
  // One jscodeshift process per rule over all its fixtures, two rules at a time.
  const queue = [...rules];
  const worker = async (): Promise<void> => {
    for (let rule = queue.shift(); rule !== undefined; rule = queue.shift()) {
      const dir = path.join(scratch, rule);
      mkdirSync(dir, { recursive: true });
      const copies = byRule.get(rule)!.map((fixture) => ({ fixture, copy: path.join(dir, path.basename(fixture.input)) }));
      for (const { fixture, copy } of copies) copyFileSync(fixture.input, copy);
      // --no-babel: the built rule is plain ESM (Node loads it as is); --run-in-band: no worker processes.
      const result = await run(['--no-babel', '--run-in-band', '--extensions=ts,tsx,js,jsx,mjs,cjs,mts,cts,yaml,yml', '-t', built(rule), ...copies.map((c) => c.copy)]);
      const errors = Number(/(\d+) errors/.exec(result.stdout)?.[1] ?? NaN);
      runs.set(rule, { copies, errors, output: result.stdout + result.stderr });
    }
  };
  await Promise.all([worker(), worker()]);
}, 300_000);

describe('rules through the jscodeshift runner', () => {
  it('has single-file fixtures for the rules to run, and jscodeshift changed files', () => {
    expect(rules.length).toBeGreaterThan(3);
    const changed = [...runs.values()].flatMap((r) => r.copies).filter(({ fixture, copy }) => readFileSync(copy, 'utf8') !== readFileSync(fixture.input, 'utf8'));
    expect(changed.length).toBeGreaterThan(5);
  });
  for (const rule of rules) {
    it(`${rule}: jscodeshift -t ${path.relative(ROOT, built(rule))} writes what the transform returns`, async () => {
      const transform = ((await import(`../../codemods/rewrite/${rule}.ts`)) as { default: Transform }).default;
      const { copies, errors, output } = runs.get(rule)!;
      let expectedErrors = 0;
      for (const { fixture, copy } of copies) {
        const source = readFileSync(fixture.input, 'utf8');
        let expected: string;
        try {
          expected = transform({ path: copy, source }) ?? source;
        } catch {
          expectedErrors++;
          expected = source; // jscodeshift leaves a file whose transform throws as it was
        }
        expect({ fixture: fixture.name, text: readFileSync(copy, 'utf8') }).toEqual({ fixture: fixture.name, text: expected });
      }
      expect(errors, output).toBe(expectedErrors);
    });
  }
});
