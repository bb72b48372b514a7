// jscodeshift-compatible wrappers: each rule's default export runs that rule
// alone on one file. Only single-file facts are available there (a handler base
// class or a task function in another file is not seen); cross-file migration
// needs the CLI / `migrate()`.
import * as path from 'node:path';
import { analyze, type Analysis } from '../analysis/index.js';
import { createMatchers } from '../analysis/specifiers.js';
import { applyEdits } from './apply.js';
import { RuleOutput, type Rule } from './context.js';

export interface FileInfo {
  path: string;
  source: string;
}

export interface TransformOptions {
  legacyModules?: string[] | string;
  legacyWebappModules?: string[] | string;
  shimModule?: string;
  [key: string]: unknown;
}

/** `(fileInfo, api, options) => string`: the changed source, the same source when nothing changes. */
export type Transform = (fileInfo: FileInfo, api?: unknown, options?: TransformOptions) => string | null | undefined;

export type Finisher = (analysis: Analysis, out: RuleOutput, shared: RuleOutput) => void;

/** jscodeshift passes command-line options as strings: `--legacyModules=a,b`. */
function list(value: string[] | string | undefined): string[] | undefined {
  return typeof value === 'string' ? value.split(',').filter((v) => v !== '') : value;
}

export function makeTransform(rule: Rule, finish?: Finisher): Transform {
  return (fileInfo, _api, options = {}) => {
    const absPath = path.resolve(fileInfo.path);
    const kind = /\.ya?ml$/.test(absPath) ? 'app-yaml' : 'source';
    const analysis = analyze({
      root: path.dirname(absPath),
      discovery: { files: [{ absPath, rel: path.basename(absPath), kind }], unreadable: [] },
      matchers: createMatchers(list(options.legacyModules), list(options.legacyWebappModules), options.shimModule),
      readText: () => fileInfo.source,
      singleFile: true,
    });
    const failure = analysis.parseFailures[0]?.parseProblem;
    if (failure) throw new Error(`${fileInfo.path}:${failure.line}:${failure.column}: ${failure.message}`);
    const out = new RuleOutput(rule.meta.id);
    rule.run(analysis, out, out);
    if (finish) {
      const extra = new RuleOutput(rule.meta.id);
      finish(analysis, extra, out);
      out.absorb(extra);
    }
    const edits = out.edits.get(absPath) ?? [];
    if (edits.length === 0) return fileInfo.source;
    const result = applyEdits(fileInfo.source, edits);
    if (!result.ok) {
      throw new Error(`${fileInfo.path}: overlapping edits of rule ${rule.meta.id} (${result.conflict.first.start}-${result.conflict.first.end}, ${result.conflict.second.start}-${result.conflict.second.end})`);
    }
    return result.text;
  };
}
