// An app created inside a function (`export function createApp(opts) { const app =
// wrapApp(express(), ...) ... }`) is a new app each time that function runs, and each
// `wrapApp` makes its app the runtime's delivery target in turn: the embedded queue
// delivers every task to the app made last. When the function is called more than
// once in the serving process (a public app and an admin app from one factory, one
// per port, one per tenant in a loop), tasks to a custom URL run through the last
// app's routes: one made without the task routes (`if (opts.tasks) app.use(tasks)`)
// or under another prefix answers them 404, and the task is retried for ever. The
// analysis of delivery targets (delivery-target.ts) counts apps by where they are
// created; this says which of those creations are made more than once.
import { Node, SyntaxKind, type Identifier } from 'ts-morph';
import { entriesOf, type RepeatedApp } from '../analysis/delivery-target.js';
import type { HostApp } from '../analysis/host-app.js';
import type { Analysis } from '../analysis/index.js';
import type { SourceRecord } from '../analysis/project.js';
import { outermost, requireSpecifier } from '../analysis/legacy-symbols.js';
import { sameScopeReferences } from '../analysis/scope.js';
import { isTestFile } from '../analysis/unrecognised-servers.js';
import { exportedReferences, moduleAndImporters } from './exported-references.js';
import { calleeCall } from './async-plan.js';

/**
 * The function a node runs in, with the identifier that names it (a declaration or a const it
 * is assigned to), or the class whose constructor (or field initializer) it runs in: made once
 * per `new`.
 */
function namedFunctionOf(node: Node): { name: Identifier; declaration: Node; isClass: boolean } | undefined {
  const fn = node.getFirstAncestor((n) => Node.isFunctionDeclaration(n) || Node.isFunctionExpression(n) || Node.isArrowFunction(n) || Node.isMethodDeclaration(n) || Node.isConstructorDeclaration(n) || Node.isPropertyDeclaration(n) || Node.isGetAccessorDeclaration(n) || Node.isSetAccessorDeclaration(n) || Node.isClassStaticBlockDeclaration(n));
  if (!fn) return undefined;
  if (Node.isFunctionDeclaration(fn)) {
    const name = fn.getNameNode();
    return name && { name, declaration: fn, isClass: false };
  }
  if (Node.isFunctionExpression(fn) || Node.isArrowFunction(fn)) {
    const holder = outermost(fn).getParent();
    if (holder && Node.isVariableDeclaration(holder)) {
      const name = holder.getNameNode();
      if (Node.isIdentifier(name)) return { name, declaration: holder, isClass: false };
    }
    return undefined;
  }
  if (Node.isConstructorDeclaration(fn) || (Node.isPropertyDeclaration(fn) && !fn.isStatic())) {
    const cls = fn.getParent();
    const name = cls && Node.isClassDeclaration(cls) ? cls.getNameNode() : undefined;
    return name && { name, declaration: cls!, isClass: true };
  }
  return undefined;
}

const LOOPS = new Set([SyntaxKind.ForStatement, SyntaxKind.ForOfStatement, SyntaxKind.ForInStatement, SyntaxKind.WhileStatement, SyntaxKind.DoStatement]);
const ITERATING = new Set(['forEach', 'map', 'flatMap', 'from']);

/** The call runs more than once where it is written: in a loop, or in a callback an array method runs per element. */
function inLoop(call: Node): boolean {
  for (let current: Node | undefined = call.getParent(); current && !Node.isSourceFile(current); current = current.getParent()) {
    if (LOOPS.has(current.getKind())) return true;
    if (Node.isFunctionDeclaration(current) || Node.isMethodDeclaration(current)) return false;
    if (Node.isArrowFunction(current) || Node.isFunctionExpression(current)) {
      const parent = current.getParent();
      if (!parent || !Node.isCallExpression(parent) || !parent.getArguments().includes(current)) return false;
      const callee = parent.getExpression();
      return Node.isPropertyAccessExpression(callee) && ITERATING.has(callee.getName());
    }
  }
  return false;
}

/** How often the function or class `node` runs in is run by the serving code (test files aside): 1, or 2 for more than once. */
interface Runs {
  runs: number;
  factory?: string;
  /** Where it is called, by file (`2 calls in main.ts`, `in a loop in app.js`, `a call in main.ts, which runs more than once`). */
  calls: string[];
  /** Why not every call is known (an export the analysis cannot follow everywhere): counted as more than once. */
  unknown?: string;
}

/** Enclosing factories followed at most (a factory's caller's caller...). */
const MAX_DEPTH = 3;

/** The function `node` runs in when it is the module's whole export: `module.exports = function () {...}`, `export default () => {...}`. */
function wholeModuleFunction(node: Node): Node | undefined {
  const fn = node.getFirstAncestor((n) => Node.isFunctionDeclaration(n) || Node.isFunctionExpression(n) || Node.isArrowFunction(n) || Node.isMethodDeclaration(n) || Node.isConstructorDeclaration(n));
  if (!fn) return undefined;
  if (Node.isFunctionDeclaration(fn)) return fn.isDefaultExport() && !fn.getName() ? fn : undefined;
  if (!Node.isFunctionExpression(fn) && !Node.isArrowFunction(fn)) return undefined;
  const holder = outermost(fn).getParent();
  if (holder && Node.isExportAssignment(holder) && Node.isSourceFile(holder.getParent())) return fn;
  if (holder && Node.isBinaryExpression(holder) && holder.getRight() === outermost(fn) && holder.getOperatorToken().getKind() === SyntaxKind.EqualsToken && holder.getLeft().getText().replace(/\s/g, '') === 'module.exports' && Node.isExpressionStatement(holder.getParent()) && Node.isSourceFile(holder.getParent()!.getParent())) return fn;
  return undefined;
}

/** The calls, in the run's importers, of a module whose whole export is a function: `const f = require('./app'); f()`, `require('./app')()`, `import f from './app'; f()`. */
function wholeModuleCalls(analysis: Analysis, record: SourceRecord): Node[] {
  const calls: Node[] = [];
  for (const absPath of moduleAndImporters(analysis, record.absPath)) {
    if (absPath === record.absPath) continue;
    const importer = analysis.index.load(absPath);
    if (!importer || importer.parseProblem) continue;
    const sf = importer.sourceFile;
    const named = (nameNode: Node | undefined) => {
      if (!nameNode || !Node.isIdentifier(nameNode)) return;
      for (const ref of sameScopeReferences(nameNode)) {
        const call = calleeCall(ref);
        if (call) calls.push(call);
      }
    };
    for (const declaration of sf.getImportDeclarations()) {
      if (analysis.index.resolve(importer.absPath, declaration.getModuleSpecifierValue()) === record.absPath) named(declaration.getDefaultImport());
    }
    for (const call of sf.getDescendantsOfKind(SyntaxKind.CallExpression)) {
      const literal = requireSpecifier(call);
      if (!literal || analysis.index.resolve(importer.absPath, literal.getLiteralValue()) !== record.absPath) continue;
      const parent = outermost(call).getParent();
      if (parent && Node.isVariableDeclaration(parent)) named(parent.getNameNode());
      else if (parent && Node.isCallExpression(parent) && parent.getExpression() === outermost(call)) calls.push(parent);
    }
  }
  return calls;
}

function runsOf(analysis: Analysis, record: SourceRecord, node: Node, depth: number): Runs {
  // `for (const port of ports) { const app = express(); ... }`, `ports.forEach((port) => ...)`.
  if (inLoop(node)) return { runs: 2, factory: 'the loop (or array callback) around it', calls: [`in ${record.rel}`] };
  const named = namedFunctionOf(node);
  if (!named) {
    const whole = wholeModuleFunction(node);
    return whole ? countCalls(analysis, wholeModuleCalls(analysis, record), depth, 'the function the module exports') : { runs: 1, calls: [] };
  }
  const { name, declaration, isClass } = named;
  const refs = new Set<Node>(sameScopeReferences(name));
  // A module-level function or class may be exported: its importers' calls count too.
  const holder = Node.isVariableDeclaration(declaration) ? declaration.getVariableStatement() : declaration;
  if (holder && Node.isSourceFile(holder.getParent())) {
    const found = exportedReferences(analysis, record, declaration as Parameters<typeof exportedReferences>[2], name.getText());
    // Calls the analysis cannot see may make more apps: not judged to be one.
    if (!found.ok) return { runs: 2, factory: isClass ? `new ${name.getText()}()` : `${name.getText()}()`, calls: [], unknown: found.reason };
    for (const ref of found.refs) if (ref !== name) refs.add(ref);
  }
  const calls: Node[] = [];
  for (const ref of refs) {
    const call = isClass ? newOf(ref) : calleeCall(ref);
    if (call) calls.push(call);
  }
  return countCalls(analysis, calls, depth, isClass ? `new ${name.getText()}()` : `${name.getText()}()`);
}

/** How often these calls (of one factory) run in the serving code. */
function countCalls(analysis: Analysis, calls: readonly Node[], depth: number, factory: string): Runs {
  // By file, not line: a line would name the migrated text in the marker the engine writes.
  const perFile = new Map<string, { calls: number; looped: boolean; repeated: boolean }>();
  const callFiles = new Map<string, string>();
  let runs = 0;
  for (const call of calls) {
    const callRecord = analysis.index.load(call.getSourceFile().getFilePath());
    if (!callRecord || isTestFile(callRecord.rel)) continue;
    const looped = inLoop(call);
    // The call's own function may run more than once (a factory's caller called twice).
    const repeated = !looped && depth < MAX_DEPTH && runsOf(analysis, callRecord, call, depth + 1).runs >= 2;
    runs += looped || repeated ? 2 : 1;
    const entry = perFile.get(callRecord.rel) ?? { calls: 0, looped: false, repeated: false };
    entry.calls += 1;
    entry.looped ||= looped;
    entry.repeated ||= repeated;
    perFile.set(callRecord.rel, entry);
    callFiles.set(callRecord.rel, callRecord.absPath);
    if (runs >= 2 && perFile.size > 4) break;
  }
  const where = [...perFile].map(([file, e]) => `${e.looped ? 'in a loop in ' : e.calls > 1 ? `${e.calls} calls in ` : 'a call in '}${file}${e.repeated ? ', which runs more than once' : ''}`);
  // One call in each of files no entry module loads together (`web.ts`, `worker.ts`): separate processes, one app each.
  if (runs >= 2 && [...perFile.values()].every((e) => e.calls === 1 && !e.looped && !e.repeated) && separateProcesses(analysis, [...callFiles.values()])) runs = 1;
  return { runs: Math.min(runs, 2), factory, calls: where };
}

/** No two of these files are loaded by a common entry module (as far as the walk can tell). */
function separateProcesses(analysis: Analysis, files: readonly string[]): boolean {
  const entries = files.map((file) => entriesOf(analysis, file));
  if (entries.some((e) => e === undefined)) return false;
  return entries.every((a, i) => entries.every((b, j) => i === j || ![...a!].some((entry) => b!.has(entry))));
}

/** The `new X()` that `ref` is the class of, if any. */
function newOf(ref: Node): Node | undefined {
  let callee: Node = ref;
  const parent = ref.getParent();
  if (parent && Node.isPropertyAccessExpression(parent) && parent.getNameNode() === ref) callee = parent;
  const outer = outermost(callee);
  const created = outer.getParent();
  return created && Node.isNewExpression(created) && created.getExpression() === outer ? created : undefined;
}

/**
 * The calls of the function (or class) `host` is created in, when the serving code (test
 * files aside) runs it more than once: two calls, one in a loop, or one in a function that
 * itself runs more than once. Undefined when it is made once, at module level, or by a
 * function the analysis does not name (a callback, a method).
 */
export function repeatedCreation(analysis: Analysis, host: HostApp): RepeatedApp | undefined {
  // `http.createServer(handler)` made again wraps the same listener: wrapApp returns the app it made the first time.
  if (host.framework === 'node' && host.listener && Node.isIdentifier(host.listener)) return undefined;
  const found = runsOf(analysis, host.record, host.served ?? host.create, 0);
  if (found.runs < 2 || !found.factory) return undefined;
  return found.unknown !== undefined ? { factory: found.factory, calls: found.calls, unknown: found.unknown } : { factory: found.factory, calls: found.calls };
}
