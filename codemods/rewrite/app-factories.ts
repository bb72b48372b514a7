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
import { Node, SyntaxKind, type CallExpression } from 'ts-morph';
import { entriesOf, type RepeatedApp } from '../analysis/delivery-target.js';
import type { HostApp } from '../analysis/host-app.js';
import type { Analysis } from '../analysis/index.js';
import type { SourceRecord } from '../analysis/project.js';
import { outermost, requireSpecifier } from '../analysis/legacy-symbols.js';
import { sameScopeReferences } from '../analysis/scope.js';
import { isTestFile } from '../analysis/unrecognised-servers.js';
import { unseenConstruction } from '../analysis/instance-members.js';
import { where } from '../analysis/positions.js';
import { moduleAndImporters } from './exported-references.js';
import { AsyncPlanner, calleeCall, enclosingFunction, eventLoopCallback, promiseChainCall } from './async-plan.js';
import { isFunctionLike, nameOf, type FunctionLike } from './function-like.js';

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
  /** Why not every call is known (a caller the analysis cannot see): counted as more than once. */
  unknown?: string;
}

/** Functions followed up from the app's (a factory's caller's caller...): a longer chain is not judged to run once. */
const MAX_DEPTH = 6;

const ONCE: Runs = { runs: 1, calls: [] };

function unknownRuns(factory: string, reason: string): Runs {
  return { runs: 2, factory, calls: [], unknown: reason };
}

/** The function `node` runs in when it is the module's whole export: `module.exports = function () {...}`, `export default () => {...}`. */
function wholeModuleFunction(node: Node): Node | undefined {
  const fn = node.getFirstAncestor((n) => Node.isFunctionDeclaration(n) || Node.isFunctionExpression(n) || Node.isArrowFunction(n) || Node.isMethodDeclaration(n) || Node.isConstructorDeclaration(n));
  if (!fn) return undefined;
  if (Node.isFunctionDeclaration(fn)) return !fn.getName() && fn.hasModifier(SyntaxKind.DefaultKeyword) ? fn : undefined; // syntactic: isDefaultExport() asks the checker
  if (!Node.isFunctionExpression(fn) && !Node.isArrowFunction(fn)) return undefined;
  const holder = outermost(fn).getParent();
  if (holder && Node.isExportAssignment(holder) && Node.isSourceFile(holder.getParent())) return fn;
  if (holder && Node.isBinaryExpression(holder) && holder.getRight() === outermost(fn) && holder.getOperatorToken().getKind() === SyntaxKind.EqualsToken && holder.getLeft().getText().replace(/\s/g, '') === 'module.exports' && Node.isExpressionStatement(holder.getParent()) && Node.isSourceFile(holder.getParent()!.getParent())) return fn;
  return undefined;
}

type Calls = { ok: true; calls: Node[] } | { ok: false; reason: string };

/**
 * The calls, in the run's importers, of a module whose whole export is a function: `const f =
 * require('./app'); f()`, `require('./app')()`, `import f from './app'; f()`. Any other use of
 * the module or of a binding of it (`const make = f`, `configs.map(f)`, `import * as m`, a
 * re-export, `import()`) makes the calls unknown. Test files aside.
 */
function wholeModuleCalls(analysis: Analysis, record: SourceRecord): Calls {
  const calls: Node[] = [];
  let unknown: string | undefined;
  for (const absPath of moduleAndImporters(analysis, record.absPath)) {
    if (absPath === record.absPath) continue;
    const importer = analysis.index.load(absPath);
    if (!importer || isTestFile(importer.rel)) continue;
    if (importer.parseProblem) return { ok: false, reason: `${importer.rel}, which imports it, does not parse` };
    const sf = importer.sourceFile;
    const loads = (specifier: string) => analysis.index.resolve(importer.absPath, specifier) === record.absPath;
    const named = (nameNode: Node | undefined) => {
      if (!nameNode || !Node.isIdentifier(nameNode)) {
        unknown ??= `its module is loaded at ${where(nameNode ?? sf)} other than into a name`;
        return;
      }
      for (const ref of sameScopeReferences(nameNode)) {
        const call = calleeCall(ref);
        if (call) calls.push(call);
        else if (!Node.isTypeQuery(ref.getParent())) unknown ??= `\`${ref.getText()}\` is used at ${where(ref)} other than by a call`;
      }
    };
    for (const declaration of sf.getImportDeclarations()) {
      if (!loads(declaration.getModuleSpecifierValue())) continue;
      if (declaration.isTypeOnly()) continue;
      if (declaration.getNamespaceImport() || declaration.getNamedImports().some((s) => !s.isTypeOnly())) unknown ??= `its module is imported at ${where(declaration)} other than by a default import`;
      named(declaration.getDefaultImport());
    }
    for (const declaration of sf.getExportDeclarations()) {
      const specifier = declaration.getModuleSpecifierValue();
      if (specifier !== undefined && loads(specifier) && !declaration.isTypeOnly()) unknown ??= `its module is re-exported at ${where(declaration)}`;
    }
    for (const call of sf.getDescendantsOfKind(SyntaxKind.CallExpression)) {
      const isImport = call.getExpression().getKind() === SyntaxKind.ImportKeyword;
      const literal = isImport ? call.getArguments()[0] : requireSpecifier(call);
      if (!literal || !(Node.isStringLiteral(literal) || Node.isNoSubstitutionTemplateLiteral(literal)) || !loads(literal.getLiteralText())) continue;
      if (isImport) {
        unknown ??= `its module is loaded with import() at ${where(call)}`;
        continue;
      }
      const parent = outermost(call).getParent();
      if (parent && Node.isVariableDeclaration(parent)) named(parent.getNameNode());
      else if (parent && Node.isCallExpression(parent) && parent.getExpression() === outermost(call)) calls.push(parent);
      else unknown ??= `its module is loaded at ${where(call)} and used other than by a call or a name`;
    }
  }
  return unknown !== undefined ? { ok: false, reason: unknown } : { ok: true, calls };
}

/** The class whose instance field initialiser or static member `node` is in (no function between), if any. */
function classInitializer(node: Node): { cls: Node; isStatic: boolean } | undefined {
  for (let current = node.getParent(); current && !Node.isSourceFile(current) && !isFunctionLike(current); current = current.getParent()) {
    if (Node.isPropertyDeclaration(current)) return { cls: current.getParent(), isStatic: current.isStatic() };
    if (Node.isClassStaticBlockDeclaration(current)) return { cls: current.getParent(), isStatic: true };
  }
  return undefined;
}

/** How a reason names the function an app is made in. */
function factoryName(fn: FunctionLike, record: SourceRecord): string {
  if (Node.isMethodDeclaration(fn) || Node.isGetAccessorDeclaration(fn) || Node.isSetAccessorDeclaration(fn)) {
    const owner = fn.getParent();
    const cls = (Node.isClassDeclaration(owner) || Node.isClassExpression(owner)) && owner.getName();
    return cls ? `${cls}.${fn.getName()}()` : `the method ${fn.getName()}() in ${record.rel}`;
  }
  // `{ create: (opts) => {...} }`, `create = (opts) => {...}` in a class.
  const holder = outermost(fn).getParent();
  if (holder && (Node.isPropertyAssignment(holder) || Node.isPropertyDeclaration(holder)) && Node.isIdentifier(holder.getNameNode())) return `${holder.getName()}()`;
  const name = nameOf(fn);
  return name === 'the function' || name === 'the constructor' ? `a function in ${record.rel}` : `${name.replace(/`/g, '')}()`;
}

/**
 * The `new` expressions of a class, also of its subclasses (each runs its constructor), or
 * why they cannot all be known: the class used as a value, made where the codemod does not
 * look (`new this()`, `this.constructor`), or decorated (a container may make it).
 */
function constructions(analysis: Analysis, cls: Node, depth: number): Calls {
  const name = Node.isClassDeclaration(cls) ? cls.getName() : undefined;
  if (!Node.isClassDeclaration(cls) || name === undefined) return { ok: false, reason: 'the class has no name the codemod follows' };
  const decorator = cls.getDecorators()[0];
  if (decorator) return { ok: false, reason: `\`${name}\` has the decorator \`${decorator.getText()}\`, which receives the class and may make instances` };
  const unseen = unseenConstruction(cls);
  if (unseen) return { ok: false, reason: `\`${name}\` makes instances at ${where(unseen)}, which the codemod does not follow` };
  const refs = AsyncPlanner.of(analysis).classReferences(cls);
  if (!refs.ok) return refs;
  const news: Node[] = [];
  for (const ref of refs.refs) {
    const parent = ref.getParent();
    if (!parent || Node.isImportSpecifier(parent) || Node.isImportClause(parent) || Node.isExportSpecifier(parent) || Node.isTypeQuery(parent) || Node.isTypeReference(parent) || Node.isExportAssignment(parent)) continue;
    const created = newOf(ref);
    if (created) {
      news.push(created);
      continue;
    }
    // `x instanceof Server` makes nothing.
    if (Node.isBinaryExpression(parent) && parent.getOperatorToken().getKind() === SyntaxKind.InstanceOfKeyword && parent.getRight() === ref) continue;
    const heritage = Node.isExpressionWithTypeArguments(parent) ? parent.getParentIfKind(SyntaxKind.HeritageClause) : undefined;
    if (heritage?.getToken() === SyntaxKind.ImplementsKeyword) continue;
    // `class AdminServer extends Server`: its `new`s run Server's constructor too.
    const subclass = heritage?.getParent();
    if (heritage && subclass && depth < MAX_DEPTH) {
      const more = constructions(analysis, subclass, depth + 1);
      if (!more.ok) return { ok: false, reason: `\`${name}\` is extended at ${where(ref)}, and ${more.reason}` };
      news.push(...more.calls);
      continue;
    }
    return { ok: false, reason: `\`${name}\` is used at ${where(ref)} other than by \`new ${name}()\`` };
  }
  return { ok: true, calls: news };
}

/** How often the class's constructor (or an instance field initialiser) runs. */
function classRuns(analysis: Analysis, cls: Node, depth: number, path: ReadonlySet<Node>): Runs {
  const factory = `new ${(Node.isClassDeclaration(cls) || Node.isClassExpression(cls)) && cls.getName() ? cls.getName() : 'the class'}()`;
  const news = constructions(analysis, cls, depth);
  return news.ok ? countCalls(analysis, news.calls, depth, factory, path) : unknownRuns(factory, news.reason);
}

/** A callback the event loop runs again and again: an interval's, a server's request listener, a process event's. */
function repeatingCallback(host: CallExpression): boolean {
  const callee = host.getExpression().getText().replace(/^(globalThis|global|window)\./, '');
  return callee === 'setInterval' || /(^|\.)createServer$/.test(callee) || /^process\./.test(callee);
}

function runsOf(analysis: Analysis, record: SourceRecord, node: Node, depth: number, path: ReadonlySet<Node> = new Set()): Runs {
  // `for (const port of ports) { const app = express(); ... }`, `ports.forEach((port) => ...)`.
  if (inLoop(node)) return { runs: 2, factory: 'the loop (or array callback) around it', calls: [`in ${record.rel}`] };
  // `class Server { app = express() }`: once per `new`; a static field or block: where the class is defined.
  const field = classInitializer(node);
  if (field) return field.isStatic ? runsOf(analysis, record, field.cls, depth, path) : classRuns(analysis, field.cls, depth, path);
  const fn = enclosingFunction(node);
  if (!fn) return ONCE;
  const factory = factoryName(fn, record);
  if (path.has(fn)) return unknownRuns(factory, `${nameOf(fn)} is among its own callers`);
  if (depth > MAX_DEPTH) return unknownRuns(factory, `its callers were followed ${MAX_DEPTH} functions up, and the chain goes on`);
  const next = new Set(path).add(fn);
  if (Node.isConstructorDeclaration(fn)) return classRuns(analysis, fn.getParent(), depth, next);
  if (wholeModuleFunction(node) === fn) {
    const calls = wholeModuleCalls(analysis, record);
    const name = 'the function the module exports';
    return calls.ok ? countCalls(analysis, calls.calls, depth, name, next) : unknownRuns(name, calls.reason);
  }
  // A timer's or `listen()`'s callback runs once per call that passes it; an interval's, a request listener or a process event's, again and again.
  const parent = outermost(fn).getParent();
  if (eventLoopCallback(fn) && parent && Node.isCallExpression(parent)) {
    if (repeatingCallback(parent)) return { runs: 2, factory, calls: [`the callback of ${parent.getExpression().getText()}() in ${record.rel}, which runs it again and again`] };
    return runsOf(analysis, record, parent, depth + 1, next);
  }
  // `.then(() => ...)`: once per `.then()` call.
  const chain = promiseChainCall(fn);
  if (chain) return runsOf(analysis, record, chain, depth + 1, next);
  // Every other function: its callers as the async planner finds them (calls, IIFEs, members,
  // instances), or why they are not all known (a callback of an unknown function, a value passed on).
  const callers = AsyncPlanner.of(analysis).findCallers(fn);
  if (!callers.ok) return unknownRuns(factory, callers.reason);
  if (callers.route) return { runs: 2, factory, calls: [`a route handler of ${callers.route.call.getExpression().getText()}() in ${record.rel}, run for each request`] };
  return countCalls(analysis, callers.calls, depth, factory, next);
}

/** How often these calls (of one factory) run in the serving code. */
function countCalls(analysis: Analysis, calls: readonly Node[], depth: number, factory: string, path: ReadonlySet<Node>): Runs {
  // By file, not line: a line would name the migrated text in the marker the engine writes.
  const perFile = new Map<string, { calls: number; looped: boolean; repeated: boolean }>();
  const callFiles = new Map<string, string>();
  let runs = 0;
  let unknown: string | undefined;
  for (const call of calls) {
    const callRecord = analysis.index.load(call.getSourceFile().getFilePath());
    if (!callRecord || isTestFile(callRecord.rel)) continue;
    const looped = inLoop(call);
    // The call's own function may run more than once (a factory's caller called twice), or its callers may not all be known.
    const outer = looped ? undefined : runsOf(analysis, callRecord, call, depth + 1, path);
    const repeated = !!outer && outer.runs >= 2 && outer.unknown === undefined;
    if (outer?.unknown !== undefined) unknown ??= `its call in ${callRecord.rel} is in ${outer.factory}, and ${outer.unknown}`;
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
  if (runs < 2 && unknown !== undefined) return { runs: 2, factory, calls: where, unknown };
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
 * itself runs more than once, or one whose callers are not all known (a method reached
 * through a value, a callback of an unknown function, a factory passed on or aliased).
 * Undefined when it is made once: at module level, or in functions each called once.
 */
export function repeatedCreation(analysis: Analysis, host: HostApp): RepeatedApp | undefined {
  // `http.createServer(handler)` made again wraps the same listener: wrapApp returns the app it made the first time.
  if (host.framework === 'node' && host.listener && Node.isIdentifier(host.listener)) return undefined;
  const found = runsOf(analysis, host.record, host.served ?? host.create, 0);
  if (found.runs < 2 || !found.factory) return undefined;
  return found.unknown !== undefined ? { factory: found.factory, calls: found.calls, unknown: found.unknown } : { factory: found.factory, calls: found.calls };
}
