// What one run covers: its root, the paths walked and the module matchers. Shared by
// the engine and by the CLI's background tree scan, which must see the same tree
// without loading the engine (and its TypeScript toolchain) first.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { MigrateOptions } from '../types.js';
import { createMatchers, prefilterNeedles, type ModuleMatchers } from './specifiers.js';

export interface RunScope {
  root: string;
  paths: string[];
  matchers: ModuleMatchers;
  /** The prefilter's needles for these matchers. */
  needles: string[];
}

export function findGitRoot(start: string): string | undefined {
  let current = path.resolve(start);
  for (;;) {
    if (existsSync(path.join(current, '.git'))) return current;
    const parent = path.dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}

export function runScope(options: Pick<MigrateOptions, 'paths' | 'root' | 'legacyModules' | 'legacyWebappModules' | 'shimModule'>, cwd = process.cwd()): RunScope {
  const firstPath = path.resolve(cwd, options.paths[0] ?? '.');
  const root = path.resolve(options.root ?? findGitRoot(existsSync(firstPath) ? firstPath : cwd) ?? cwd);
  const matchers = createMatchers(options.legacyModules, options.legacyWebappModules, options.shimModule);
  // Relative paths are the caller's, from `cwd` (as the CLI gives them), not from the root.
  return { root, paths: options.paths.length > 0 ? options.paths.map((p) => path.resolve(cwd, p)) : [root], matchers, needles: prefilterNeedles(matchers) };
}
