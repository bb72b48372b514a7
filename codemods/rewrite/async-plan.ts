// The one place that decides whether a call that now returns a Promise (the
// shim's defer(), or a function this plan made async) can be awaited where it
// stands, and what that takes: the enclosing function made async (TypeScript
// return type `T` → `Promise<T>`), then every call of that function awaited in
// turn (so that what follows each call still runs after it), transitively, as
// long as every caller is known (a route handler of a known host app counts: its caller is
// the framework, which ignores its value; see route-callback.ts). Both
// `defer-result` and `sync-error-handling` ask it, so a function is made async
// by one rule of logic and the edits of the two rules are identical where they
// meet (identical edits are emitted once).
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Node, SyntaxKind, ts, type CallExpression, type Identifier, type MethodDeclaration, type NewExpression, type PropertyAccessExpression, type Symbol as TsMorphSymbol } from 'ts-morph';
import { dependencyNames, readJsonObject } from '../analysis/alias-config.js';

const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'];
import { compilerIdentifiersNamed, compilerNodesOfKind, wrapCompilerNode } from '../analysis/compiler-nodes.js';
import type { Analysis } from '../analysis/index.js';
import type { SourceRecord } from '../analysis/project.js';
import { resolveIdentifier, resolveModuleMember } from '../analysis/declarations.js';
import { identifierPattern } from '../analysis/prefilter.js';
import { isReference, isShadowed, sameScopeReferences } from '../analysis/scope.js';
import { outermost } from '../analysis/legacy-symbols.js';
import { where } from '../analysis/positions.js';
import { withoutScriptExtension } from '../analysis/specifiers.js';
import { isWithin } from '../analysis/discover.js';
import type { RuleOutput } from './context.js';
import { computedLoadEscape, filesWithUnfollowedImports, unseenLoad } from '../analysis/unfollowed-imports.js';
import { findDeferCalls, findPayloadCalls } from '../analysis/defer-calls.js';
import { exportedReferences, isCommonJsExportByName, moduleAndImporters, moduleObjectUseOf, type ExportedNode, type References } from './exported-references.js';
import { defaultExportMember, exportsLiteralMember, exportsThis, heldMember, thisReaching } from '../analysis/object-members.js';
import { instanceMember, type InstanceMember } from '../analysis/instance-members.js';
import { FUNCTION_LIKE_KINDS, isFunctionLike, nameOf, type FunctionLike } from './function-like.js';
import { instanceCallers, memberCallers, type BindingLookup } from './member-callers.js';
import { asyncRefused, decoratedRouteMethods, ignoresRejection, mayHoldRoutes, routeCallbackOf, routeHandlersIn, type RouteCallback } from './route-callback.js';

/** Array methods that call their callback synchronously and ignore a returned promise. */
const SYNC_CALLBACK_METHODS = new Set(['forEach', 'map', 'filter', 'some', 'every', 'find', 'findIndex', 'findLast', 'findLastIndex', 'flatMap', 'reduce', 'reduceRight', 'sort']);

/** The function whose body holds `node`; undefined at module level (class field initialisers count as module level: they cannot await either). */
export function enclosingFunction(node: Node): FunctionLike | undefined {
  return node.getFirstAncestor(isFunctionLike);
}

/**
 * The call's value as it stands in the code: the call with the parentheses and non-null
 * assertions around it (`f()!` is the call's value itself: `await f()!` awaits it).
 */
export function callValue(call: Node): Node {
  let outer = outermost(call);
  while (Node.isNonNullExpression(outer.getParent())) outer = outermost(outer.getParent()!);
  return outer;
}

export function isAwaited(call: Node): boolean {
  return Node.isAwaitExpression(callValue(call).getParent());
}

/**
 * The call's promise is what its async function returns, outside any try of that
 * function: its rejection rejects the function's promise as the throw did, unawaited.
 */
export function returnedFromAsync(call: Node): boolean {
  const outer = outermost(call);
  const parent = outer.getParent();
  const fn = enclosingFunction(call);
  const returned = (!!parent && Node.isReturnStatement(parent)) || (!!parent && Node.isArrowFunction(parent) && parent.getBody() === outer);
  return returned && !!fn && isAsync(fn) && !isGuarded(call);
}

/**
 * The call's throw is meant to be handled in its own function: it sits in a
 * `try` block (catch or finally), or in the `catch` block of a try that has a
 * `finally`, without a function boundary in between.
 */
export function isGuarded(node: Node): boolean {
  let child: Node = node;
  for (let parent = node.getParent(); parent && !isFunctionLike(parent) && !Node.isSourceFile(parent); parent = parent.getParent()) {
    if (Node.isTryStatement(parent)) {
      if (parent.getTryBlock() === child) return true;
      if (parent.getCatchClause() === child && parent.getFinallyBlock()) return true;
    }
    child = parent;
  }
  return false;
}


/** The call or `new` that `fn` is passed to directly as an argument, if any. */
function callbackHost(fn: FunctionLike): CallExpression | NewExpression | undefined {
  const outer = outermost(fn);
  const parent = outer.getParent();
  if (!parent || !(Node.isCallExpression(parent) || Node.isNewExpression(parent))) return undefined;
  return (parent.getArguments() as Node[]).includes(outer) ? parent : undefined;
}

/**
 * The call that runs `fn` synchronously and ignores a promise it returns, if any: a sync
 * array method (`ids.forEach(fn)`), also through `Array.prototype.forEach.call(ids, fn)`,
 * and `Array.from(items, fn)`.
 */
export function syncCallbackHost(fn: FunctionLike): CallExpression | undefined {
  const parent = callbackHost(fn);
  return parent && Node.isCallExpression(parent) && runsCallbackSynchronously(parent) ? parent : undefined;
}

/** Whether `call` runs its function arguments synchronously, ignoring what they return (see syncCallbackHost). */
function runsCallbackSynchronously(call: CallExpression): boolean {
  const callee = unparenthesized(call.getExpression());
  if (!callee || !Node.isPropertyAccessExpression(callee)) return false;
  if (SYNC_CALLBACK_METHODS.has(callee.getName())) return true;
  if (callee.getName() === 'from' && callee.getExpression().getText() === 'Array') return true;
  const method = callee.getExpression();
  return (callee.getName() === 'call' || callee.getName() === 'apply') && Node.isPropertyAccessExpression(method) && SYNC_CALLBACK_METHODS.has(method.getName());
}

/** Methods that register a callback for later (an event listener): a throw from it never reached a try around the registration. */
const LISTENER_REGISTRATIONS: ReadonlySet<string> = new Set(['on', 'once', 'addListener', 'prependListener', 'prependOnceListener', 'addEventListener']);

/**
 * The call `fn` is passed to when the codemod cannot tell whether that call runs it
 * synchronously (`withRetry(() => defer(...))`, `new Promise((resolve) => ...)`): not a
 * sync array method, a Promise chain, a timer or server callback (eventLoopCallback) or an
 * event registration.
 */
export function unknownCallbackHost(fn: FunctionLike): CallExpression | NewExpression | undefined {
  const host = callbackHost(fn);
  if (!host || syncCallbackHost(fn) || promiseChainCall(fn) || eventLoopCallback(fn)) return undefined;
  const callee = unparenthesized(host.getExpression());
  return callee && Node.isPropertyAccessExpression(callee) && LISTENER_REGISTRATIONS.has(callee.getName()) ? undefined : host;
}

const CHAIN_METHODS = new Set(['then', 'catch', 'finally']);

/** Calls whose callback runs from the event loop: a throw there was an uncaught exception. */
const TIMERS = new Set(['setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'process.nextTick']);

const PROCESS_LISTENER = /^process\.(on|once|addListener|prependListener|prependOnceListener)$/;

/**
 * A process event that Node emits from the event loop, whose listener's throw was an
 * uncaught exception: a signal (`'SIGTERM'`...) or `'beforeExit'`. Not `'exit'` (no
 * tick runs after it) nor `'uncaughtException'`/`'unhandledRejection'` (a rejection in
 * their listener comes back to them).
 */
function isLoopEvent(event: Node | undefined): boolean {
  return !!event && Node.isStringLiteral(event) && (/^SIG[A-Z0-9]+$/.test(event.getLiteralText()) || event.getLiteralText() === 'beforeExit');
}

/**
 * `fn` is written as the callback of a timer (`setTimeout(() => ..., ms)`), the
 * listener of `http.createServer(...)`, the callback of a server's `listen(port, cb)`
 * (run from the event loop once it listens), or a listener of a process signal
 * (`process.on('SIGTERM', fn)`): a throw there was an uncaught exception.
 */
export function eventLoopCallback(fn: FunctionLike): boolean {
  const parent = outermost(fn).getParent();
  if (!parent || !Node.isCallExpression(parent)) return false;
  const args = parent.getArguments();
  const callee = parent.getExpression().getText().replace(/^(globalThis|global|window)\./, '');
  if (TIMERS.has(callee)) return args[0] === outermost(fn);
  if (PROCESS_LISTENER.test(callee)) return args[1] === outermost(fn) && isLoopEvent(args[0]);
  if (/^(\w+\.)?createServer$/.test(callee)) return args.includes(outermost(fn));
  return /\.listen$/.test(callee) && args.length > 1 && args[args.length - 1] === outermost(fn);
}

/**
 * The `.then()`/`.catch()`/`.finally()` call that `fn` is a callback of, if
 * any (its receiver is not known to be a Promise: the analysis has no lib types).
 */
export function promiseChainCall(fn: FunctionLike): CallExpression | undefined {
  const parent = outermost(fn).getParent();
  if (!parent || !Node.isCallExpression(parent) || !parent.getArguments().includes(outermost(fn))) return undefined;
  const callee = parent.getExpression();
  return Node.isPropertyAccessExpression(callee) && CHAIN_METHODS.has(callee.getName()) ? parent : undefined;
}

/**
 * The chain of `call` starts from a Promise the code itself makes: `new
 * Promise(...)`, `Promise.resolve(...)` and the other statics, or a call of an
 * async function. Then a throw in its callback rejects the chain, and so does
 * the rejection of a promise the callback returns: the callback may become
 * async without a change to what the chain sees, and the chain is its only caller.
 */
function startsFromPromise(call: CallExpression): boolean {
  let receiver: Node = call;
  for (;;) {
    while (Node.isParenthesizedExpression(receiver)) receiver = receiver.getExpression();
    if (!Node.isCallExpression(receiver)) break;
    const callee = receiver.getExpression();
    if (!Node.isPropertyAccessExpression(callee) || !CHAIN_METHODS.has(callee.getName())) break;
    receiver = callee.getExpression();
  }
  while (Node.isParenthesizedExpression(receiver)) receiver = receiver.getExpression();
  if (Node.isNewExpression(receiver)) return receiver.getExpression().getText() === 'Promise';
  if (!Node.isCallExpression(receiver)) return false;
  const callee = receiver.getExpression();
  if (Node.isPropertyAccessExpression(callee) && callee.getExpression().getText() === 'Promise') return true;
  // `import('./m')`, and the global fetch() (not a local of that name): both return a Promise.
  if (callee.getKind() === SyntaxKind.ImportKeyword) return true;
  if (Node.isIdentifier(callee) && callee.getText() === 'fetch' && !isShadowed(callee)) return true;
  const functions = calleeFunctions(receiver);
  return functions.length > 0 && functions.every((fn) => isAsync(fn) || declaresPromise(fn));
}

/** A function whose declared return type is `Promise<...>` (TypeScript): what it returns is a Promise. */
function declaresPromise(fn: FunctionLike): boolean {
  const type = fn.getReturnTypeNode();
  return !!type && Node.isTypeReference(type) && type.getTypeName().getText() === 'Promise';
}

/** `await Promise.all(host)`: the promises `host` (`ids.map(...)`) collects are awaited together. */
function awaitedPromiseAll(host: CallExpression): boolean {
  const callee = unparenthesized(host.getExpression());
  if (!callee || !Node.isPropertyAccessExpression(callee) || !['map', 'flatMap', 'from'].includes(callee.getName())) return false;
  const outer = outermost(host);
  const all = outer.getParent();
  return !!all && Node.isCallExpression(all) && all.getExpression().getText().replace(/\s+/g, '') === 'Promise.all' && all.getArguments()[0] === outer && isAwaited(all);
}

/** The chain `call` belongs to ends in an `await` (so a try around it sees its rejection). */
function isAwaitedChain(call: CallExpression): boolean {
  let top: Node = call;
  for (;;) {
    const access = outermost(top).getParent();
    const next = access?.getParent();
    if (!access || !Node.isPropertyAccessExpression(access) || !next || !Node.isCallExpression(next) || next.getExpression() !== access) break;
    top = next;
  }
  return isAwaited(top);
}

/** The callbacks of the Promise chain before a `.catch(handler)` (or `.then(ok, handler)`) call, whose throw that handler sees. */
function callbacksBeforeCatch(catchCall: CallExpression): FunctionLike[] {
  const found: FunctionLike[] = [];
  const callee = catchCall.getExpression();
  let receiver: Node | undefined = Node.isPropertyAccessExpression(callee) ? callee.getExpression() : undefined;
  while (receiver) {
    while (Node.isParenthesizedExpression(receiver)) receiver = receiver.getExpression();
    if (!Node.isCallExpression(receiver)) break;
    const inner = receiver.getExpression();
    if (!Node.isPropertyAccessExpression(inner) || !CHAIN_METHODS.has(inner.getName())) break;
    for (const argument of receiver.getArguments()) {
      let fn: Node = argument;
      while (Node.isParenthesizedExpression(fn)) fn = fn.getExpression();
      if (isFunctionLike(fn) && promiseChainCall(fn)) found.push(fn);
      // `.then(handler)` by name: the named function runs in the chain too.
      else if (Node.isIdentifier(fn)) found.push(...functionsOf(fn.getSymbol()));
    }
    receiver = inner.getExpression();
  }
  return found;
}

export interface PlannedAsyncEdit {
  record: SourceRecord;
  start: number;
  end: number;
  text: string;
  description: string;
}

/**
 * Where a plan may end besides an async function, a route handler or an ES module's top
 * level (`process-exit.ts` asks for them). `eventLoop`: a timer's, `createServer`'s,
 * `listen`'s or process signal's callback (eventLoopCallback) may become async (the event
 * loop ignores its value, and its rejection is an uncaught exception as its throw was). `commonJsTail`: a call that is the last
 * statement of a CommonJS module's top level may stay unawaited (nothing follows it there;
 * its rejection is an uncaught exception as its throw was).
 */
export interface PlanEnds {
  eventLoop?: boolean;
  commonJsTail?: boolean;
}

export type AwaitPlan = { ok: true; edits: PlannedAsyncEdit[]; madeAsync?: FunctionLike[] } | { ok: false; reason: string };

/** Where a function's throw went (`AsyncPlanner.throwPath`). */
interface ThrowPath {
  handled: boolean;
  unseen?: string;
}

/** `route`: the function is (also) a route handler of a host framework, which ignores its return value. */
export type Callers = { ok: true; calls: CallExpression[]; route?: RouteCallback } | { ok: false; reason: string };

export class AsyncPlanner {
  private static readonly planners = new WeakMap<Analysis, AsyncPlanner>();
  private observed: Set<FunctionLike> | undefined;
  private listeners: Set<FunctionLike> | undefined;
  private readonly paths = new Map<FunctionLike, ThrowPath>();
  /**
   * Functions an emitted plan makes async (an earlier rule awaited a call in them):
   * a throw reaching one is carried by its promise from then on, as it will be in
   * the migrated text, which the idempotency pass analyses.
   */
  private readonly madeAsync = new Set<FunctionLike>();
  private readonly callers = new Map<FunctionLike, Callers>();
  /** Object literals whose member reads callsAmong is following (a literal holding itself ends there). */
  private readonly following = new Set<Node>();
  private bindingLookup: BindingLookup | undefined;
  private readonly packages = new Map<string, PackageFacts>();
  private sourcesWithoutExtension?: Set<string>;
  /** Each directory's package.json, read once (null: none, or not a JSON object). */
  private readonly manifests = new Map<string, Record<string, unknown> | null>();

  private constructor(private readonly analysis: Analysis) {}

  /** Records what an emitted plan made async; paths computed before may now end earlier. */
  markAsync(functions: readonly FunctionLike[]): void {
    const added = functions.filter((fn) => !this.madeAsync.has(fn));
    if (added.length === 0) return;
    for (const fn of added) this.madeAsync.add(fn);
    this.paths.clear();
  }

  static of(analysis: Analysis): AsyncPlanner {
    let planner = AsyncPlanner.planners.get(analysis);
    if (!planner) {
      planner = new AsyncPlanner(analysis);
      AsyncPlanner.planners.set(analysis, planner);
    }
    return planner;
  }

  /** What member-callers.ts asks of the planner: references of bindings, calls among references. */
  private get lookup(): BindingLookup {
    return (this.bindingLookup ??= {
      analysis: this.analysis,
      record: (node) => this.record(node),
      bindingReferences: (subject, record, name, declaration) => this.bindingReferences(subject, record, name, declaration, exportedOtherwise(declaration, name)),
      callsAmong: (fn, record, refs) => this.callsAmong(fn, record, refs),
      exportsLeaveRun: (record) => this.exportsLeaveRun(record),
      unfollowedMention: (name, searched) => this.unfollowedMention(name, searched),
      unloadedMention: (name) => this.unloadedMention(name),
    });
  }

  private record(node: Node): SourceRecord | undefined {
    return this.analysis.index.load(node.getSourceFile().getFilePath());
  }

  /**
   * A synchronous throw from a call at `node` reaches code meant to handle it:
   * a try in its own function, or (through callers that do not catch it) a try
   * of a known caller, including through a sync array callback.
   */
  throwReachesHandler(node: Node): boolean {
    if (isGuarded(node)) return true;
    const fn = enclosingFunction(node);
    return !!fn && this.throwPath(fn).handled;
  }

  /**
   * Why the code a throw at `node` went to is not all known, when it reached no
   * handler (`throwReachesHandler` is false): the first caller on the way the
   * analysis cannot see. Undefined when every path is known.
   */
  unseenThrowPath(node: Node): string | undefined {
    const fn = enclosingFunction(node);
    return fn ? this.throwPath(fn).unseen : undefined;
  }

  /**
   * Where a throw out of `start` went, through its callers and theirs in turn. It was
   * handled when it reached a `try` (computed forward: `observedFunctions`), a route
   * framework, or an async function, whose promise carried it to whoever awaited it (a
   * job queue's worker, a retry library, a caller's `try`). A path ends unhandled at the
   * module's top level, a timer, a `createServer` listener (also one a factory returns),
   * a Promise chain the code starts, or a handler class's `post` (the shim awaits it):
   * there the throw was an uncaught exception or an unhandled rejection, which the
   * shim's logged rejection replaces. A caller the analysis cannot see (a callback of an
   * unknown function such as `emitter.on`, whose `emit()` threw to its own caller; a
   * method that is not private; an export called from outside the run) may have
   * handled it: `unseen` says why.
   */
  private throwPath(start: FunctionLike): ThrowPath {
    const cached = this.paths.get(start);
    if (cached) return cached;
    const path: ThrowPath = { handled: false };
    const seen = new Set<FunctionLike>();
    const work: FunctionLike[] = [start];
    walk: while (work.length > 0) {
      const fn = work.pop()!;
      if (seen.has(fn)) continue;
      seen.add(fn);
      if (isAsync(fn) || this.madeAsync.has(fn) || this.observedFunctions().has(fn)) {
        path.handled = true;
        break;
      }
      // A generator's body runs as it is iterated: its throw went to that code, not to the call.
      if (!Node.isArrowFunction(fn) && !Node.isConstructorDeclaration(fn) && !Node.isGetAccessorDeclaration(fn) && !Node.isSetAccessorDeclaration(fn) && fn.isGenerator()) {
        path.unseen ??= `it is in the generator ${nameOf(fn)}, whose throw went to the code iterating it, which the codemod does not follow`;
        continue;
      }
      const host = syncCallbackHost(fn);
      let calls: Node[];
      if (host) calls = [host];
      else if (eventLoopCallback(fn) || this.isShimCalledMethod(fn) || this.nodeListeners().has(fn)) continue;
      else {
        const callers = this.findCallers(fn);
        if (!callers.ok) {
          path.unseen ??= callers.reason;
          continue;
        }
        // A route framework calls it (also one its route regions do not list: a handler
        // registered in a loop over a routes object): the framework answered its throw.
        if (callers.route) {
          path.handled = true;
          break;
        }
        calls = callers.calls;
      }
      for (const call of calls) {
        if (isGuarded(call)) {
          path.handled = true;
          break walk;
        }
        // An instance field's initialiser runs in `new`: its throw went to the code constructing the class.
        const field = instanceFieldOf(call);
        if (field) {
          path.unseen ??= `it is called in the initialiser of the field \`${field.getName()}\`, which runs in each \`new\` of its class: the code constructing it received the throw, and the codemod does not follow it`;
          continue;
        }
        const outer = enclosingFunction(call);
        if (outer) work.push(outer);
      }
    }
    this.paths.set(start, path);
    return path;
  }

  /**
   * The request listeners of the `http.createServer(listener)` hosts: written there, named
   * there, or returned by the factory called there (`createServer(createApp())`). A throw
   * in one was an uncaught exception.
   */
  private nodeListeners(): Set<FunctionLike> {
    if (this.listeners) return this.listeners;
    const found = new Set<FunctionLike>();
    for (const host of this.analysis.hosts) {
      let listener = host.framework === 'node' ? unparenthesized(host.listener) : undefined;
      // The migrated text's `createServer(wrapApp(createApp(), ...))`.
      if (listener && Node.isCallExpression(listener) && /^(\w+\.)?wrapApp$/.test(listener.getExpression().getText())) listener = unparenthesized(listener.getArguments()[0]);
      if (!listener) continue;
      if (isFunctionLike(listener)) found.add(listener);
      else if (Node.isCallExpression(listener)) {
        for (const factory of declaredFunction(this.analysis, host.record, listener.getExpression())) returnedFunctions(factory).forEach((fn) => found.add(fn));
      } else declaredFunction(this.analysis, host.record, listener).forEach((fn) => found.add(fn));
    }
    this.listeners = found;
    return found;
  }

  /** `post`/`runFromRequest` of a handler class: the shim's Handler calls and awaits them. */
  private isShimCalledMethod(fn: FunctionLike): boolean {
    if (!Node.isMethodDeclaration(fn) || !['post', 'runFromRequest'].includes(fn.getName())) return false;
    const owner = fn.getParent();
    return (Node.isClassDeclaration(owner) || Node.isClassExpression(owner)) && this.analysis.handlers.of(owner) !== undefined;
  }

  /**
   * The functions whose synchronous throw some `try` handles, computed forward
   * from every try block of the loaded files: the functions called there, the
   * functions those call outside a try of their own, and so on (sync array
   * callbacks included). Asking the language service for every caller of every
   * function that holds a defer() instead cost seconds on a large tree; this
   * resolves only the callees of calls inside try blocks and inside what they
   * reach.
   */
  private observedFunctions(): Set<FunctionLike> {
    if (this.observed) return this.observed;
    const observed = new Set<FunctionLike>();
    const regions: Node[] = [];
    const routeRegions: Node[] = [];
    const chainCallbacks: FunctionLike[] = [];
    for (const record of this.analysis.index.loaded()) {
      if (record.parseProblem) continue;
      // `p.then(fn).catch(handler)` (or `.then(ok, handler)`): the handler sees fn's throw.
      if (/\.\s*(catch|then)\s*\(/.test(record.text)) {
        // Filtered on the compiler's nodes: only the handler calls are wrapped.
        for (const compilerCall of compilerNodesOfKind<ts.CallExpression>(record.sourceFile, SyntaxKind.CallExpression)) {
          const callee = compilerCall.expression;
          if (!ts.isPropertyAccessExpression(callee)) continue;
          const method = callee.name.text;
          if (method === 'catch' || (method === 'then' && compilerCall.arguments.length > 1)) {
            chainCallbacks.push(...callbacksBeforeCatch(wrapCompilerNode<CallExpression>(record.sourceFile, compilerCall)));
          }
        }
      }
      if (!/\btry\b/.test(record.text)) continue;
      for (const statement of record.sourceFile.getDescendantsOfKind(SyntaxKind.TryStatement)) {
        regions.push(statement.getTryBlock());
        const catchClause = statement.getCatchClause();
        if (catchClause && statement.getFinallyBlock()) regions.push(catchClause.getBlock());
      }
    }
    // An async function reached here is observed too: a throw in it rejected its promise at
    // that point, and awaiting its defer() rejects it the same way (nothing else changes).
    const reach = (fn: FunctionLike): void => {
      if (observed.has(fn)) return;
      observed.add(fn);
      const body = fn.getBody();
      if (body) regions.push(body);
    };
    chainCallbacks.forEach(reach);
    // A route handler's throw reached the framework, which made it an error response:
    // the framework is the handler of a defer() in the route handler, async handlers
    // included, and in the functions it calls (its body is a region). Express 5, Koa,
    // Fastify and Hono answer a rejection of the handler's promise the same way; Express 4
    // and Connect ignore it, so there the planner reports what it would have to await.
    // So are a NestJS controller's route methods (`@Post()`), whose throw its exception filters answered.
    for (const record of this.analysis.index.loaded()) {
      if (record.parseProblem) continue;
      const handlers: Node[] = decoratedRouteMethods(record);
      if (mayHoldRoutes(record.text)) for (const { handler } of routeHandlersIn(this.analysis, record, (name) => declaredFunction(this.analysis, record, name))) handlers.push(handler);
      for (const handler of handlers) {
        if (!isFunctionLike(handler) || observed.has(handler)) continue;
        observed.add(handler);
        const body = handler.getBody();
        if (body) routeRegions.push(body);
      }
    }
    // Route handlers' regions resolve callees by their declarations (declaredFunction), not
    // with the checker: it would type the handlers' every `req.params.x` across the tree.
    const cheap = new Set<Node>(routeRegions);
    regions.push(...routeRegions);
    // A method of another object (`service.schedule(id)`) is looked up with the checker
    // only when some method of that name holds a defer() or run() call.
    const deferringMethods = this.deferringMemberNames();
    const calleesOf = (call: CallExpression | NewExpression, byDeclaration: boolean): FunctionLike[] => {
      if (!byDeclaration) return calleeFunctions(call);
      const record = this.record(call);
      const callee = record && calledName(call);
      const declared = record && callee ? declaredFunction(this.analysis, record, callee) : [];
      if (declared.length > 0 || !callee || !Node.isPropertyAccessExpression(callee) || !deferringMethods.has(callee.getName())) return declared;
      return calleeFunctions(call);
    };
    const valuesOf = (id: Identifier, byDeclaration: boolean): FunctionLike[] => {
      if (!byDeclaration) return functionsOf(id.getSymbol());
      const record = this.record(id);
      return record ? declaredFunction(this.analysis, record, id) : [];
    };
    const visit = (node: Node, byDeclaration: boolean): boolean => {
      const reachHere = (fn: FunctionLike): void => {
        if (byDeclaration && !observed.has(fn) && fn.getBody()) cheap.add(fn.getBody()!);
        reach(fn);
      };
      if (isFunctionLike(node)) {
        // A throw escapes a nested function through a sync array method calling it, as
        // the rejection of an awaited Promise chain it is a callback of, or through a call
        // the codemod cannot follow that may run it at once (reported, unless it is async).
        if (syncCallbackHost(node) || unknownCallbackHost(node)) reachHere(node);
        else {
          const chain = promiseChainCall(node);
          if (chain && isAwaitedChain(chain)) reachHere(node);
        }
        return false;
      }
      // Awaited too: `await h()` of a sync h throws before anything is awaited.
      if (Node.isCallExpression(node) || Node.isNewExpression(node)) {
        for (const callee of calleesOf(node, byDeclaration)) reachHere(callee);
      } else if (Node.isIdentifier(node) && mayDenoteFunctionValue(node.compilerNode)) {
        // A function named here but not called here (`h.call(...)`, `.then(h)`, `run(h)`,
        // `{ h }.h()`, a tagged template) may still run inside the region.
        for (const fn of valuesOf(node, byDeclaration)) reachHere(fn);
      } else if (Node.isPropertyAccessExpression(node) && deferringMethods.has(node.getName())) {
        // A method passed as a value (`ids.forEach(handlers.run)`, `ids.forEach(this.enqueue, this)`),
        // looked up only when some method of that name holds a defer() or run() call.
        const record = byDeclaration ? this.record(node) : undefined;
        const declared = record ? declaredFunction(this.analysis, record, node) : [];
        for (const fn of declared.length > 0 ? declared : functionsOf(node.getSymbol())) reachHere(fn);
      }
      return true;
    };
    while (regions.length > 0) {
      const region = regions.pop()!;
      const byDeclaration = cheap.has(region);
      // An arrow's expression body is itself the region.
      forEachRegionNode(region, (node) => visit(node, byDeclaration));
    }
    this.observed = observed;
    return observed;
  }

  /**
   * What handled a synchronous throw at `node` in the legacy code: the catch (or
   * finally) of the nearest try around it, reached through the callbacks that ran it
   * at once, or the framework of the route handler it ran in, or the function's callers.
   */
  lostHandler(node: Node): string {
    let child: Node = node;
    for (let parent = node.getParent(); parent && !Node.isSourceFile(parent); parent = parent.getParent()) {
      if (Node.isTryStatement(parent)) {
        const catchClause = parent.getCatchClause();
        const finallyBlock = parent.getFinallyBlock();
        if (parent.getTryBlock() === child) return catchClause ? `the catch at ${where(catchClause)}` : `the finally at ${where(finallyBlock!)}`;
        if (catchClause === child && finallyBlock) return `the finally at ${where(finallyBlock)}`;
      }
      if (isFunctionLike(parent)) {
        const route = routeCallbackOf(this.analysis, parent);
        if (route) return `the error handling of \`${route.call.getExpression().getText()}()\` around the route handler`;
        if (syncCallbackHost(parent) || unknownCallbackHost(parent) || promiseChainCall(parent)) {
          child = parent;
          continue;
        }
        // An async function's promise carried the throw to whoever awaits it.
        if (isAsync(parent)) return `the promise ${nameOf(parent) === 'the function' ? 'the async function' : nameOf(parent)} returns (whoever awaits it)`;
        return `what handled it in the callers of ${nameOf(parent)}`;
      }
      child = parent;
    }
    return 'what handled it';
  }

  /**
   * Why a `call` (`what`: `defer()` or `run()`) in a synchronous callback can be neither
   * awaited nor left as it is, in the words of what changes: the callback runs inside a
   * sync array method (whose promise-ignoring loop goes on past a failure) or a call the
   * codemod cannot follow. Undefined for a call in no such callback.
   */
  callbackLoss(call: CallExpression, what: string): string | undefined {
    const fn = enclosingFunction(call);
    // A try inside the callback still sees what an await there rejects: the planner's reason applies.
    if (!fn || isAsync(fn) || isGuarded(call) || routeCallbackOf(this.analysis, fn)) return undefined;
    let handler = this.lostHandler(call);
    let sync = syncCallbackHost(fn);
    // `ids.forEach(enqueue)`: a function passed by name, in its own file.
    const byName = sync ? undefined : this.passedByNameTo(fn);
    if (byName) {
      sync = byName;
      handler = this.lostHandler(byName);
    }
    if (sync) {
      const host = sync.getExpression().getText();
      if (awaitedPromiseAll(sync)) {
        return (
          `The awaited \`Promise.all\` still delivers the rejection of ${what} to ${handler}, but \`${host}\` now runs every callback before any enqueue fails, ` +
          `so the tasks after a failing one are enqueued too (the legacy throw left \`${host}\` at the first failure, and no later task was enqueued). ` +
          'To stop at the first failure, enqueue one at a time in an async function (`for (const item of items) await deferred.defer(...)`); if enqueueing the later tasks is acceptable, acknowledge this item.'
        );
      }
      return (
        `${what} now rejects where it used to throw, and here it runs in a callback of \`${host}\`, which calls it synchronously and ignores the Promise it returns: ` +
        `${handler} no longer receives the error (the shim only logs the failed enqueue), and \`${host}\` goes on with the next items, enqueueing the tasks after a failing one ` +
        `(the legacy throw left it at the first failure). Enqueue one at a time in an async function (\`for (const item of items) await deferred.defer(...)\`: ` +
        'for...of differs from forEach on sparse arrays, Maps and Sets), or collect the promises and await Promise.all if the later tasks may be enqueued after a failure.'
      );
    }
    const unknown = unknownCallbackHost(fn);
    if (!unknown) return undefined;
    if (Node.isNewExpression(unknown) && unknown.getExpression().getText() === 'Promise') {
      return (
        `${what} now rejects where it used to throw, and here it runs in the executor of \`new Promise(...)\`, which ran synchronously and turned the throw into that promise's rejection: ` +
        `the rejection of ${what} is not that promise's, so ${handler} no longer receives the error (the shim only logs the failed enqueue). ` +
        `Chain it instead (\`${what.replace('()', '(...)')}.then(resolve, reject)\`), or await it outside the executor.`
      );
    }
    const callee = unknown.getExpression().getText();
    return (
      `${what} now rejects where it used to throw, and here it runs in a function passed to \`${callee}\`, which the codemod cannot follow: ` +
      `if \`${callee}\` calls it synchronously, ${handler} no longer receives the error (the shim only logs the failed enqueue). ` +
      `Make the function async and await the call, where \`${callee}\` awaits what the function returns, or handle the rejection with .catch() where the error was handled.`
    );
  }

  /** The sync array method call (`ids.forEach(enqueue)`) that a named function of this file is passed to, if any. */
  private passedByNameTo(fn: FunctionLike): CallExpression | undefined {
    const name = this.nameNode(fn);
    if (!name) return undefined;
    for (const ref of sameScopeReferences(name)) {
      const outer = outermost(ref);
      const call = outer.getParent();
      if (call && Node.isCallExpression(call) && call.getArguments().includes(outer) && runsCallbackSynchronously(call)) return call;
    }
    return undefined;
  }

  /** Names of the methods (and object members holding a function) that hold a defer() or run() call. */
  private deferringMemberNames(): ReadonlySet<string> {
    const names = new Set<string>();
    const calls = [...findDeferCalls(this.analysis.symbols, this.analysis.candidates), ...findPayloadCalls(this.analysis.symbols, this.analysis.candidates, 'run')];
    for (const { call } of calls) {
      for (let fn = enclosingFunction(call); fn; fn = enclosingFunction(fn)) {
        const holder = Node.isMethodDeclaration(fn) ? fn : fn.getParent();
        if (holder && (Node.isMethodDeclaration(holder) || Node.isPropertyAssignment(holder) || Node.isPropertyDeclaration(holder))) names.add(holder.getName());
      }
    }
    return names;
  }

  /**
   * A file of the run (its relative path) that loads `record`, or a module that imports it
   * in turn, with `require()`: Node's require() of an ES module refuses one whose graph
   * has a top-level await.
   */
  private requiredWithTopLevelAwait(record: SourceRecord): string | undefined {
    const { index, imports } = this.analysis;
    const graph = [record.absPath];
    const inGraph = new Set(graph);
    for (let i = 0; i < graph.length; i++) {
      const current = graph[i]!;
      for (const importers of imports.importerCandidates(current, index)) {
        for (const importer of importers) {
          if (inGraph.has(importer) || !imports.importsOf(importer, index).has(current)) continue;
          const text = index.loadedText(importer) ?? index.text(importer);
          const loaded = text !== undefined && /\brequire\s*\(/.test(text) ? index.load(importer) : undefined;
          if (loaded && requiresOneOf(loaded, inGraph, (specifier) => index.resolve(importer, specifier))) return loaded.rel;
          inGraph.add(importer);
          graph.push(importer);
        }
      }
    }
    return undefined;
  }

  /** Whether a file may use top-level await: it is an ES module by extension or by its package's `type`. */
  private isEsm(record: SourceRecord): boolean {
    if (/\.m[jt]s$/.test(record.absPath)) return true;
    if (/\.c[jt]s$/.test(record.absPath)) return false;
    const hasEsmSyntax = record.sourceFile.getImportDeclarations().length > 0 || record.sourceFile.getExportDeclarations().length > 0 || /^\s*export\s/m.test(record.text);
    // Node reads `type` from the nearest package.json.
    const dir = this.packageDirOf(record.absPath);
    return hasEsmSyntax && dir !== undefined && this.manifest(dir)?.type === 'module';
  }

  /**
   * Why exports may be called from outside the analysed files, if they may. They are
   * not when the run walked the whole package the file belongs to (the nearest
   * package.json's directory, at or under the run's root, inside one of the run's paths)
   * and the file is none of its entry points (`main`, `module`, `bin`, `exports`:
   * compared without extension), unless the package is private and the run walks the
   * whole repository. A run on `./src` of a package whose tests or scripts live beside
   * it sees none of their calls. A published package that names an entry the run cannot
   * see (a build's output) may export any of its files.
   */
  private exportsLeaveRun(record: SourceRecord): string | undefined {
    if (this.analysis.singleFile) return 'this run sees one file only';
    // A module outside the run (gitignored, generated, another package) that the run's own imports lead to imports it.
    const importer = this.analysis.outside?.importerOutside(record.absPath);
    if (importer) return `${path.relative(this.analysis.root, importer)} imports it, a file the run does not read (outside its paths, or skipped by its walk: gitignored, generated, a script without extension)`;
    const dir = this.packageDirOf(record.absPath);
    if (dir === undefined) return 'no package.json above it says what its package is, so callers may be anywhere';
    const rel = path.relative(this.analysis.root, dir) || '.';
    if (!this.analysis.paths.some((walked) => isWithin(dir, walked))) return `the run walked only part of its package (${rel}): a run on the package's directory follows callers in its tests and scripts too`;
    const isPrivate = this.manifest(dir)?.private === true;
    // A published package's importers reach what its entries export; a private one's are in its repository.
    const unseen = isPrivate ? undefined : this.unseenEntryOf(dir);
    if (unseen) return `its package's entry point ${path.relative(this.analysis.root, unseen)} (${rel}/package.json) is none of the run's files (a build's output?), so what the package exports is not known`;
    // Another package of the repository may import any file of a package without `exports` by its path.
    const deep = this.deepImportable(dir);
    if (deep) return deep;
    if (!this.packageOf(dir).entries.has(withoutScriptExtension(record.absPath)) || this.importersAllInRun(dir)) return undefined;
    return `the file is an entry point of its package (${rel}/package.json), whose importers may be outside the run${isPrivate ? ' (a run on the repository root follows them)' : ''}`;
  }

  /**
   * Why what `record` exports may be imported by files the run does not see, when its
   * package says so: the run walked only part of the package (`deferred-migrate ./src`
   * beside ./test, ./scripts), the file is an entry point of a package whose importers
   * may be elsewhere, or the package names an entry the run cannot see. Undefined for a
   * file with no package.json above it (up to the root) and for a one-file run, where
   * nothing says where its importers are: the rules that change what a file exports
   * (a route table removed, a handler class's methods taking environ, the legacy API
   * re-exported) report only what the package shows.
   */
  exportsLeavePackage(record: SourceRecord): string | undefined {
    if (this.analysis.singleFile) return undefined;
    if (this.packageDirOf(record.absPath) === undefined) return this.analysis.outside?.importerOutside(record.absPath) === undefined ? undefined : this.exportsLeaveRun(record);
    return this.exportsLeaveRun(record);
  }

  /**
   * Why files of the package in `dir` may be imported by path (`@acme/shared/src/jobs.js`)
   * from packages the run does not walk: a named package other than the root's, without
   * an `exports` field (which would limit importers to its entries), in a run that does
   * not walk the repository root (a run on one package of a monorepo).
   */
  private deepImportable(dir: string): string | undefined {
    const root = path.resolve(this.analysis.root);
    if (dir === root || this.analysis.paths.some((walked) => isWithin(root, walked))) return undefined;
    const pkg = this.manifest(dir);
    const name = pkg?.name;
    if (typeof name !== 'string' || name === '' || pkg!.exports !== undefined) return undefined;
    // Only packages that depend on it import it (pnpm allows nothing else; npm and yarn hoist, but a
    // package importing a sibling it does not declare is rare): an app nothing depends on is not imported.
    const dependent = (this.analysis.configs ?? []).find((config) => {
      if (path.basename(config) !== 'package.json' || path.dirname(config) === dir) return false;
      return dependencyNames(this.manifest(path.dirname(config)), DEPENDENCY_FIELDS).includes(name);
    });
    if (dependent) return `its package ${name} (${path.relative(root, dir)}) has no "exports" field, and ${path.relative(root, dependent)} depends on it: a package the run does not walk may import this file by its path`;
    // npm and yarn hoist the workspace's packages into the root's node_modules, where every package
    // resolves them: one that imports a file of it by path without declaring it.
    const undeclared = this.undeclaredDeepImporter(dir, name);
    return undeclared && `its package ${name} (${path.relative(root, dir)}) has no "exports" field, and ${path.relative(root, undeclared)} imports a file of it by its path (${name} resolves there through a hoisted node_modules, though that package does not declare it)`;
  }

  /**
   * A file of another package of the repository, outside the run, that imports a file of the package
   * `name` (in `dir`) by its path (`'@acme/shared/src/jobs.js'`) where a node_modules above it holds
   * `name` (hoisted by npm or yarn workspaces; pnpm links only declared dependencies).
   */
  private undeclaredDeepImporter(dir: string, name: string): string | undefined {
    const outside = this.analysis.outside;
    if (!outside) return undefined;
    const root = path.resolve(this.analysis.root);
    for (const config of this.analysis.configs ?? []) {
      const other = path.dirname(config);
      if (path.basename(config) !== 'package.json' || other === dir || isWithin(other, dir) || this.analysis.paths.some((walked) => isWithin(other, walked))) continue;
      if (this.manifest(other) === undefined) continue;
      let hoisted = false;
      for (let at = other; isWithin(at, root); at = path.dirname(at)) {
        if (existsSync(path.join(at, 'node_modules', name))) {
          hoisted = true;
          break;
        }
        if (at === root || path.dirname(at) === at) break;
      }
      if (!hoisted) continue;
      // The root package's own files: not those of the package in `dir`, nor of the run.
      const found = outside.fileNaming(other, `${name}/`, dir);
      if (found && !this.analysis.paths.some((walked) => isWithin(found, walked))) return found;
    }
    return undefined;
  }

  /** A private package is imported only from its repository: all of it when the run walks the root. */
  private importersAllInRun(dir: string): boolean {
    return this.manifest(dir)?.private === true && this.analysis.paths.some((walked) => isWithin(this.analysis.root, walked));
  }

  /**
   * A file among `files` (the module's importers, followed through re-exporting
   * files) that is an entry point of a package whose importers may be outside the run
   * and exports `declaration` again, under any name (`export { create } from
   * './jobs.js'`, `export *`), or exports a module of `files` as a namespace (`export * as
   * jobs from './jobs.js'`): its relative path. An entry that names the binding counts
   * (`export default { create }`), and one that does not parse.
   */
  private reexportingEntry(record: SourceRecord, files: Iterable<string>, declaration: Node, name: string): string | undefined {
    const word = identifierPattern(name);
    const chain = new Set(files);
    // `export * as jobs from './jobs.js'`, `import * as jobs ...; export { jobs }`: a module of the chain as a
    // namespace, which exports it in turn.
    const visited = new Set<Node>();
    const exportsIt = (node: Node): boolean => {
      if (node === declaration) return true;
      if (!Node.isSourceFile(node) || !chain.has(node.getFilePath()) || visited.has(node)) return false;
      visited.add(node);
      return [...node.getExportedDeclarations().values()].some((nodes) => nodes.some(exportsIt));
    };
    for (const absPath of chain) {
      if (absPath === record.absPath) continue;
      const dir = this.packageDirOf(absPath);
      if (dir === undefined || !this.packageOf(dir).entries.has(withoutScriptExtension(absPath)) || this.importersAllInRun(dir)) continue;
      const entry = this.analysis.index.load(absPath);
      if (!entry || entry.parseProblem) return path.relative(this.analysis.root, absPath);
      // An entry that names it may export it in a way the declarations do not show (`export
      // default { create }`, `module.exports = { create }`): taken as exporting it.
      if (word.test(entry.text)) return entry.rel;
      if ([...entry.sourceFile.getExportedDeclarations().values()].some((nodes) => nodes.some(exportsIt))) return entry.rel;
    }
    return undefined;
  }

  /**
   * An entry point the package names explicitly (`main`, `module`, `bin`, `exports`) that
   * is none of the run's source files, nor maps to one through its build (outDir to
   * rootDir): without extension.
   */
  private unseenEntryOf(dir: string): string | undefined {
    const facts = this.packageOf(dir);
    if (facts.unseen === undefined) {
      const pkg = this.manifest(dir) ?? {};
      const explicit = pkg.main !== undefined || pkg.module !== undefined || pkg.bin !== undefined || pkg.exports !== undefined;
      this.sourcesWithoutExtension ??= new Set(this.analysis.index.knownFiles().filter((file) => file.kind === 'source').map((file) => withoutScriptExtension(file.absPath)));
      const sources = this.sourcesWithoutExtension;
      // Patterns (`"./*": "./lib/*.js"`) name no one file; only entries written as script files
      // are judged (a bin without extension, `./package.json` are not sources anyway).
      const unseen = explicit ? declaredEntries(dir, pkg, false, true).find((entry) => !entry.includes('*') && !entrySources(entry, facts.build).some((source) => sources.has(source))) : undefined;
      facts.unseen = unseen ?? null;
    }
    return facts.unseen ?? undefined;
  }

  /** The nearest directory above `absPath`, up to the run's root, that holds a package.json. */
  private packageDirOf(absPath: string): string | undefined {
    const start = path.dirname(absPath);
    if (this.packageDirs.has(start)) return this.packageDirs.get(start);
    let found: string | undefined;
    for (let dir = start; isWithin(dir, this.analysis.root); dir = path.dirname(dir)) {
      if (this.manifest(dir)) {
        found = dir;
        break;
      }
      if (dir === this.analysis.root || path.dirname(dir) === dir) break;
    }
    this.packageDirs.set(start, found);
    return found;
  }

  /** Directory → its package's directory: asked for every file of every exporting module (dense trees: hundreds of thousands). */
  private readonly packageDirs = new Map<string, string | undefined>();

  private manifest(dir: string): Record<string, unknown> | undefined {
    let manifest = this.manifests.get(dir);
    if (manifest === undefined) this.manifests.set(dir, (manifest = readJsonObject(path.join(dir, 'package.json')) ?? null));
    return manifest ?? undefined;
  }

  /**
   * The package in `dir`: its TypeScript build's directories, and its entry points
   * without extension, with the sources a build maps them to (`main: "dist/index.js"`
   * is also `src/index`, under tsconfig's rootDir, or without one `src` or `dir`).
   */
  private packageOf(dir: string): PackageFacts {
    let facts = this.packages.get(dir);
    if (facts) return facts;
    const build = buildDirsOf(dir);
    facts = { build, entries: new Set(declaredEntries(dir, this.manifest(dir) ?? {}, true).flatMap((entry) => entrySources(entry, build))) };
    this.packages.set(dir, facts);
    return facts;
  }

  /**
   * A source file of the run whose calls the language service cannot see (the
   * analysis did not load it, or it imports project files through an alias, which
   * the service does not resolve) yet names `name`: its relative path.
   */
  private unloadedMention(name: string): string | undefined {
    const index = this.analysis.index;
    const throughAlias = (absPath: string): boolean => this.analysis.scans.get(absPath)?.aliased?.some((specifier) => index.resolve(absPath, specifier) !== undefined) ?? false;
    const unseen = index.knownFiles().filter((file) => file.kind === 'source' && (!index.isLoaded(file.absPath) || throughAlias(file.absPath)));
    return this.firstNaming(name, unseen.map((file) => file.absPath));
  }

  /**
   * A file outside `searched` that spells `name` and has an import the analysis does not
   * follow (unfollowed-imports.ts): it may call the function unseen. Its relative path.
   */
  private unfollowedMention(name: string, searched: ReadonlySet<string>): string | undefined {
    return this.firstNaming(name, filesWithUnfollowedImports(this.analysis).filter((absPath) => !searched.has(absPath)));
  }

  /** The relative path of the first of `absPaths` whose text spells `name` as an identifier. */
  private firstNaming(name: string, absPaths: readonly string[]): string | undefined {
    const word = identifierPattern(name);
    const index = this.analysis.index;
    const found = absPaths.find((absPath) => {
      const text = index.loadedText(absPath) ?? index.text(absPath);
      return text !== undefined && word.test(text);
    });
    return found && (index.knownFiles().find((file) => file.absPath === found)?.rel ?? found);
  }

  private nameNode(fn: FunctionLike): Identifier | undefined {
    if (Node.isFunctionDeclaration(fn)) return fn.getNameNode();
    if (Node.isArrowFunction(fn) || Node.isFunctionExpression(fn)) {
      const parent = outermost(fn).getParent();
      if (parent && Node.isVariableDeclaration(parent) && parent.getInitializer() === outermost(fn)) {
        const name = parent.getNameNode();
        const list = parent.getParent();
        if (Node.isIdentifier(name) && Node.isVariableDeclarationList(list) && list.getDeclarationKind() === 'const') return name;
      }
    }
    return undefined;
  }

  /** Every call of `fn` (in any file of the run, through the import graph), or why not every caller is known. */
  /**
   * The references of a named class declaration (its `new` expressions among them), in its
   * file or, exported, in the files of the run; or why they cannot all be known.
   */
  classReferences(cls: import('ts-morph').ClassDeclaration): References {
    const name = cls.getNameNode();
    const record = this.record(cls);
    if (!name || !record) return { ok: false, reason: 'the class has no name' };
    return this.bindingReferences(`\`${name.getText()}\``, record, name, cls, exportedOtherwise(cls, name));
  }

  findCallers(fn: FunctionLike): Callers {
    const cached = this.callers.get(fn);
    if (cached) return cached;
    const result = this.computeCallers(fn);
    this.callers.set(fn, result);
    return result;
  }

  private computeCallers(fn: FunctionLike): Callers {
    const held = heldMember(fn);
    const exportName = commonJsExportName(fn);
    const defaultMember = defaultExportMember(fn);
    if (Node.isMethodDeclaration(fn) && !held && exportName === undefined && !defaultMember) return this.privateMethodCallers(fn);
    const name = this.nameNode(fn);
    if (!name) {
      const route = routeCallbackOf(this.analysis, fn);
      if (route) return { ok: true, calls: [], route };
      // `exports.f = function run() { ... run() ... }`, `{ retry: function again() { ... again() ... } }`:
      // its own name is a caller neither the import graph nor the object's reads see.
      const ownName = Node.isFunctionExpression(fn) ? fn.getName() : undefined;
      if (ownName && (held || exportName !== undefined) && fn.getDescendantsOfKind(SyntaxKind.Identifier).some((id) => id.getText() === ownName)) {
        return { ok: false, reason: `${nameOf(fn)} names itself \`${ownName}\` inside, where the codemod does not follow its calls` };
      }
      if (held) return memberCallers(this.lookup, fn, held);
      // `export default { create(req, res) {...} }`: default imports read it as `jobs.create`, through the import graph.
      if (defaultMember) {
        const ownRecord = this.record(fn)!;
        const self = thisReaching(defaultMember.literal, this.analysis.index);
        if (self) return { ok: false, reason: `${nameOf(fn)} is a member of the default export, and ${self}, so not every caller is known` };
        const refs = this.referencesThroughImports(nameOf(fn), ownRecord, fn as ExportedNode, defaultMember.key);
        return refs.ok ? this.callsAmong(fn, ownRecord, refs.refs) : refs;
      }
      // `exports.schedule = function () {...}`: importers reach it by that name, as an exported declaration.
      const fnRecord = exportName === undefined ? undefined : this.record(fn);
      if (exportName !== undefined && fnRecord && !fnRecord.isTypeScript) {
        // `module.exports = { create() {...}, run() { this.create() } }`: `this` reaches its members unseen.
        const literal = exportsLiteralMember(fn)?.literal;
        const self = (literal && thisReaching(literal, this.analysis.index)) || exportsThis(fn.getSourceFile(), this.analysis.index);
        if (self) return { ok: false, reason: `${nameOf(fn)} is exported with module.exports, and ${self}` };
        const refs = this.referencesThroughImports(nameOf(fn), fnRecord, fn as ExportedNode, exportName);
        return refs.ok ? this.callsAmong(fn, fnRecord, refs.refs) : refs;
      }
      const chain = promiseChainCall(fn);
      if (chain && startsFromPromise(chain)) return { ok: true, calls: [] };
      const parent = outermost(fn).getParent();
      // `(() => { ... })()`: called once, where it is written.
      if (parent && Node.isCallExpression(parent) && parent.getExpression() === outermost(fn)) return { ok: true, calls: [parent] };
      if (parent && Node.isCallExpression(parent)) return { ok: false, reason: `the function is a callback passed to \`${parent.getExpression().getText()}()\`, whose calls of it the codemod cannot see (it may ignore a promise)` };
      if (parent && Node.isNewExpression(parent) && parent.getExpression().getText() === 'Promise') {
        return { ok: false, reason: 'the function is the executor of `new Promise(...)`, whose throw rejected that promise; an async executor cannot do that (its rejection goes unhandled)' };
      }
      if (Node.isConstructorDeclaration(fn)) {
        const owner = fn.getParent();
        const className = (Node.isClassDeclaration(owner) || Node.isClassExpression(owner)) && owner.getName();
        return { ok: false, reason: `it is in the constructor of ${className ? `\`${className}\`` : 'a class'}, which cannot be async: its \`new\` expressions received the throw` };
      }
      if (Node.isGetAccessorDeclaration(fn) || Node.isSetAccessorDeclaration(fn)) {
        return { ok: false, reason: `it is in the ${Node.isGetAccessorDeclaration(fn) ? 'getter' : 'setter'} \`${fn.getName()}\`, which every ${Node.isGetAccessorDeclaration(fn) ? 'read' : 'assignment'} of the property runs: the codemod does not follow those` };
      }
      // `create = (req, res) => {...}` in a class: the reads of that member on its instances.
      const member = instanceMember(fn);
      if (member) return this.classMemberCallers(fn, member);
      return { ok: false, reason: 'the function is used as a value, so its callers are not known' };
    }
    const record = this.record(fn)!;
    const annexB = !record.isTypeScript && Node.isFunctionDeclaration(fn) ? useOutsideBlock(fn) : undefined;
    if (annexB) return { ok: false, reason: `${nameOf(fn)} is declared in a block, and \`${annexB.getText()}\` at ${where(annexB)}, outside that block, reaches it too in sloppy-mode JavaScript, where the codemod does not follow it` };
    const namespaceUse = namespaceValueUse(Node.isFunctionDeclaration(fn) ? fn : name.getFirstAncestorByKind(SyntaxKind.VariableStatement));
    if (namespaceUse) return { ok: false, reason: `${nameOf(fn)} is a member of the namespace \`${namespaceUse.namespace}\`, which is used other than by member names at ${where(namespaceUse.use)} (a computed key, or passed on whole), so not every caller is known` };
    const declaration = Node.isFunctionDeclaration(fn) ? fn : name.getParentIfKind(SyntaxKind.VariableDeclaration);
    const refs = this.bindingReferences(nameOf(fn), record, name, declaration, exportedOtherwise(fn, name));
    return refs.ok ? this.callsAmong(fn, record, refs.refs) : refs;
  }

  /**
   * The references of the module-level or local binding `name` (a function's, or an
   * object's that holds one), in its file or, when exported, in the files of the run;
   * or why they cannot all be known. `subject` names it in reasons.
   */
  private bindingReferences(subject: string, record: SourceRecord, name: Identifier, declaration: ExportedNode | undefined, otherwise: 'module' | 'file' | undefined): References {
    if (otherwise) return this.referencesByLanguageService(subject, record, name, otherwise === 'module');
    // By its keyword (isExported() asks the checker, which would build the whole program).
    const statement = declaration && (Node.isFunctionDeclaration(declaration) || Node.isClassDeclaration(declaration) ? declaration : declaration.getFirstAncestorByKind(SyntaxKind.VariableStatement));
    const exportedByName = !!statement && Node.isExportable(statement) && statement.hasExportKeyword() && !((Node.isFunctionDeclaration(statement) || Node.isClassDeclaration(statement)) && statement.hasDefaultKeyword());
    if (exportedByName && declaration) return this.referencesThroughImports(subject, record, declaration, name.getText());
    const local = sameScopeReferences(name);
    // `module.exports = { schedule }`: its importers through require() are followed like ES ones.
    const commonJsExport = !record.isTypeScript && declaration ? local.find((ref) => isCommonJsExportByName(ref, name.getText())) : undefined;
    if (commonJsExport && declaration) {
      // `module.exports = { schedule, again }`, `again` calling `this.schedule()`: importers' `jobs.again()` reach it unseen.
      const literal = commonJsExport.getParent()?.getParent();
      const self = (literal && Node.isObjectLiteralExpression(literal) ? thisReaching(literal, this.analysis.index) : undefined) || exportsThis(record.sourceFile, this.analysis.index);
      if (self) return { ok: false, reason: `${subject} is exported with module.exports, and ${self}` };
      return this.referencesThroughImports(subject, record, declaration, name.getText());
    }
    // `export { f }`, `export { f as g }`, `export default f`: importers may use another name,
    // so the language service finds them in the loaded files (it builds the program for it).
    const exported = local.some((ref) => Node.isExportSpecifier(ref.getParent()) || Node.isExportAssignment(ref.getParent()));
    return exported ? this.referencesByLanguageService(subject, record, name, true) : { ok: true, refs: local };
  }

  /**
   * The references the language service finds for `name` (it builds the program for it):
   * for a binding exported other than by its own name at module level, whose importers
   * may use it by another name or through a namespace. `leavesModule`: the module
   * exports it, so uses may also be outside the run.
   */
  private referencesByLanguageService(subject: string, record: SourceRecord, name: Identifier, leavesModule: boolean): References {
    const refs = name.findReferencesAsNodes().filter((ref) => ref !== name && !Node.isExportSpecifier(ref.getParent()) && !Node.isExportAssignment(ref.getParent()));
    if (!leavesModule) return { ok: true, refs };
    const outside = this.exportsLeaveRun(record);
    if (outside) return { ok: false, reason: `${subject} is exported and may be used from outside the analysed files: ${outside}` };
    const declaration = name.getParent();
    const entry = declaration && this.reexportingEntry(record, moduleAndImporters(this.analysis, record.absPath), declaration, name.getText());
    if (entry) return { ok: false, reason: `${subject} is exported again by ${entry}, an entry point of its package, and may be used from outside the analysed files` };
    const unseen = this.unloadedMention(name.getText());
    if (unseen) return { ok: false, reason: `${subject} is exported and named in ${unseen}, whose uses of it the codemod cannot see (it imports through a path alias or a package name)` };
    const loadedUnseen = unseenLoad(this.analysis, (absPath) => absPath === record.absPath);
    if (loadedUnseen) return { ok: false, reason: `${subject} is exported, and its module is loaded in ${loadedUnseen}, which the codemod does not follow` };
    // `import * as t from './one'; t[action](to)`: the service's references do not include a computed read.
    const objectUse = moduleObjectUseOf(this.analysis, record.absPath);
    if (objectUse) return { ok: false, reason: `${subject} is exported, and a module object holding it is used other than by member names in ${objectUse}, so not every caller is known` };
    const computed = computedLoadEscape(this.analysis, [record.absPath], () => true);
    if (computed) return { ok: false, reason: `${subject} is exported, and a module loaded from a computed path in ${computed}, which may be its own, is used other than by member names` };
    return { ok: true, refs };
  }

  /** The references of a binding its module exports by name, through the import graph (exported-references.ts). */
  private referencesThroughImports(subject: string, record: SourceRecord, declaration: ExportedNode, name: string): References {
    const outside = this.exportsLeaveRun(record);
    if (outside) return { ok: false, reason: `${subject} is exported and may be used from outside the analysed files: ${outside}` };
    const found = exportedReferences(this.analysis, record, declaration, name);
    if (!found.ok) return { ok: false, reason: found.reason };
    const entry = this.reexportingEntry(record, found.searched, declaration, name);
    if (entry) return { ok: false, reason: `${subject} is exported again by ${entry}, an entry point of its package, and may be used from outside the analysed files` };
    // A file that names it without importing its module as the graph sees it (a bundler's
    // alias, a computed require): its uses are not known.
    const unseen = this.unfollowedMention(name, found.searched);
    if (unseen) return { ok: false, reason: `${subject} is exported and named in ${unseen}, which imports a module the codemod cannot follow (a path alias or package name it does not resolve, a computed path, or the module registry \`require.cache\`), so its uses of it are not known` };
    // `module.exports = { name }` is how importers reach it, not a use.
    return { ok: true, refs: found.refs.filter((ref) => record.isTypeScript || !isCommonJsExportByName(ref, name)) };
  }





  /** The calls among `refs` (references of `fn`), or why some reference is not a known call. */
  private callsAmong(fn: FunctionLike, record: SourceRecord, refs: readonly Node[]): Callers {
    const calls: CallExpression[] = [];
    let route: RouteCallback | undefined;
    for (const ref of refs) {
      const call = calleeCall(ref);
      if (call) {
        calls.push(call);
        continue;
      }
      // `app.get('/x', handler)`: the framework calls it and ignores its value.
      // (`app.get('/go', routes.go)`: the member access is the value passed.)
      const passed = ref.getParent();
      const routeUse = routeCallbackOf(this.analysis, passed && Node.isPropertyAccessExpression(passed) && passed.getNameNode() === ref ? passed : ref);
      if (routeUse) {
        route ??= routeUse;
        continue;
      }
      // `const controller = { notify }`, `{ run: notify }`: its callers are the reads of that member.
      const held = heldMember(ref);
      if (held && !this.following.has(held.literal)) {
        this.following.add(held.literal);
        const members = memberCallers(this.lookup, fn, held);
        this.following.delete(held.literal);
        if (!members.ok) return members;
        calls.push(...members.calls);
        route ??= members.route;
        continue;
      }
      const parent = ref.getParent();
      if (!parent) continue;
      if (Node.isImportSpecifier(parent) || Node.isImportClause(parent) || Node.isTypeQuery(parent) || Node.isExportSpecifier(parent)) continue;
      if (!record.isTypeScript && isCommonJsExport(ref)) {
        return { ok: false, reason: `${nameOf(fn)} is exported with module.exports, and callers through require() are not followed` };
      }
      return { ok: false, reason: `${nameOf(fn)} is used as a value at ${where(ref)} (passed as a callback or stored), so not every caller is known` };
    }
    return route ? { ok: true, calls, route } : { ok: true, calls };
  }

  /**
   * The callers of a member of a class (member-callers.ts), unless the class is a member
   * of a namespace read other than by member names (`N[k].create()`, `new N[k]()`): the
   * class's references do not include that read.
   */
  private classMemberCallers(fn: FunctionLike, member: InstanceMember): Callers {
    const namespaceUse = namespaceValueUse(member.cls);
    if (namespaceUse) return { ok: false, reason: `${nameOf(fn)} is a member of \`${member.name.getText()}\`, a class in the namespace \`${namespaceUse.namespace}\`, which is used other than by member names at ${where(namespaceUse.use)} (a computed key, or passed on whole), so not every caller is known` };
    return instanceCallers(this.lookup, fn, member);
  }

  /**
   * A private method (`private m()` or `#m()`) of a class can be neither
   * overridden nor called from outside it, so its references are all its
   * callers; any other method may be.
   */
  private privateMethodCallers(fn: MethodDeclaration): Callers {
    const name = fn.getNameNode();
    const isPrivate = Node.isPrivateIdentifier(name) || (Node.isIdentifier(name) && fn.hasModifier(SyntaxKind.PrivateKeyword));
    if (!isPrivate || !(Node.isIdentifier(name) || Node.isPrivateIdentifier(name)) || !(Node.isClassDeclaration(fn.getParent()) || Node.isClassExpression(fn.getParent()))) {
      const member = instanceMember(fn);
      if (member) return this.classMemberCallers(fn, member);
      return { ok: false, reason: `${nameOf(fn)} is a method: it may be overridden or called dynamically, so not every caller is known` };
    }
    const calls: CallExpression[] = [];
    const refs = name.findReferencesAsNodes();
    for (const ref of refs) {
      if (ref === name) continue;
      const call = calleeCall(ref);
      if (!call) return { ok: false, reason: `${nameOf(fn)} is used as a value at ${where(ref)}, so not every caller is known` };
      calls.push(call);
    }
    const untyped = Node.isIdentifier(name) ? this.untypedMemberAccess(name, new Set(refs)) : undefined;
    if (untyped) return { ok: false, reason: `${nameOf(fn)} is private to the type checker only, and \`${untyped.getText()}\` at ${where(untyped)} may call it (through \`any\` or an element access, which TypeScript allows on a private member)` };
    return { ok: true, calls };
  }

  /**
   * A member access spelling the name of a TypeScript \`private\` method (\`(svc as any).m()\`,
   * \`svc['m']()\`) that the language service does not count as its reference, in the
   * class's file or a file importing its module: JavaScript sees no \`private\`.
   */
  private untypedMemberAccess(name: Identifier, refs: ReadonlySet<Node>): Node | undefined {
    const text = name.getText();
    const sf = name.getSourceFile();
    const files = ts.isExternalModule(sf.compilerNode) ? moduleAndImporters(this.analysis, sf.getFilePath()) : [sf.getFilePath()];
    const word = identifierPattern(text);
    for (const absPath of files) {
      const source = this.analysis.index.text(absPath);
      if (source === undefined || !word.test(source)) continue;
      const record = this.analysis.index.load(absPath);
      if (!record) continue;
      for (const compilerNode of compilerNodesOfKind<ts.PropertyAccessExpression>(record.sourceFile, SyntaxKind.PropertyAccessExpression)) {
        if (compilerNode.name.text !== text) continue;
        const access = wrapCompilerNode<PropertyAccessExpression>(record.sourceFile, compilerNode);
        if (!refs.has(access.getNameNode()) && !isOwnMemberOfOtherClass(access, name)) return access;
      }
      for (const compilerNode of compilerNodesOfKind<ts.ElementAccessExpression>(record.sourceFile, SyntaxKind.ElementAccessExpression)) {
        const argument = compilerNode.argumentExpression;
        if (!ts.isStringLiteralLike(argument) || argument.text !== text) continue;
        const access = wrapCompilerNode<Node>(record.sourceFile, compilerNode);
        if (![...refs].some((ref) => ref.getParent() === access)) return access;
      }
    }
    return undefined;
  }

  /** Why `fn` cannot become async, if it cannot. */
  private blocker(fn: FunctionLike): string | undefined {
    if (Node.isConstructorDeclaration(fn)) return 'it is in a constructor, which cannot be async';
    if (Node.isGetAccessorDeclaration(fn) || Node.isSetAccessorDeclaration(fn)) return `it is in a ${Node.isGetAccessorDeclaration(fn) ? 'getter' : 'setter'}, which cannot be async`;
    if (!Node.isArrowFunction(fn) && fn.isGenerator()) return `it is in the generator ${nameOf(fn)}`;
    if ((Node.isFunctionDeclaration(fn) || Node.isMethodDeclaration(fn)) && fn.getOverloads().length > 0) return `${nameOf(fn)} has overload signatures`;
    if (hasDeclaredFunctionType(fn)) return `${nameOf(fn)} has a declared function type that an async function would not match`;
    // `(v): v is string`, `(v): asserts v is string`: a type predicate cannot be a Promise's.
    const returnType = fn.getReturnTypeNode();
    if (returnType && Node.isTypePredicate(returnType)) return `${nameOf(fn)} is ${returnType.hasAssertsModifier() ? 'an assertion function' : 'a type guard'} (\`${returnType.getText()}\`), which cannot be async`;
    const host = syncCallbackHost(fn);
    if (host) return `it is in a callback of \`${host.getExpression().getText()}\`, which runs its callback synchronously and ignores a promise`;
    return undefined;
  }

  /**
   * What awaiting `call` takes. Either all of it is possible (every function on
   * the way can become async and every caller is known) or nothing is done.
   */
  planAwait(call: CallExpression, ends: PlanEnds = {}): AwaitPlan {
    const edits: PlannedAsyncEdit[] = [];
    const awaited = new Set<CallExpression>();
    const madeAsync = new Set<FunctionLike>();
    // Callers already queued for awaiting.
    const queued = new Set<CallExpression>();
    const work: CallExpression[] = [call];
    while (work.length > 0) {
      const current = work.pop()!;
      if (awaited.has(current)) continue;
      awaited.add(current);
      const record = this.record(current);
      if (!record) return { ok: false, reason: `a caller at ${where(current)} is outside the analysed files` };
      // Such a file is left untouched, so a chain through it would be half-migrated.
      if (record.parseProblem) return { ok: false, reason: `a caller at ${where(current)} is in a file that does not parse` };
      const fn = enclosingFunction(current);
      const illegal = awaitNotAllowed(current, fn);
      if (illegal) return { ok: false, reason: current === call ? illegal : `the call at ${where(current)}: ${illegal}` };
      if (!fn && current !== call && ends.commonJsTail && !this.isEsm(record) && isLastStatement(current)) continue;
      edits.push(...awaitEdits(record, current));
      if (!fn) {
        const requirer = this.isEsm(record) ? this.requiredWithTopLevelAwait(record) : undefined;
        if (this.isEsm(record) && !requirer) continue;
        if (requirer) return { ok: false, reason: `${current === call ? 'it' : `the call at ${where(current)}`} runs at the top level of an ES module that ${requirer} loads with require() (directly or through its imports), which fails on a module with top-level await (ERR_REQUIRE_ASYNC_MODULE)` };
        return {
          ok: false,
          reason: current === call ? 'it runs at the top level of a module that is not an ES module (no top-level await)' : `the call at ${where(current)} runs at the top level of a module that is not an ES module (no top-level await)`,
        };
      }
      if (isAsync(fn) || madeAsync.has(fn) || this.madeAsync.has(fn)) continue;
      const blocker = this.blocker(fn);
      if (blocker) return { ok: false, reason: current === call ? blocker : `the call at ${where(current)}: ${blocker}` };
      if (ends.eventLoop && eventLoopCallback(fn)) {
        madeAsync.add(fn);
        edits.push(...asyncEdits(this.record(fn)!, fn));
        continue;
      }
      const callers = this.findCallers(fn);
      if (!callers.ok) return { ok: false, reason: callers.reason };
      madeAsync.add(fn);
      if (callers.route) {
        const ignored = ignoresRejection(this.analysis, callers.route.framework) ?? asyncRefused(callers.route, fn);
        if (ignored) return { ok: false, reason: `${nameOf(fn)} is a route handler of \`${callers.route.call.getExpression().getText()}()\`: ${ignored}` };
      }
      edits.push(...asyncEdits(this.record(fn)!, fn));
      // Every caller is awaited, not only those that handle the throw or use the value: what
      // the function does after its first await, and what a caller does after the call,
      // would otherwise run later than before (a counter read in the response, the next
      // defer() enqueued first), and a rejection no try of its own catches would go unhandled.
      for (const caller of callers.calls) {
        if (isAwaited(caller) || queued.has(caller)) continue;
        queued.add(caller);
        work.push(caller);
      }
    }
    // A route handler's caller is the framework, and these frameworks (the others were
    // refused above) answer a rejection of the handler's promise as they answered its
    // throw: a rejection that reaches one now went there as a throw before.
    return { ok: true, edits, madeAsync: [...madeAsync] };
  }
}

/**
 * How `fn` is exported when not by its own name at module level: `export default function
 * f()` (importers name it anything), or as a member of a namespace (`export namespace Jobs
 * { export function f() }`, called as `Jobs.f()`): `'module'` when the module exports it,
 * `'file'` when only the file sees it (a namespace the module does not export).
 */
function exportedOtherwise(fn: Node, name: Identifier): 'module' | 'file' | undefined {
  if ((Node.isFunctionDeclaration(fn) || Node.isClassDeclaration(fn)) && fn.hasDefaultKeyword()) return 'module';
  const statement = Node.isFunctionDeclaration(fn) || Node.isClassDeclaration(fn) ? fn : name.getFirstAncestorByKind(SyntaxKind.VariableStatement);
  if (!statement?.hasExportKeyword() || !Node.isModuleBlock(statement.getParent())) return undefined;
  // The outermost namespace decides whether the module exports the member (or the file is a script).
  let namespace = statement.getParent()!.getParent();
  while (namespace && Node.isModuleDeclaration(namespace.getParent()?.getParent())) namespace = namespace.getParent()!.getParent();
  return namespace && Node.isModuleDeclaration(namespace) && !namespace.hasExportKeyword() && isModuleFile(namespace.getSourceFile()) ? 'file' : 'module';
}



/** The file is a module (it imports or exports), not a script whose top-level names are global. */
function isModuleFile(sf: import('ts-morph').SourceFile): boolean {
  return ts.isExternalModule(sf.compilerNode);
}

/** `this.m` inside another class that declares its own member `m`: that class's member. */
function isOwnMemberOfOtherClass(access: PropertyAccessExpression, name: Identifier): boolean {
  if (access.getExpression().getKind() !== SyntaxKind.ThisKeyword) return false;
  const owner = access.getFirstAncestor((node) => Node.isClassDeclaration(node) || Node.isClassExpression(node));
  if (!owner || owner === name.getParent()?.getParent() || !(Node.isClassDeclaration(owner) || Node.isClassExpression(owner))) return false;
  return owner.getMembers().some((member) => (Node.isMethodDeclaration(member) || Node.isPropertyDeclaration(member) || Node.isGetAccessorDeclaration(member) || Node.isSetAccessorDeclaration(member)) && member.getName() === name.getText());
}

/** `record` calls `require()` with a specifier that resolves to one of `targets`. */
function requiresOneOf(record: SourceRecord, targets: ReadonlySet<string>, resolve: (specifier: string) => string | undefined): boolean {
  for (const call of compilerNodesOfKind<ts.CallExpression>(record.sourceFile, SyntaxKind.CallExpression)) {
    const [argument] = call.arguments;
    if (!ts.isIdentifier(call.expression) || call.expression.text !== 'require' || !argument || !ts.isStringLiteralLike(argument)) continue;
    const target = resolve(argument.text);
    if (target !== undefined && targets.has(target)) return true;
  }
  return false;
}

/** The instance field whose initialiser holds `node` (outside any function of its own), if any. */
function instanceFieldOf(node: Node): import('ts-morph').PropertyDeclaration | undefined {
  for (let parent = node.getParent(); parent && !isFunctionLike(parent) && !Node.isSourceFile(parent); parent = parent.getParent()) {
    if (Node.isPropertyDeclaration(parent)) return parent.isStatic() ? undefined : parent;
  }
  return undefined;
}

/**
 * The entry points `pkg` (the package.json in `dir`) names, absolute, without extension:
 * `main` (npm's default `index.js` when `withDefault`), `module`, `bin`, `exports`, and
 * then `types`/`typings` (`dist/index.d.ts` names the module `dist/index`); with
 * `scriptsOnly`, those written with a script extension only.
 */
function declaredEntries(dir: string, pkg: Record<string, unknown>, withDefault: boolean, scriptsOnly = false): string[] {
  const entries = new Set<string>();
  const collect = (value: unknown): void => {
    if (typeof value === 'string' && scriptsOnly && !/\.[cm]?[jt]sx?$/.test(value)) return;
    if (typeof value === 'string') entries.add(withoutScriptExtension(path.resolve(dir, value)).replace(/\.d$/, ''));
    else if (value && typeof value === 'object') for (const inner of Object.values(value)) collect(inner);
  };
  collect(withDefault ? (pkg.main ?? 'index.js') : pkg.main);
  collect(pkg.module);
  collect(pkg.bin);
  collect(pkg.exports);
  if (withDefault) {
    collect(pkg.types);
    collect(pkg.typings);
  }
  return [...entries];
}

/** The output directory of a TypeScript build and the directories its sources may sit in. */
interface BuildDirs {
  outDir: string;
  rootDirs: string[];
}

/** What the planner reads of a package once: see AsyncPlanner.packageOf and unseenEntryOf (null: every entry is seen). */
interface PackageFacts {
  build: BuildDirs | undefined;
  entries: Set<string>;
  unseen?: string | null;
}

/** An entry (without extension) and, when it is in the build's output, the sources that build it. */
function entrySources(entry: string, build: BuildDirs | undefined): string[] {
  return build && isWithin(entry, build.outDir) ? [entry, ...build.rootDirs.map((root) => path.join(root, path.relative(build.outDir, entry)))] : [entry];
}

/** The TypeScript build in `dir`: its tsconfig.json's outDir, and where the sources may sit. */
function buildDirsOf(dir: string): BuildDirs | undefined {
  const configPath = path.join(dir, 'tsconfig.json');
  const read = ts.readConfigFile(configPath, ts.sys.readFile);
  if (read.error || !read.config) return undefined;
  // Its own compilerOptions only: no walk of the include patterns (an outDir set in an `extends` base is not seen).
  const { options } = ts.convertCompilerOptionsFromJson((read.config as { compilerOptions?: unknown }).compilerOptions ?? {}, dir, configPath);
  if (!options.outDir) return undefined;
  return { outDir: options.outDir, rootDirs: options.rootDir ? [options.rootDir] : [path.join(dir, 'src'), dir] };
}

/** The functions `fn` returns as written (`return (req, res) => ...`), its nested functions' returns aside. */
function returnedFunctions(fn: FunctionLike): FunctionLike[] {
  const body = fn.getBody();
  if (!body) return [];
  const found: FunctionLike[] = [];
  const add = (value: Node | undefined): void => {
    const returned = unparenthesized(value);
    if (returned && isFunctionLike(returned)) found.push(returned);
  };
  if (!Node.isBlock(body)) add(body);
  else {
    const walk = (node: Node): void => {
      if (Node.isReturnStatement(node)) add(node.getExpression());
      else if (!isFunctionLike(node)) node.forEachChild(walk);
    };
    body.forEachChild(walk);
  }
  return found;
}

export function isAsync(fn: FunctionLike): boolean {
  return (Node.isFunctionDeclaration(fn) || Node.isFunctionExpression(fn) || Node.isArrowFunction(fn) || Node.isMethodDeclaration(fn)) && fn.isAsync();
}

/** What a call or `new` runs: its callee, or `f` of `f.call(...)`, `f.apply(...)`, `f.bind(...)(...)`. */
function runCallee(call: CallExpression | NewExpression): Node | undefined {
  const callee = unparenthesized(call.getExpression());
  if (!callee) return undefined;
  if (Node.isCallExpression(callee) && isFunctionMethod(callee.getExpression(), 'bind')) return (callee.getExpression() as PropertyAccessExpression).getExpression();
  if (isFunctionMethod(callee, 'call') || isFunctionMethod(callee, 'apply')) return (callee as PropertyAccessExpression).getExpression();
  return callee;
}

/** The name a call or `new` runs by (`h`, `ns.h`, through `.call`/`.apply`/`.bind`), if it is one. */
function calledName(call: CallExpression | NewExpression): Node | undefined {
  const callee = runCallee(call);
  return callee && (Node.isIdentifier(callee) || Node.isPropertyAccessExpression(callee)) ? callee : undefined;
}

/** The functions (with a body) a call or `new` runs, as the checker resolves its callee. */
export function calleeFunctions(call: CallExpression | NewExpression): FunctionLike[] {
  const callee = runCallee(call);
  if (!callee || !(Node.isIdentifier(callee) || Node.isPropertyAccessExpression(callee) || Node.isElementAccessExpression(callee))) return [];
  const symbol = Node.isElementAccessExpression(callee) ? callee.getArgumentExpression()?.getSymbol() : callee.getSymbol();
  if (Node.isNewExpression(call)) {
    const found: FunctionLike[] = [];
    for (const declaration of aliased(symbol)?.getDeclarations() ?? []) {
      if (Node.isClassDeclaration(declaration) || Node.isClassExpression(declaration)) found.push(...declaration.getConstructors().filter((c) => c.getBody()));
    }
    // `new f()` of a plain function runs f.
    return found.length > 0 ? found : functionsOf(symbol);
  }
  return functionsOf(symbol);
}

function aliased(symbol: TsMorphSymbol | undefined): TsMorphSymbol | undefined {
  return symbol?.isAlias() ? (symbol.getAliasedSymbol() ?? symbol) : symbol;
}

function isFunctionMethod(node: Node | undefined, name: string): boolean {
  return !!node && Node.isPropertyAccessExpression(node) && node.getName() === name;
}

/**
 * The functions (with a body) a symbol denotes: a function or method, a variable or
 * property holding one, directly or through another name (`{ plain: h }`, `{ h }`).
 */
function functionsOf(symbol: TsMorphSymbol | undefined, seen = new Set<Node>()): FunctionLike[] {
  const found: FunctionLike[] = [];
  for (const declaration of aliased(symbol)?.getDeclarations() ?? []) {
    if (seen.has(declaration)) continue;
    seen.add(declaration);
    if ((Node.isFunctionDeclaration(declaration) || Node.isMethodDeclaration(declaration)) && declaration.getBody()) found.push(declaration);
    else if (Node.isVariableDeclaration(declaration) || Node.isPropertyAssignment(declaration)) {
      const initializer = unparenthesized(declaration.getInitializer());
      if (initializer && (Node.isArrowFunction(initializer) || Node.isFunctionExpression(initializer))) found.push(initializer);
      else if (initializer && Node.isIdentifier(initializer)) found.push(...functionsOf(initializer.getSymbol(), seen));
    } else if (Node.isShorthandPropertyAssignment(declaration)) {
      found.push(...functionsOf(declaration.getValueSymbol(), seen));
    }
  }
  return found;
}

/**
 * The function a name passed as a handler denotes when the file (or a file it
 * imports from) declares it: found without the checker, which would build the
 * whole program for `app.use(tasks)`.
 */
function declaredFunction(analysis: Analysis, record: SourceRecord, name: Node): FunctionLike[] {
  // `routes.go` through a namespace import or a require of the module.
  const member = Node.isPropertyAccessExpression(name) && Node.isIdentifier(name.getExpression()) ? name : undefined;
  if (!Node.isIdentifier(name) && !member) return [];
  const resolution = member
    ? resolveModuleMember(analysis.index, record, member.getExpression() as Identifier, member.getName())
    : resolveIdentifier(analysis.index, record, name as Identifier);
  if (resolution.kind !== 'module') return [];
  const declaration: Node = resolution.node;
  if (Node.isFunctionDeclaration(declaration) && declaration.getBody()) return [declaration];
  if (Node.isVariableDeclaration(declaration)) {
    const initializer = unparenthesized(declaration.getInitializer());
    if (initializer && (Node.isArrowFunction(initializer) || Node.isFunctionExpression(initializer))) return [initializer];
  }
  return [];
}

function unparenthesized(node: Node | undefined): Node | undefined {
  let inner = node;
  while (inner && Node.isParenthesizedExpression(inner)) inner = inner.getExpression();
  return inner;
}

/** An identifier that may stand for a function value: not a declaration's name, a member name or a call's callee. */
function mayDenoteFunctionValue(node: ts.Identifier): boolean {
  const parent = node.parent;
  if (!parent) return false;
  if (ts.isPropertyAccessExpression(parent) && parent.name === node) return false;
  if (ts.isCallExpression(parent) && parent.expression === node) return false;
  if ((ts.isVariableDeclaration(parent) || ts.isFunctionDeclaration(parent) || ts.isParameter(parent) || ts.isPropertyAssignment(parent) || ts.isMethodDeclaration(parent)) && parent.name === node) return false;
  return !(ts.isImportSpecifier(parent) || ts.isExportSpecifier(parent) || ts.isTypeReferenceNode(parent) || ts.isQualifiedName(parent) || ts.isLabeledStatement(parent) || ts.isBreakStatement(parent) || ts.isContinueStatement(parent));
}

/** A member access passed as an argument (`ids.forEach(handlers.run)`): it may denote a function the call runs. */
function isPassedMember(node: ts.Node): boolean {
  const parent = node.parent;
  return ts.isPropertyAccessExpression(node) && !!parent && (ts.isCallExpression(parent) || ts.isNewExpression(parent)) && !!parent.arguments?.includes(node as ts.Expression);
}

/**
 * Calls `visit` on `region` and on its descendants that `visit` may act on (functions,
 * calls, `new`, identifiers that may denote a function), walking the compiler's nodes
 * and wrapping only those; a `false` from `visit` skips the node's descendants.
 */
function forEachRegionNode(region: Node, visit: (node: Node) => boolean): void {
  const sf = region.getSourceFile();
  if (!visit(region)) return;
  const walk = (node: ts.Node): void => {
    const relevant =
      FUNCTION_LIKE_KINDS.has(node.kind) || ts.isCallExpression(node) || ts.isNewExpression(node) || (ts.isIdentifier(node) && mayDenoteFunctionValue(node)) || isPassedMember(node);
    if (relevant && !visit(wrapCompilerNode(sf, node))) return;
    ts.forEachChild(node, walk);
  };
  ts.forEachChild(region.compilerNode, walk);
}

/**
 * A use of the name of `fn`, a function declared in a block (`if (x) { function go() {} }`),
 * outside that block in its function (or file) that no other binding takes: sloppy-mode
 * JavaScript also binds the name there (Annex B), so that use is a caller lexical scope misses.
 */
function useOutsideBlock(fn: import('ts-morph').FunctionDeclaration): Identifier | undefined {
  const block = fn.getParent();
  const name = fn.getName();
  if (!name || !block || !(Node.isBlock(block) || Node.isCaseClause(block) || Node.isDefaultClause(block))) return undefined;
  const owner = block.getParent();
  if (Node.isBlock(block) && owner && isFunctionLike(owner)) return undefined;
  const outer: Node = block.getFirstAncestor(isFunctionLike) ?? fn.getSourceFile();
  const sf = fn.getSourceFile();
  for (const compilerId of compilerIdentifiersNamed(sf, name)) {
    if (compilerId.pos < outer.getPos() || compilerId.end > outer.getEnd() || (compilerId.pos >= block.getPos() && compilerId.end <= block.getEnd())) continue;
    const id = wrapCompilerNode<Identifier>(sf, compilerId);
    if (isReference(id) && !isShadowed(id)) return id;
  }
  return undefined;
}

/**
 * A use of a namespace holding `statement` (`export namespace Jobs { export function send() }`)
 * other than reading a member by name (`Jobs.send`), in the files the language service
 * loaded: `Jobs[action](to)`, `register(Jobs)`, `Object.values(Jobs)` call its members
 * where no reference of the member shows. Types (`typeof Jobs`) and import or export
 * specifiers are not uses.
 */
function namespaceValueUse(statement: Node | undefined): { namespace: string; use: Node } | undefined {
  if (!statement || !Node.isModuleBlock(statement.getParent())) return undefined;
  // Every namespace around it: `namespace A.B { ... }` is A holding B.
  for (const declaration of statement.getAncestors()) {
    if (!Node.isModuleDeclaration(declaration)) continue;
    const nameNode = declaration.getNameNode();
    if (!Node.isIdentifier(nameNode)) continue;
    for (const ref of nameNode.findReferencesAsNodes()) {
      if (ref === nameNode) continue;
      const parent = ref.getParent();
      if (!parent || Node.isImportSpecifier(parent) || Node.isExportSpecifier(parent) || Node.isImportClause(parent) || Node.isNamespaceImport(parent) || Node.isQualifiedName(parent) || Node.isTypeQuery(parent) || Node.isModuleDeclaration(parent)) continue;
      // `A.B` of `namespace A.B`, `ns.Jobs` of `import * as ns`: the access is the namespace.
      const use = Node.isPropertyAccessExpression(parent) && parent.getNameNode() === ref ? parent : ref;
      const reader = use.getParent();
      if (reader && Node.isPropertyAccessExpression(reader) && reader.getExpression() === use) continue;
      return { namespace: nameNode.getText(), use };
    }
  }
  return undefined;
}

/** The call that `ref` is the callee of (`f(...)`, `ns.f(...)`, `(0, m.f)(...)`), if any. */
export function calleeCall(ref: Node): CallExpression | undefined {
  let callee: Node = ref;
  const parent = ref.getParent();
  if (parent && Node.isPropertyAccessExpression(parent) && parent.getNameNode() === ref) callee = parent;
  let outer = outermost(callee);
  // `(0, tasks_1.schedule)(id)`: TypeScript's and Babel's CommonJS emit of an imported function's call.
  const sequence = outer.getParent();
  if (sequence && Node.isBinaryExpression(sequence) && sequence.getOperatorToken().getKind() === SyntaxKind.CommaToken && sequence.getRight() === outer && Node.isNumericLiteral(sequence.getLeft())) {
    outer = outermost(sequence);
  }
  const call = outer.getParent();
  return call && Node.isCallExpression(call) && call.getExpression() === outer ? call : undefined;
}

/**
 * The name a function expression or arrow is exported under as the whole right side of a
 * module-level `exports.name = ...` / `module.exports.name = ...`, or a function member of
 * the literal `module.exports = { ... }` is exported under (what findExport reads).
 */
function commonJsExportName(fn: FunctionLike): string | undefined {
  const member = exportsLiteralMember(fn);
  if (member) return member.key;
  if (!Node.isFunctionExpression(fn) && !Node.isArrowFunction(fn)) return undefined;
  const assignment = fn.getParent();
  if (!assignment || !Node.isBinaryExpression(assignment) || assignment.getRight() !== fn || assignment.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) return undefined;
  const statement = assignment.getParent();
  if (!statement || !Node.isExpressionStatement(statement) || !Node.isSourceFile(statement.getParent())) return undefined;
  const match = /^(?:module\.)?exports\.([A-Za-z_$][\w$]*)$/.exec(assignment.getLeft().getText());
  return match?.[1];
}

function isCommonJsExport(ref: Node): boolean {
  const assignment = ref.getFirstAncestorByKind(SyntaxKind.BinaryExpression);
  return !!assignment && /^(module\.)?exports\b/.test(assignment.getLeft().getText());
}

/**
 * `call` is the whole of the last statement the module runs: only declarations (which run
 * nothing) follow it, also out of the `if` it sits in (`if (require.main === module) main();`).
 */
function isLastStatement(call: CallExpression): boolean {
  let statement: Node | undefined = outermost(call).getParent();
  if (!statement || !Node.isExpressionStatement(statement)) return false;
  for (;;) {
    const runsNothing = (next: Node) => Node.isFunctionDeclaration(next) || Node.isInterfaceDeclaration(next) || Node.isTypeAliasDeclaration(next) || Node.isEmptyStatement(next);
    if (!statement.getNextSiblings().every(runsNothing)) return false;
    const parent: Node | undefined = statement.getParent();
    if (!parent || Node.isSourceFile(parent)) return true;
    // A block of an `if` (then or else), or the `if`'s statement itself: go on from the `if`.
    const owner: Node | undefined = Node.isBlock(parent) ? parent.getParent() : parent;
    if (!owner || !Node.isIfStatement(owner)) return false;
    statement = owner;
  }
}

/**
 * Why `await` cannot stand at `call` even in an async function: in a default
 * parameter value, a class field initialiser or a class static block (between
 * the call and its function, or the module).
 */
function awaitNotAllowed(call: Node, fn: FunctionLike | undefined): string | undefined {
  for (let node = call.getParent(); node && node !== fn && !Node.isSourceFile(node); node = node.getParent()) {
    if (Node.isParameterDeclaration(node)) return 'it is in a default parameter value, where await is not allowed';
    if (Node.isPropertyDeclaration(node)) return 'it is in a class field initialiser, where await is not allowed';
    if (Node.isClassStaticBlockDeclaration(node)) return 'it is in a class static block, where await is not allowed';
    // Both run where the class is defined (a base the analysis reads as written, so not `extends (await f())`).
    if (Node.isDecorator(node)) return 'it is in a decorator, which runs where the class is defined';
    if (Node.isHeritageClause(node)) return "it is in a class's `extends` clause, which runs where the class is defined";
  }
  return undefined;
}

/** `await call`, parenthesised where the call is the object of a member access or the callee of a call. */
export function awaitEdits(record: SourceRecord, call: CallExpression): PlannedAsyncEdit[] {
  // `f()!.name` reads the member of what `f()!` is: `(await f())!.name`.
  const outer = callValue(call);
  const parent = outer.getParent();
  const member =
    (Node.isPropertyAccessExpression(parent) || Node.isElementAccessExpression(parent) || Node.isCallExpression(parent) || Node.isTaggedTemplateExpression(parent)) &&
    (Node.isTaggedTemplateExpression(parent) ? parent.getTag() : parent.getExpression()) === outer;
  // `await f() ** 2` does not parse: a unary operand cannot be the base of `**`.
  const operand = member || isExponentBase(outer);
  const description = 'await the call (it now returns a Promise)';
  const edits: PlannedAsyncEdit[] = [{ record, start: call.getStart(), end: call.getStart(), text: operand ? '(await ' : 'await ', description }];
  if (operand) edits.push({ record, start: call.getEnd(), end: call.getEnd(), text: ')', description });
  return edits;
}

/** `node` is the left operand of `**`. */
function isExponentBase(node: Node): boolean {
  const parent = node.getParent();
  return !!parent && Node.isBinaryExpression(parent) && parent.getLeft() === node && parent.getOperatorToken().getKind() === SyntaxKind.AsteriskAsteriskToken;
}

function asyncEdits(record: SourceRecord, fn: FunctionLike): PlannedAsyncEdit[] {
  let at: number;
  if (Node.isFunctionDeclaration(fn) || Node.isFunctionExpression(fn)) at = fn.getFirstChildByKindOrThrow(SyntaxKind.FunctionKeyword).getStart();
  else if (Node.isMethodDeclaration(fn)) at = fn.getNameNode().getStart();
  else at = fn.getStart();
  const edits: PlannedAsyncEdit[] = [{ record, start: at, end: at, text: 'async ', description: `${nameOf(fn)} made async so it can await` }];
  const typeNode = fn.getReturnTypeNode() ?? (record.isTypeScript ? undefined : jsDocReturnType(fn));
  if (typeNode && !/^Promise\s*</.test(typeNode.getText())) {
    edits.push({ record, start: typeNode.getStart(), end: typeNode.getEnd(), text: `Promise<${typeNode.getText()}>`, description: `${nameOf(fn)} returns a Promise` });
  }
  return edits;
}

/** `const f: (id: string) => boolean = ...` or a JSDoc `@type` on its statement: the declared type would not fit. */
function hasDeclaredFunctionType(fn: FunctionLike): boolean {
  if (!Node.isArrowFunction(fn) && !Node.isFunctionExpression(fn)) return false;
  const declaration = outermost(fn).getParent();
  if (!declaration || !Node.isVariableDeclaration(declaration)) return false;
  if (declaration.getTypeNode()) return true;
  const statement = declaration.getFirstAncestorByKind(SyntaxKind.VariableStatement);
  return !!statement?.getJsDocs().some((doc) => doc.getTags().some((tag) => Node.isJSDocTypeTag(tag)));
}

/** The type of a JSDoc `@returns {T}` (checkJs code bases) on the function or on its `const` statement. */
function jsDocReturnType(fn: FunctionLike): Node | undefined {
  const holder = Node.isFunctionDeclaration(fn) || Node.isMethodDeclaration(fn) ? fn : fn.getFirstAncestorByKind(SyntaxKind.VariableStatement);
  if (!holder || !Node.isJSDocable(holder)) return undefined;
  for (const doc of holder.getJsDocs()) {
    for (const tag of doc.getTags()) {
      if (Node.isJSDocReturnTag(tag)) return tag.getTypeExpression()?.getTypeNode();
    }
  }
  return undefined;
}

/**
 * Awaits `call` if it can be (see planAwait), emitting the edits into `out`;
 * returns why it could not, if it could not (nothing is emitted then).
 */
export function awaitCall(analysis: Analysis, call: CallExpression, out: RuleOutput, shared: RuleOutput, ends: PlanEnds = {}): string | undefined {
  const planner = AsyncPlanner.of(analysis);
  const plan = planner.planAwait(call, ends);
  if (!plan.ok) return plan.reason;
  emitPlan(plan.edits, out, shared);
  planner.markAsync(plan.madeAsync ?? []);
  return undefined;
}

/** Emits a plan's edits into `out`, skipping edits an earlier rule (or this one) already made. */
function emitPlan(plan: PlannedAsyncEdit[], out: RuleOutput, shared: RuleOutput): void {
  for (const edit of plan) {
    const same = (list: Array<{ start: number; end: number; text: string }> | undefined): boolean =>
      !!list?.some((e) => e.start === edit.start && e.end === edit.end && e.text === edit.text);
    if (same(shared.edits.get(edit.record.absPath)) || same(out.edits.get(edit.record.absPath))) continue;
    out.edit(edit.record, edit.start, edit.end, edit.text, edit.description);
  }
}
