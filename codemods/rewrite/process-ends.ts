// What ends the process right after a call, before an enqueue it started completes:
// the legacy defer() had stored its task when it returned, the shim's completes on a
// later tick (the embedded queue's group commit) or after a network call (Cloud Tasks),
// and run() now calls the function on a later tick. An end is a call that stops the
// process at once: `process.exit()`, `process.abort()`, `process.reallyExit()`,
// `process.kill(process.pid, ...)`, or a call of a function of the run whose body makes
// one (transitively). It follows a call when it runs after it in the same synchronous
// flow: later in the call's statement, in a statement after it in an enclosing block,
// in a `finally` of a try around it, or (the call's function having returned) after the
// call of that function in one of its known callers, and so on up. `process.exitCode = n`
// ends nothing (the event loop still drains), and neither does a throw: Node emits
// 'exit' for an uncaught exception, where the shim stores what the embedded queue
// holds and logs what another backend loses (shim/runtime/exit-guard.ts).
import { Node, SyntaxKind, ts, type CallExpression, type VariableDeclaration } from 'ts-morph';
import { compilerNodesOfKind, wrapCompilerNode } from '../analysis/compiler-nodes.js';
import type { Analysis } from '../analysis/index.js';
import type { SourceRecord } from '../analysis/project.js';
import { unwrap } from '../analysis/legacy-symbols.js';
import { identifierPattern } from '../analysis/prefilter.js';
import { declaringScope } from '../analysis/scope.js';
import { AsyncPlanner, calleeFunctions, enclosingFunction, eventLoopCallback } from './async-plan.js';
import { isFunctionLike, type FunctionLike } from './function-like.js';

/** Text that may hold an end: the prefilter of the whole search (also `process` imported or destructured). */
const END_TEXT = /\bprocess\s*\.\s*(exit|abort|reallyExit|kill)\b|['"](node:)?process['"]|=\s*(globalThis\.)?process\b/;

const PROCESS_MODULES = new Set(['process', 'node:process']);

/** `process`, `globalThis.process`, `require('process')`, `require('node:process')`. */
function isProcessObject(node: Node): boolean {
  const value = unwrap(node);
  const text = value.getText().replace(/\s+/g, '');
  if (text === 'process' || text === 'globalThis.process' || text === 'global.process') return true;
  if (!Node.isCallExpression(value) || value.getExpression().getText() !== 'require') return false;
  const [specifier] = value.getArguments();
  return !!specifier && Node.isStringLiteral(specifier) && PROCESS_MODULES.has(specifier.getLiteralValue());
}

const bindsProcessCache = new WeakMap<object, boolean>();

/** The file imports `process`, requires it, or assigns it (or one of its members) to a name: most files do not. */
function bindsProcess(sf: import('ts-morph').SourceFile): boolean {
  let found = bindsProcessCache.get(sf.compilerNode);
  if (found === undefined) {
    found = /['"](node:)?process['"]|=\s*(globalThis\.|global\.)?process\b/.test(sf.getFullText());
    bindsProcessCache.set(sf.compilerNode, found);
  }
  return found;
}

/**
 * What a name stands for when it is bound to `process` or one of its functions:
 * `'process'` (`import proc from 'node:process'`, `const proc = require('process')`),
 * or the function's name (`import { exit } from 'node:process'`, `const { exit } =
 * process`, `const quit = process.exit.bind(process)`). Only module-level and
 * same-file bindings are read; anything else is not an end the analysis knows.
 */
function processBinding(identifier: Node): string | undefined {
  const sf = identifier.getSourceFile();
  if (!bindsProcess(sf)) return undefined;
  const name = identifier.getText();
  const scope = declaringScope(identifier, name);
  for (const declaration of sf.getImportDeclarations()) {
    if (!PROCESS_MODULES.has(declaration.getModuleSpecifierValue())) continue;
    if (declaration.getDefaultImport()?.getText() === name || declaration.getNamespaceImport()?.getText() === name) return scope ? undefined : 'process';
    const specifier = declaration.getNamedImports().find((named) => (named.getAliasNode() ?? named.getNameNode()).getText() === name);
    if (specifier) return scope ? undefined : specifier.getNameNode().getText();
  }
  // Only the declarations that bind the name are wrapped.
  const binds = (declaration: ts.VariableDeclaration): boolean =>
    ts.isIdentifier(declaration.name) ? declaration.name.text === name : ts.isObjectBindingPattern(declaration.name) && declaration.name.elements.some((e) => ts.isIdentifier(e.name) && e.name.text === name);
  for (const found of compilerNodesOfKind<ts.VariableDeclaration>(sf, SyntaxKind.VariableDeclaration)) {
    if (!binds(found)) continue;
    const declaration = wrapCompilerNode<VariableDeclaration>(sf, found);
    const initializer = declaration.getInitializer();
    if (!initializer || declaringScope(declaration.getNameNode(), name) !== scope) continue;
    const bound = declaration.getNameNode();
    if (Node.isObjectBindingPattern(bound)) {
      if (!isProcessObject(initializer)) continue;
      const element = bound.getElements().find((e) => e.getNameNode().getText() === name);
      if (element) return (element.getPropertyNameNode() ?? element.getNameNode()).getText();
    } else if (bound.getText() === name) {
      if (isProcessObject(initializer)) return 'process';
      // `process.exit`, `process.exit.bind(process)`
      let value: Node = initializer;
      if (Node.isCallExpression(value) && Node.isPropertyAccessExpression(value.getExpression()) && (value.getExpression() as import('ts-morph').PropertyAccessExpression).getName() === 'bind') {
        value = (value.getExpression() as import('ts-morph').PropertyAccessExpression).getExpression();
      }
      if (Node.isPropertyAccessExpression(value) && isProcessObject(value.getExpression())) return value.getName();
      return undefined;
    }
  }
  return undefined;
}

export interface ProcessEnd {
  /** The end's call (`process.exit(1)`), or the call of a function that makes one. */
  node: CallExpression;
  /** `process.exit()`, or `finish()` (which calls process.exit()). */
  what: string;
}

/** A call `at` on the way from the call asked about up through its callers, and the end that follows it. */
export interface EndAfter {
  at: CallExpression;
  end: ProcessEnd;
}

/** The end a call makes itself: `process.exit()`..., or undefined. */
function directEnd(call: CallExpression): string | undefined {
  let callee: Node = call.getExpression();
  while (Node.isParenthesizedExpression(callee)) callee = callee.getExpression();
  let name: string | undefined;
  if (Node.isIdentifier(callee)) name = processBinding(callee);
  else if (Node.isPropertyAccessExpression(callee)) {
    const object = callee.getExpression();
    if (isProcessObject(object) || (Node.isIdentifier(object) && processBinding(object) === 'process')) name = callee.getName();
  }
  if (name === 'exit' || name === 'abort' || name === 'reallyExit') return `process.${name}()`;
  if (name === 'kill' && call.getArguments()[0]?.getText().replace(/\s+/g, '') === 'process.pid') return 'process.kill(process.pid)';
  return undefined;
}

/** The name a function is called by (`finish`, `this.shutdown`'s `shutdown`), if it has one. */
function functionName(fn: FunctionLike): string | undefined {
  if (Node.isFunctionDeclaration(fn) || Node.isMethodDeclaration(fn)) return fn.getName();
  const parent = fn.getParent();
  if (parent && (Node.isVariableDeclaration(parent) || Node.isPropertyAssignment(parent) || Node.isPropertyDeclaration(parent))) return parent.getName();
  return undefined;
}

/** The name of what a call calls (`finish`, `shutdown` of `this.shutdown()`), if it is a name. */
function calledName(call: CallExpression): string | undefined {
  let callee: Node = call.getExpression();
  while (Node.isParenthesizedExpression(callee)) callee = callee.getExpression();
  if (Node.isIdentifier(callee)) return callee.getText();
  if (Node.isPropertyAccessExpression(callee)) return callee.getName();
  return undefined;
}

export class ProcessEnds {
  private static readonly cache = new WeakMap<Analysis, ProcessEnds>();
  /** Functions whose own body (nested functions aside) makes an end, by the name they are called by. */
  private endingByName: Map<string, Set<FunctionLike>> | undefined;
  /** The end each ending function makes in the end (`process.exit()`). */
  private readonly endOf = new Map<FunctionLike, string>();
  private anyEnd: boolean | undefined;

  private constructor(private readonly analysis: Analysis) {}

  static of(analysis: Analysis): ProcessEnds {
    let ends = ProcessEnds.cache.get(analysis);
    if (!ends) ProcessEnds.cache.set(analysis, (ends = new ProcessEnds(analysis)));
    return ends;
  }

  /**
   * Every call from `call` up through its callers (as far as they are known) that an end
   * follows, with that end. Empty when no analysed file mentions one (the common case,
   * a regular expression per file).
   */
  endsAfter(call: CallExpression): EndAfter[] {
    this.anyEnd ??= this.analysis.index.loaded().some((record) => END_TEXT.test(record.text));
    if (!this.anyEnd) return [];
    const planner = AsyncPlanner.of(this.analysis);
    const found: EndAfter[] = [];
    const seen = new Set<FunctionLike>();
    const work: CallExpression[] = [call];
    while (work.length > 0) {
      const point = work.pop()!;
      const end = this.followingEnd(point);
      if (end) found.push({ at: point, end });
      const fn = enclosingFunction(point);
      if (!fn || seen.has(fn)) continue;
      seen.add(fn);
      // The event loop called it: nothing of a caller runs after it returns.
      if (eventLoopCallback(fn)) continue;
      const callers = planner.findCallers(fn);
      // Unknown callers are sync-error-handling's to report (unseenThrowPath).
      if (callers.ok) work.push(...callers.calls);
    }
    return found;
  }

  /** The first end that runs after `point` in its own function (see the top of the file). */
  private followingEnd(point: CallExpression): ProcessEnd | undefined {
    const record = this.record(point);
    if (!record || !this.mayEnd(record)) return undefined;
    // Later in the call's own statement: `defer(a), process.exit()`, `if (defer(a)) process.exit()`,
    // or a call it is an argument of: `process.exit(main())`, `finish(enqueue(1))`.
    const statement = point.getFirstAncestor((node) => Node.isStatement(node) || isFunctionLike(node));
    for (let node = point.getParent(); node && node !== statement && !isFunctionLike(node); node = node.getParent()) {
      if (!Node.isCallExpression(node) || !node.getArguments().some((argument) => argument.getPos() <= point.getPos() && point.getEnd() <= argument.getEnd())) continue;
      const direct = directEnd(node);
      if (direct) return { node, what: direct };
      const through = this.endingCallee(node);
      if (through) return { node, what: `\`${node.getExpression().getText()}()\` (which calls ${through})` };
    }
    // An arrow's expression body (`() => defer(a)`): nothing of its own follows the call.
    if (!statement || isFunctionLike(statement)) return undefined;
    const inStatement = this.endIn(statement, point.getEnd());
    if (inStatement) return inStatement;
    let child: Node | undefined = statement;
    for (let parent = child?.getParent(); child && parent && !isFunctionLike(parent); child = parent, parent = parent.getParent()) {
      if (Node.isBlock(parent) || Node.isSourceFile(parent) || Node.isCaseClause(parent) || Node.isDefaultClause(parent)) {
        for (const next of child.getNextSiblings()) {
          const end = this.endIn(next, next.getPos());
          if (end) return end;
        }
      }
      if (Node.isTryStatement(parent) && parent.getFinallyBlock() && child !== parent.getFinallyBlock()) {
        const end = this.endIn(parent.getFinallyBlock()!, 0);
        if (end) return end;
      }
    }
    return undefined;
  }

  /** An end in `region` that starts at or after `from`, outside nested functions (they run later, if at all). */
  private endIn(region: Node, from: number): ProcessEnd | undefined {
    let found: ProcessEnd | undefined;
    const visit = (node: Node): void => {
      if (found) return;
      if (isFunctionLike(node) || Node.isClassDeclaration(node) || Node.isClassExpression(node)) return;
      if (Node.isCallExpression(node) && node.getStart() >= from) {
        const direct = directEnd(node);
        if (direct) {
          found = { node, what: direct };
          return;
        }
        const through = this.endingCallee(node);
        if (through) {
          found = { node, what: `\`${node.getExpression().getText()}()\` (which calls ${through})` };
          return;
        }
      }
      node.forEachChild(visit);
    };
    visit(region);
    return found;
  }

  /** The end a function that `call` calls makes (`process.exit()`), if it is one of the ending functions. */
  private endingCallee(call: CallExpression): string | undefined {
    const name = calledName(call);
    const candidates = name === undefined ? undefined : this.ending().get(name);
    if (!candidates) return undefined;
    for (const fn of calleeFunctions(call)) {
      if (candidates.has(fn)) return this.endOf.get(fn);
    }
    return undefined;
  }

  private record(node: Node): SourceRecord | undefined {
    return this.analysis.index.load(node.getSourceFile().getFilePath());
  }

  /** The file may hold an end: an end call's text, or the name of an ending function. */
  private mayEnd(record: SourceRecord): boolean {
    if (END_TEXT.test(record.text)) return true;
    for (const name of this.ending().keys()) if (identifierPattern(name).test(record.text)) return true;
    return false;
  }

  /**
   * The ending functions of the analysed files: those whose own body makes an end, then
   * those whose own body calls one of them (by name, resolved), until none is added.
   */
  private ending(): Map<string, Set<FunctionLike>> {
    if (this.endingByName) return this.endingByName;
    const byName = (this.endingByName = new Map<string, Set<FunctionLike>>());
    const add = (fn: FunctionLike | undefined, what: string): boolean => {
      const name = fn && functionName(fn);
      if (!fn || !name || this.endOf.has(fn)) return false;
      this.endOf.set(fn, what);
      let named = byName.get(name);
      if (!named) byName.set(name, (named = new Set()));
      named.add(fn);
      return true;
    };
    const records = this.analysis.index.loaded().filter((record) => !record.parseProblem);
    for (const record of records) {
      if (!END_TEXT.test(record.text)) continue;
      for (const call of record.sourceFile.getDescendantsOfKind(SyntaxKind.CallExpression)) {
        const direct = directEnd(call);
        if (direct) add(enclosingFunction(call), direct);
      }
    }
    // Callers of ending functions, a round at a time (bounded: a chain of helpers is short).
    for (let round = 0, added = byName.size > 0; added && round < 8; round += 1) {
      added = false;
      const names = [...byName.keys()];
      for (const record of records) {
        if (!names.some((name) => identifierPattern(name).test(record.text))) continue;
        for (const call of record.sourceFile.getDescendantsOfKind(SyntaxKind.CallExpression)) {
          const name = calledName(call);
          const candidates = name === undefined ? undefined : byName.get(name);
          const callee = candidates && calleeFunctions(call).find((fn) => candidates.has(fn));
          if (callee && add(enclosingFunction(call), this.endOf.get(callee)!)) added = true;
        }
      }
    }
    return byName;
  }
}
