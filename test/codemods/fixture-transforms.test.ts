// The rules' jscodeshift transforms on the single-file fixtures under
// fixtures/codemods: alone, each rule changes a file exactly when the engine applied
// edits of that rule, is idempotent and leaves parseable code.
import { readFileSync } from 'node:fs';
import { Project, ts } from 'ts-morph';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../codemods/engine.js';
import { RULES } from '../../codemods/rewrite/index.js';
import type { Transform } from '../../codemods/rewrite/single-file.js';
import { listCases } from './fixture-harness.js';

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

const cases = listCases();

describe('jscodeshift transforms on single-file fixtures', () => {
  for (const fixture of cases) {
    if (fixture.kind !== 'single' || !transforms.has(fixture.rule)) continue;
    it(`${fixture.rule}/${fixture.name}`, async () => {
      const source = readFileSync(fixture.input, 'utf8');
      const result = await migrate({ paths: [fixture.input], root: fixture.dir });
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
