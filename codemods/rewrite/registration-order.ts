// When a registration written after a function's declaration runs too late. A
// function declaration is hoisted: the legacy runtime could defer it from code
// that runs while its module loads, before the declaration's line (a top-level
// `defer(warm)` above `function warm() {}`, a `boot()` there that defers it), or
// from a module of an import cycle evaluated before its own; the shim's defer()
// then finds it unregistered (NotRegisteredError). A CommonJS module-level
// `return` skips everything after it.
import { Node, SyntaxKind, ts, type Statement } from 'ts-morph';
import type { Analysis } from '../analysis/index.js';
import type { SourceRecord } from '../analysis/project.js';

/** Whether `node` holds a `return` of the module itself (CommonJS), not of a function inside it. */
function holdsModuleReturn(statement: Statement): boolean {
  let found = false;
  const visit = (node: ts.Node): void => {
    if (found || ts.isFunctionLike(node) || ts.isClassLike(node)) return;
    if (ts.isReturnStatement(node)) found = true;
    else ts.forEachChild(node, visit);
  };
  visit(statement.compilerNode);
  return found;
}

/** `Object.defineProperty(exports, ...)`, `__exportStar(require('./x'), exports)`: what compiled CommonJS writes to set up its exports and imports. */
function isModuleSetup(call: ts.CallExpression): boolean {
  const callee = call.expression;
  if (ts.isIdentifier(callee)) return callee.text === 'require' || callee.text.startsWith('__');
  const target = call.arguments[0];
  return ts.isPropertyAccessExpression(callee) && callee.getText() === 'Object.defineProperty' && !!target && /^(module\.)?exports$/.test(target.getText());
}

/**
 * Whether `statement` may run code of the app when the module loads (a call, `new`, a
 * tagged template, a decorator, `await` outside nested functions): only then can it
 * reach a defer(). Imports, requires and declarations run none.
 */
function runsCode(statement: Statement): boolean {
  let known = runsCodeCache.get(statement.compilerNode);
  if (known === undefined) runsCodeCache.set(statement.compilerNode, (known = computeRunsCode(statement)));
  return known;
}

// Asked for every registration of a file: each statement is walked once.
const runsCodeCache = new WeakMap<ts.Node, boolean>();
const identifierCache = new WeakMap<ts.Node, Set<string>>();

function computeRunsCode(statement: Statement): boolean {
  if (Node.isImportDeclaration(statement) || Node.isImportEqualsDeclaration(statement) || Node.isExportDeclaration(statement)) return false;
  if (Node.isInterfaceDeclaration(statement) || Node.isTypeAliasDeclaration(statement) || (Node.isModifierable(statement) && statement.hasModifier(SyntaxKind.DeclareKeyword))) return false;
  let found = false;
  const visit = (node: ts.Node): void => {
    if (found) return;
    if (ts.isFunctionLike(node) && !ts.isClassStaticBlockDeclaration(node)) return;
    if (ts.isCallExpression(node) && !isModuleSetup(node)) found = true;
    else if (ts.isNewExpression(node) || ts.isTaggedTemplateExpression(node) || ts.isDecorator(node) || ts.isAwaitExpression(node) || ts.isClassStaticBlockDeclaration(node)) found = true;
    else ts.forEachChild(node, visit);
  };
  // A call inside a call's callback runs when that call does: the outer call counts already.
  visit(statement.compilerNode);
  return found;
}

/** Whether loading `record` runs code of the app (a module-level statement that is not inert). */
export function runsCodeWhenLoaded(record: SourceRecord): boolean {
  return record.sourceFile.getStatements().some(runsCode);
}

/**
 * The module-level statement that binds the module the registration calls through,
 * when it runs in place: a CommonJS `require()` of the legacy module or the shim (or
 * TypeScript's `import x = require()`), the last one. An ES import is hoisted: none.
 */
export function registerBinder(analysis: Analysis, record: SourceRecord): Statement | undefined {
  const statements = new Set<Node>(record.sourceFile.getStatements());
  const binders = analysis.symbols
    .of(record)
    .sites.filter((site) => (site.kind === 'cjs-variable' || site.kind === 'import-equals') && statements.has(site.node))
    .map((site) => site.node as Statement);
  return binders.sort((a, b) => a.getStart() - b.getStart()).at(-1);
}

/**
 * The top-level statements of `record` whose code may defer a value of `sites` (those
 * in this file) when it runs: a statement holding one, and, repeatedly, one that
 * names a module-level binding a statement found so far declares (`boot()` where
 * `function boot() { defer(warm) }`). By name, ignoring shadowing: more, not fewer.
 */
function mayDefer(record: SourceRecord, sites: readonly Node[]): Set<Statement> {
  const statements = record.sourceFile.getStatements();
  const found = new Set<Statement>();
  for (const site of sites) {
    const top = site.getSourceFile() === record.sourceFile ? statements.find((statement) => statement.getPos() <= site.getPos() && site.getEnd() <= statement.getEnd()) : undefined;
    if (top) found.add(top);
  }
  const mentioned = new Map(statements.map((statement) => [statement, identifierTexts(statement.compilerNode)]));
  const names = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const statement of found) for (const name of declaredNames(statement.compilerNode)) names.add(name);
    for (const statement of statements) {
      if (found.has(statement) || ![...mentioned.get(statement)!].some((name) => names.has(name))) continue;
      found.add(statement);
      grew = true;
    }
  }
  return found;
}

/** The module-level names `statement` declares: a function's, a class's, a variable's (destructured ones too). */
function declaredNames(statement: ts.Statement): string[] {
  if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name) return [statement.name.text];
  if (!ts.isVariableStatement(statement)) return [];
  const names: string[] = [];
  const bind = (name: ts.BindingName): void => {
    if (ts.isIdentifier(name)) names.push(name.text);
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) bind(element.name);
  };
  for (const declaration of statement.declarationList.declarations) bind(declaration.name);
  return names;
}

function identifierTexts(root: ts.Node): Set<string> {
  const cached = identifierCache.get(root);
  if (cached) return cached;
  const texts = new Set<string>();
  identifierCache.set(root, texts);
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) texts.add(node.text);
    ts.forEachChild(node, visit);
  };
  visit(root);
  return texts;
}

/**
 * Where the registration of the function declared by `declaration` must go when
 * right after the declaration is too late: before the first statement above it
 * that runs code that may defer it (a value of `sites` in this file), or that
 * holds a module-level `return`. `late`: that statement comes before `binder`,
 * the CommonJS require() that binds `register`, so no place works.
 */
export function earlyRegistration(record: SourceRecord, declaration: Statement, sites: readonly Node[], binder: Statement | undefined): { before: Statement } | { late: Statement } | undefined {
  if (!Node.isFunctionDeclaration(declaration)) return undefined;
  const statements = record.sourceFile.getStatements();
  const above = statements.slice(0, statements.indexOf(declaration));
  const deferring = above.some(runsCode) ? mayDefer(record, sites) : new Set<Statement>();
  const first = above.findIndex((statement) => (deferring.has(statement) && runsCode(statement)) || holdsModuleReturn(statement));
  if (first < 0) return undefined;
  return first > (binder ? statements.indexOf(binder) : -1) ? { before: above[first]! } : { late: above[first]! };
}

/**
 * The import cycles of the run (static and lazy imports), as strongly connected
 * components: a module of one may be evaluated before another's first line, so
 * nothing the later one registers is known while the earlier one loads.
 */
export class ImportCycles {
  private readonly component = new Map<string, readonly string[]>();

  constructor(private readonly analysis: Analysis) {}

  /** The other modules of the cycle `record` is in (absolute paths; none for a module importing itself), or undefined. */
  of(record: SourceRecord): string[] | undefined {
    if (!this.component.has(record.absPath)) this.search(record.absPath);
    const members = this.component.get(record.absPath) ?? [];
    const others = members.filter((file) => file !== record.absPath);
    const selfImport = this.analysis.imports.importsOf(record.absPath, this.analysis.index).has(record.absPath);
    return others.length > 0 || selfImport ? others : undefined;
  }

  /** Tarjan's algorithm from `start`, recording the component of every file it visits. */
  private search(start: string): void {
    const { index, imports } = this.analysis;
    const order = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const visit = (file: string): void => {
      order.set(file, order.size);
      low.set(file, order.get(file)!);
      stack.push(file);
      onStack.add(file);
      for (const next of imports.importsOf(file, index)) {
        if (this.component.has(next)) continue;
        if (!order.has(next)) {
          visit(next);
          low.set(file, Math.min(low.get(file)!, low.get(next)!));
        } else if (onStack.has(next)) low.set(file, Math.min(low.get(file)!, order.get(next)!));
      }
      if (low.get(file) !== order.get(file)) return;
      const members: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        members.push(member);
      } while (member !== file);
      for (const m of members) this.component.set(m, members);
    };
    visit(start);
  }
}
