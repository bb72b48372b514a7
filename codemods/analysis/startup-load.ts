// Whether the process that serves the app loads a module when it starts. The shim
// finds a task's function by the name its module registers when it is loaded, so a
// module the app loads only lazily (`await import('./jobs.js')` in a route, a
// `require()` inside a function) has not registered anything in a freshly started
// process that receives the task first: the task fails permanently there. A module
// is loaded at startup when nothing in the run imports it (an entry point), when it
// creates a host app, or when a module loaded at startup imports it statically
// (import, export ... from, import = require, a top-level require()).
import * as path from 'node:path';
import { Node, SyntaxKind, ts } from 'ts-morph';
import { compilerNodesOfKind, wrapCompilerNode } from './compiler-nodes.js';
import type { Analysis } from './index.js';
import { isTestFile } from './unrecognised-servers.js';

export type StartupLoad = { eager: true } | { eager: false; lazy: Array<{ file: string; line: number; how: string }> };

/** How `importer` loads `target`: its static and lazy sites. */
function sitesIn(analysis: Analysis, importer: string, target: string): { statics: number; lazy: Array<{ line: number; how: string }> } {
  const record = analysis.index.load(importer);
  const found = { statics: 0, lazy: [] as Array<{ line: number; how: string }> };
  if (!record || record.parseProblem) return found;
  const sf = record.sourceFile.compilerNode;
  const resolves = (specifier: ts.Node | undefined): boolean => !!specifier && ts.isStringLiteralLike(specifier) && analysis.index.resolve(importer, specifier.text) === target;
  const line = (node: ts.Node): number => sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
  for (const statement of sf.statements) {
    if (ts.isImportDeclaration(statement) && resolves(statement.moduleSpecifier) && !statement.importClause?.isTypeOnly) found.statics++;
    else if (ts.isExportDeclaration(statement) && resolves(statement.moduleSpecifier) && !statement.isTypeOnly) found.statics++;
    else if (ts.isImportEqualsDeclaration(statement) && ts.isExternalModuleReference(statement.moduleReference) && resolves(statement.moduleReference.expression)) found.statics++;
  }
  for (const call of compilerNodesOfKind<ts.CallExpression>(record.sourceFile, SyntaxKind.CallExpression)) {
    const isImport = call.expression.kind === SyntaxKind.ImportKeyword;
    const isRequire = ts.isIdentifier(call.expression) && call.expression.text === 'require';
    if ((!isImport && !isRequire) || !resolves(call.arguments[0])) continue;
    const inFunction = !!wrapCompilerNode(record.sourceFile, call).getFirstAncestor((node) => Node.isFunctionLikeDeclaration(node) || Node.isArrowFunction(node) || Node.isFunctionExpression(node));
    if (isRequire && !inFunction) found.statics++;
    else found.lazy.push({ line: line(call), how: isImport ? 'import()' : 'require() inside a function' });
  }
  return found;
}

export class StartupLoads {
  private static readonly cache = new WeakMap<Analysis, StartupLoads>();
  private readonly answers = new Map<string, StartupLoad>();
  private readonly hostFiles: Set<string>;

  private constructor(private readonly analysis: Analysis) {
    this.hostFiles = new Set(analysis.hosts.map((host) => host.record.absPath));
  }

  static of(analysis: Analysis): StartupLoads {
    let loads = StartupLoads.cache.get(analysis);
    if (!loads) StartupLoads.cache.set(analysis, (loads = new StartupLoads(analysis)));
    return loads;
  }

  /** Whether `absPath` is loaded when the app's process starts; if not, where the run loads it lazily. */
  of(absPath: string, visiting = new Set<string>()): StartupLoad {
    const known = this.answers.get(absPath);
    if (known) return known;
    // A cycle back to a module being asked about adds nothing (its other importers decide).
    if (visiting.has(absPath)) return { eager: false, lazy: [] };
    visiting.add(absPath);
    const answer = this.compute(absPath, visiting);
    visiting.delete(absPath);
    if (visiting.size === 0 || answer.eager) this.answers.set(absPath, answer);
    return answer;
  }

  private served: Set<string> | undefined;

  /**
   * Whether the process that serves the app loads `absPath` at all, as far as the run
   * sees: the host apps' modules, the modules that import them (up to its entry
   * points), and everything they import (statically or not). False: only other
   * processes load it (a script, a worker, a test), or a load the run does not see
   * (a computed require()). True when every app found is in a test file (the serving
   * process is then not known).
   */
  loadedByServer(absPath: string): boolean {
    if (!this.served) {
      const { index, imports } = this.analysis;
      // An app in a test file is not the serving process; with no other, that process is unknown.
      const serving = this.analysis.hosts.filter((host) => !isTestFile(host.record.rel)).map((host) => host.record.absPath);
      if (serving.length === 0) return true;
      const served = imports.importerClosure(serving, index)!.files;
      const down = [...served];
      for (let file = down.pop(); file !== undefined; file = down.pop()) {
        for (const target of imports.importsOf(file, index)) if (!served.has(target)) served.add(target), down.push(target);
      }
      this.served = served;
    }
    return this.served.has(absPath);
  }

  private compute(absPath: string, visiting: Set<string>): StartupLoad {
    if (this.hostFiles.has(absPath)) return { eager: true };
    const { index, imports } = this.analysis;
    const importers = imports.importersOf(absPath, index);
    if (importers.length === 0) return { eager: true };
    const lazy: Array<{ file: string; line: number; how: string }> = [];
    for (const importer of importers) {
      const sites = sitesIn(this.analysis, importer, absPath);
      if (sites.statics > 0) {
        const through = this.of(importer, visiting);
        if (through.eager) return through;
        lazy.push(...through.lazy);
      }
      const rel = path.relative(this.analysis.root, importer).split(path.sep).join('/');
      lazy.push(...sites.lazy.map((site) => ({ file: rel, line: site.line, how: site.how })));
    }
    // Imported by nothing that loads it (its importers' sites were all unreadable): not judged lazy.
    return lazy.length === 0 ? { eager: true } : { eager: false, lazy };
  }
}
