// Rule `defer-result`: the legacy defer() returned the task; the shim's returns a
// Promise of it. Where the result is used, the call is awaited (async-plan.ts
// decides whether its function can become async, with its callers); where it
// cannot, the use is reported. Discarded, returned and awaited results need nothing
// here (`sync-error-handling` awaits discarded calls whose throw was handled).
import * as path from 'node:path';
import { Node, SyntaxKind, type CallExpression } from 'ts-morph';
import { sameScopeReferences } from '../analysis/scope.js';
import { findDeferCalls, findPayloadCalls } from '../analysis/defer-calls.js';
import type { Analysis } from '../analysis/index.js';
import { isExportedObject, isMember, outermostExpression as outermost } from '../analysis/legacy-symbols.js';
import type { SourceRecord } from '../analysis/project.js';
import { AsyncPlanner, awaitCall, callValue, isAsync } from './async-plan.js';
import { isFunctionLike } from './function-like.js';
import { routeCallbackOf } from './route-callback.js';
import { isCommonJsExportByName } from './exported-references.js';
import type { Rule, RuleMeta } from './context.js';
import { transactionalOption } from './defer-options.js';
import { taskqueueApiUses } from './taskqueue-errors.js';
import { addNeededImports } from './imports.js';
import { makeTransform } from './single-file.js';
import { isPromiseCombinatorCall, migrateTaskMembers } from './task-members.js';

export const meta: RuleMeta = {
  id: 'defer-result',
  description: 'Awaits defer() and run() where their result (now a Promise) is used, making the function and its known callers async; reports uses it cannot await; makes a used serialize() result a Buffer again.',
  reasonCodes: ['defer-result'],
  docs: 'docs/manual-steps.md#defer-result',
};

/** The call's result is used as a value (not discarded, awaited, returned or voided). */
export function isResultUsed(call: CallExpression): boolean {
  const outer = callValue(call);
  const parent = outer.getParent();
  return !(
    !parent ||
    Node.isExpressionStatement(parent) ||
    Node.isAwaitExpression(parent) ||
    Node.isReturnStatement(parent) ||
    Node.isVoidExpression(parent) ||
    (Node.isArrowFunction(parent) && parent.getBody() === outer)
  );
}


/** A value that a Promise can stand in for: discarded, awaited, returned on, or given to `Promise.all(...)`. */
function usedAsTask(node: CallExpression): boolean {
  if (!isResultUsed(node)) return false;
  const parent = outermost(node).getParent();
  const host = parent && Node.isArrayLiteralExpression(parent) ? outermost(parent).getParent() : parent;
  return !isPromiseCombinatorCall(host);
}

/**
 * Where a returned result (`return deferred.defer(...)`, `(n) => deferred.defer(...)`)
 * is used as a Task after all: the array a `map`/`flatMap` callback fills, or the
 * calls of the function that returns it, in this file or (exported) in another. The
 * legacy code read the Task there (`tasks.map((t) => t.name)`, `enqueue(2).name`); a
 * Promise has none of it. A call of the function gives the Task once awaited
 * (`awaitable`); an array of Promises does not. A string: why the callers of the
 * function are not all known.
 */
function returnedResultUses(analysis: Analysis, call: CallExpression, seen = new Set<Node>()): TaskUse[] | string | undefined {
  const outer = outermost(call);
  const parent = outer.getParent();
  let fn: Node | undefined;
  if (parent && Node.isReturnStatement(parent)) fn = parent.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a));
  else if (parent && Node.isArrowFunction(parent) && parent.getBody() === outer) fn = parent;
  if (!fn || seen.has(fn)) return undefined;
  seen.add(fn);
  // An async function returned a Promise of the task before the migration too.
  if (isFunctionLike(fn) && isAsync(fn)) return undefined;
  const fnOuter = outermost(fn);
  const holder = fnOuter.getParent();
  // ids.map((n) => deferred.defer(...)): the array holds what each call returned.
  if (holder && Node.isCallExpression(holder) && holder.getArguments()[0] === fnOuter) {
    const callee = holder.getExpression();
    if (Node.isPropertyAccessExpression(callee) && ['map', 'flatMap'].includes(callee.getName())) return usedAsTask(holder) ? [{ use: holder, why: ARRAY_OF_RESULTS }] : undefined;
    if (holder.getExpression() === fnOuter) return undefined;
  }
  // (() => deferred.defer(...))().name
  if (holder && Node.isCallExpression(holder) && holder.getExpression() === fnOuter) return usedAsTask(holder) ? [{ use: holder }] : undefined;
  const name = Node.isFunctionDeclaration(fn) ? fn.getNameNode() : holder && Node.isVariableDeclaration(holder) ? holder.getNameNode() : undefined;
  if (!name || !Node.isIdentifier(name)) return undefined;
  // Calls in this file of the same binding (by scope, without the checker).
  const references = sameScopeReferences(name);
  const uses: TaskUse[] = [];
  for (const reference of references) {
    const use = reference.getParent();
    if (use && Node.isCallExpression(use) && use.getExpression() === reference) uses.push(...(usedAsTask(use) ? [{ use }] : passedOn(analysis, use, seen)));
    else uses.push(...valueReference(analysis, reference));
  }
  // An exported function's callers in other files: found through the import graph by
  // the planner that awaits calls. The result of a call is what the caller reads.
  const exported = (Node.isFunctionDeclaration(fn) ? fn.hasExportKeyword() : (name.getFirstAncestorByKind(SyntaxKind.VariableStatement)?.hasExportKeyword() ?? false)) || references.some((ref) => isExportUse(ref));
  if (exported && isFunctionLike(fn)) {
    const callers = AsyncPlanner.of(analysis).findCallers(fn);
    if (!callers.ok) return callers.reason;
    for (const caller of callers.calls) {
      if (uses.some((u) => u.use === caller)) continue;
      uses.push(...(usedAsTask(caller) ? [{ use: caller }] : passedOn(analysis, caller, seen)));
    }
  }
  return uses.length > 0 ? uses : undefined;
}

/**
 * The awaited calls of a function that returns the task `call` gives (`return defer(...)`,
 * `return await defer(...)`, an arrow's body): a legacy async function resolved to the
 * legacy Task as well, and a migrated one (a second run) to the shim's. What its awaiting
 * callers read off the task is mapped or reported (task-members.ts). Calls not awaited
 * are left to returnedResultUses, which awaits them first.
 */
function awaitedCallersOfReturned(analysis: Analysis, call: CallExpression): CallExpression[] {
  let outer: Node = call;
  for (let parent = outer.getParent(); parent && (Node.isParenthesizedExpression(parent) || Node.isAwaitExpression(parent) || Node.isAsExpression(parent) || Node.isNonNullExpression(parent) || Node.isSatisfiesExpression(parent)); parent = outer.getParent()) outer = parent;
  const parent = outer.getParent();
  let fn: Node | undefined;
  if (parent && Node.isReturnStatement(parent)) fn = parent.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a));
  else if (parent && Node.isArrowFunction(parent) && parent.getBody() === outer) fn = parent;
  if (!fn || !isFunctionLike(fn)) return [];
  const holder = outermost(fn).getParent();
  const name = Node.isFunctionDeclaration(fn) ? fn.getNameNode() : holder && Node.isVariableDeclaration(holder) ? holder.getNameNode() : undefined;
  if (!name || !Node.isIdentifier(name)) return [];
  const calls = new Set<CallExpression>();
  for (const reference of sameScopeReferences(name)) {
    const use = reference.getParent();
    if (use && Node.isCallExpression(use) && use.getExpression() === reference) calls.add(use);
  }
  const exported = Node.isFunctionDeclaration(fn) ? fn.hasExportKeyword() : (name.getFirstAncestorByKind(SyntaxKind.VariableStatement)?.hasExportKeyword() ?? false);
  if (exported) {
    const callers = AsyncPlanner.of(analysis).findCallers(fn);
    if (callers.ok) for (const caller of callers.calls) calls.add(caller);
  }
  return [...calls].filter((caller) => {
    let at: Node = caller;
    while (Node.isParenthesizedExpression(at.getParent())) at = at.getParent()!;
    return Node.isAwaitExpression(at.getParent());
  });
}

/**
 * Where a returned task is read: a call whose result is the task (awaiting it gives the
 * task again), or, with `why`, a use the codemod cannot await.
 */
type TaskUse = { use: CallExpression; why?: string } | { use?: undefined; why: string };

const ARRAY_OF_RESULTS = 'it is an array of what each call returned';

/** Methods given a function whose result they ignore (a loop, a listener) or adopt as a promise's (a chain). */
const RESULT_IGNORED_OR_ADOPTED = new Set(['forEach', 'on', 'once', 'addListener', 'prependListener', 'prependOnceListener', 'addEventListener', 'then', 'catch', 'finally', 'nextTick']);
const TIMERS = new Set(['setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask']);

/**
 * A call of a function returning the task, whose result is returned on in turn
 * (`function again(id) { return enqueue(id) }`): the uses of that function's result,
 * where the legacy code read the task.
 */
function passedOn(analysis: Analysis, call: CallExpression, seen: Set<Node>): TaskUse[] {
  const found = returnedResultUses(analysis, call, seen);
  // The outer function's callers are not all known: where its result goes is not either.
  if (typeof found === 'string') return [{ use: call, why: `it is returned on from a function whose callers the codemod cannot all see (${found})` }];
  return found ?? [];
}

/**
 * A reference to a function returning the task, other than a call, that may read the
 * task: the function passed to a call (`ids.map(enqueue)`, `enqueue.call(...)`),
 * stored or assigned (`const make = enqueue`, `{ enqueue }`). Neither
 * `ids.forEach(enqueue)`, a listener, timer or route handler (which ignore the result), `.then(enqueue)`
 * (which adopts it), a type (`typeof enqueue`) nor an export.
 */
function valueReference(analysis: Analysis, reference: Node): TaskUse[] {
  const parent = reference.getParent();
  // A route handler's framework ignores what it returns.
  if (!parent || Node.isTypeQuery(parent) || isExportUse(reference) || routeCallbackOf(analysis, reference)) return [];
  const holder = outermost(reference).getParent() ?? parent;
  if (Node.isCallExpression(holder) && holder.getArguments().includes(outermost(reference) as never)) {
    const callee = holder.getExpression();
    // Hosts that ignore what the function returns, or adopt a returned promise (`.then(enqueue)` resolves to the task either way).
    if (Node.isPropertyAccessExpression(callee) && RESULT_IGNORED_OR_ADOPTED.has(callee.getName())) return [];
    if (Node.isIdentifier(callee) && TIMERS.has(callee.getText())) return [];
    if (Node.isPropertyAccessExpression(callee) && ['map', 'flatMap'].includes(callee.getName())) return usedAsTask(holder) ? [{ use: holder, why: ARRAY_OF_RESULTS }] : [];
  }
  return [{ why: `the function is used as a value at line ${reference.getStartLineNumber()} (\`${holder.getText().slice(0, 60)}\`), so the codemod cannot see what reads its result` }];
}

/** `export { enqueue }`, `export default enqueue`, `module.exports = { enqueue }`, `exports.enqueue = enqueue`. */
function isExportUse(ref: Node): boolean {
  const parent = ref.getParent();
  if (!parent) return false;
  if (Node.isExportSpecifier(parent) || Node.isExportAssignment(parent)) return true;
  return isCommonJsExportByName(ref, ref.getText()) || (Node.isPropertyAssignment(parent) && parent.getInitializer() === ref && isExportedObject(parent.getParentOrThrow()));
}

export const rule: Rule = {
  meta,
  run(analysis, out, shared) {
    // run(data) now returns a Promise of the function's result too (its failures reject).
    const runCalls = findPayloadCalls(analysis.symbols, analysis.candidates, 'run');
    const runs = new Set(runCalls);
    for (const deferCall of [...findDeferCalls(analysis.symbols, analysis.candidates), ...runCalls]) {
      const { record, call } = deferCall;
      // The task's members the shim's task lacks or names otherwise (legacy Task → EnqueuedTask).
      if (!runs.has(deferCall)) {
        migrateTaskMembers(out, record, call);
        for (const caller of awaitedCallersOfReturned(analysis, call)) {
          const callerRecord = analysis.candidates.find((candidate) => candidate.sourceFile === caller.getSourceFile());
          if (callerRecord) migrateTaskMembers(out, callerRecord, caller);
        }
      }
      if (!isResultUsed(call)) {
        const found = runs.has(deferCall) ? undefined : returnedResultUses(analysis, call);
        if (typeof found === 'string') {
          out.report(
            record,
            call,
            'defer-result',
            'warning',
            `defer() now returns a Promise of the task (name, queue, eta). This call's result is returned from an exported function whose callers the codemod cannot all see (${found}): any that reads it as the task now gets a Promise. Await the result where it is used, or use .then().`,
          );
        }
        for (const { use, why } of typeof found === 'object' ? found : []) {
          // The caller reads the task from the call: awaiting the call gives it the task again.
          const reason = why ?? awaitCall(analysis, use!, out, shared);
          if (reason === undefined) {
            // Awaited there, the caller reads the task: its legacy-only members as at the call.
            const useRecord = use && analysis.candidates.find((candidate) => candidate.sourceFile === use.getSourceFile());
            if (use && useRecord) migrateTaskMembers(out, useRecord, use);
            continue;
          }
          if (!use) {
            out.report(record, call, 'defer-result', 'warning', `defer() now returns a Promise of the task (name, queue, eta). This call's result is returned from a function whose callers may read it as the task, and ${reason}: any that reads it now gets a Promise. Await the result where it is used, or use .then().`);
            break;
          }
          const where = use.getSourceFile() === call.getSourceFile() ? `line ${use.getStartLineNumber()}` : `${path.relative(path.dirname(record.absPath), use.getSourceFile().getFilePath())}:${use.getStartLineNumber()}`;
          out.report(
            record,
            call,
            'defer-result',
            'warning',
            `defer() now returns a Promise of the task (name, queue, eta). This call's result is returned to code that uses it as the task (${where}: ${use.getText().slice(0, 60)}), which now gets a Promise and could not be awaited there: ${reason}. Await the result where it is used, or use .then().`,
          );
          break;
        }
        continue;
      }
      if (transactionalOption(deferCall)) {
        out.report(
          record,
          call,
          'defer-result',
          'warning',
          'defer() now returns a Promise of the task, and a _transactional one settles only after its deferred.transactional(work) resolves: awaiting it inside work is refused. Use the result after deferred.transactional(...) resolves, or with .then().',
        );
        continue;
      }
      const reason = awaitCall(analysis, call, out, shared);
      if (reason === undefined) continue;
      const what = runs.has(deferCall)
        ? "run() now returns a Promise of the function's result, and the function's errors (PermanentTaskFailure among them) reject it instead of being thrown."
        : 'defer() now returns a Promise of the task (name, queue, eta).';
      out.report(record, call, 'defer-result', 'warning', `${what} This code uses the result synchronously and the call could not be awaited: ${reason}. Await it in an async function, or use .then().`);
    }
    // serialize() now returns a Uint8Array where the legacy one returned a Buffer:
    // Buffer.from() gives the code the Buffer it used (toString('base64') and the like).
    for (const { record, call } of findPayloadCalls(analysis.symbols, analysis.candidates, 'serialize')) {
      if (!isResultUsed(call)) continue;
      // The bytes are the shim's envelope, not the legacy JSON text: only the shim's run() reads them alike.
      if (!onlyRun(analysis, record, call) && !toLegacyQueue(record, call)) out.report(record, call, 'defer-result', 'warning', PAYLOAD_TEXT_WHY);
      if (keepsPayloadBytes(analysis, record, call)) continue;
      out.edit(record, call.getStart(), call.getStart(), 'Buffer.from(', 'serialize() result made a Buffer');
      out.edit(record, call.getEnd(), call.getEnd(), ')', 'serialize() result made a Buffer');
    }
  },
};

const PAYLOAD_TEXT_WHY =
  'serialize() now writes the shim\'s payload envelope ({"v":1,"fn":...,"args":[...]}, arguments encoded with their types), not the legacy JSON text ({"fn":...,"args":[...]}). ' +
  'Only the shim\'s run() reads both alike: code reading these bytes otherwise (JSON.parse, a comparison or snapshot in a test, a hash or a stored copy, a service still on the legacy runtime) sees a different text. ' +
  'Check what reads it (the shim\'s run() also runs payloads in the legacy format).';

/** A payload handed to the legacy task queue in the same statement (`getLegacyQueue().add({ payload: serialize(...) })`): the verification reports that queue there. */
function toLegacyQueue(record: SourceRecord, call: CallExpression): boolean {
  const statement = call.getFirstAncestor((a) => Node.isStatement(a));
  return !!statement && taskqueueApiUses(record).some((use) => use.node.getFirstAncestor((a) => Node.isStatement(a)) === statement);
}

/** The payload only reaches the shim's `run()`: directly, or through a `const` every reference of which is `run()`'s argument. */
function onlyRun(analysis: Analysis, record: SourceRecord, call: CallExpression): boolean {
  const isRunArgument = (node: Node): boolean => {
    const outer = outermost(node);
    const parent = outer.getParent();
    return !!parent && Node.isCallExpression(parent) && parent.getArguments()[0] === outer && isMember(analysis.symbols.resolve(record, parent.getExpression()), ['run']);
  };
  // What the codemod writes around it (`Buffer.from(serialize(...))`, for the next run) is the payload too.
  let payload: Node = outermost(call);
  const wrapper = payload.getParent();
  if (wrapper && Node.isCallExpression(wrapper) && wrapper.getArguments()[0] === payload && wrapper.getExpression().getText().replace(/\s+/g, '') === 'Buffer.from') payload = wrapper;
  if (isRunArgument(payload)) return true;
  const holder = outermost(payload).getParent();
  if (!holder || !Node.isVariableDeclaration(holder) || holder.getVariableStatement()?.getDeclarationKind() !== 'const') return false;
  const name = holder.getNameNode();
  if (!Node.isIdentifier(name)) return false;
  const references = sameScopeReferences(name);
  return references.length > 0 && references.every(isRunArgument);
}

/** The payload goes straight into `Buffer.from(...)` or `run(...)`, which take a Uint8Array as they took a Buffer. */
function keepsPayloadBytes(analysis: Analysis, record: SourceRecord, call: CallExpression): boolean {
  let outer: Node = call;
  while (Node.isParenthesizedExpression(outer.getParent())) outer = outer.getParent()!;
  const parent = outer.getParent();
  if (!parent || !Node.isCallExpression(parent) || parent.getArguments()[0] !== outer) return false;
  const callee = parent.getExpression();
  if (callee.getText().replace(/\s+/g, '') === 'Buffer.from') return true;
  return isMember(analysis.symbols.resolve(record, callee), ['run']);
}

export default makeTransform(rule, addNeededImports);
