// Rule `sync-error-handling`: the legacy defer() threw synchronously (a duplicate
// `_name`, a failed enqueue); the shim's rejects. A call whose throw was handled (a
// try/catch/finally around it, in its function or in a known caller, the promise of
// an async function it ran in, or the error handling of the framework whose route
// handler it runs in) is awaited,
// with its function made async and callers updated (async-plan.ts decides); where
// that is impossible the call is reported. Calls whose result is used are
// `defer-result`'s: awaiting them restores the error path too. `_transactional`
// calls are `defer-options`' (they must not be awaited inside their scope).
// A catch clause that the error reaches and that tests its text (the legacy
// message, a legacy class name the shim lacks) is reported: see caught-error-tests.ts.
import { findDeferCalls, findPayloadCalls } from '../analysis/defer-calls.js';
import { AsyncPlanner, awaitCall, isAwaited, returnedFromAsync } from './async-plan.js';
import { findCaughtErrorTests } from './caught-error-tests.js';
import type { CallExpression } from 'ts-morph';
import type { SourceRecord } from '../analysis/project.js';
import type { Rule, RuleMeta, RuleOutput } from './context.js';
import { transactionalOption } from './defer-options.js';
import { isResultUsed } from './defer-result.js';
import { addNeededImports } from './imports.js';
import { makeTransform } from './single-file.js';
import { moveTaskqueueErrorImports } from './taskqueue-errors.js';

export const meta: RuleMeta = {
  id: 'sync-error-handling',
  description: 'Awaits defer() and run() calls whose synchronous throw a try/catch/finally or a route framework handled (making functions and known callers async); reports the calls it cannot, and the tests of the legacy error text in the catch clauses their error reaches.',
  reasonCodes: ['sync-error-handling', 'legacy-error-text'],
  docs: 'docs/manual-steps.md#sync-error-handling',
};

/** An earlier rule's edits await `call`. */
function awaitedEarlier(shared: RuleOutput, record: SourceRecord, call: CallExpression): boolean {
  return !!shared.edits.get(record.absPath)?.some((edit) => edit.start === call.getStart() && edit.end === edit.start && /^\(?await $/.test(edit.text));
}

export const rule: Rule = {
  meta,
  run(analysis, out, shared) {
    const planner = AsyncPlanner.of(analysis);
    // run(data) threw the function's error (PermanentTaskFailure...); the shim's rejects too.
    const runCalls = findPayloadCalls(analysis.symbols, analysis.candidates, 'run');
    const runs = new Set(runCalls);
    for (const deferCall of [...findDeferCalls(analysis.symbols, analysis.candidates), ...runCalls]) {
      const { record, call } = deferCall;
      const callName = runs.has(deferCall) ? 'run()' : 'defer()';
      if (isAwaited(call) || isResultUsed(call) || transactionalOption(deferCall) || returnedFromAsync(call)) continue;
      if (!planner.throwReachesHandler(call)) {
        const unseen = planner.unseenThrowPath(call);
        if (unseen) out.report(record, call, 'sync-error-handling', 'warning', `${callName} now rejects where it used to throw, and where its throw went is not known: ${unseen}. Code that handled it there (a try/catch, an async function, a job queue or retry library) now misses it, and what followed the call now runs after a failure. Await the call in an async function whose callers await it in turn, or handle the rejection with .catch().`);
        continue;
      }
      // In a sync callback (forEach, a call the codemod cannot follow) awaiting is no option: say what changes.
      const lost = planner.callbackLoss(call, callName);
      if (lost) {
        out.report(record, call, 'sync-error-handling', 'warning', lost);
        continue;
      }
      const reason = awaitCall(analysis, call, out, shared);
      // The process-exit rule, which runs first, may end a plan where this one cannot (a CommonJS module's last statement).
      if (reason === undefined || awaitedEarlier(shared, record, call)) continue;
      const what = runs.has(deferCall)
        ? "run() now rejects where it used to throw (the function's errors, PermanentTaskFailure among them), so what handled them (a try/catch/finally here or in a caller, the promise of an async function it ran in, or a framework's error handling around a route handler) misses them"
        : "defer() now rejects where it used to throw, so what handled its error (a try/catch/finally here or in a caller, the promise of an async function it ran in, or a framework's error handling around a route handler) misses it";
      out.report(
        record,
        call,
        'sync-error-handling',
        'warning',
        `${what}, and the call could not be awaited: ${reason}. Await the call in an async function whose callers await it in turn, or handle the rejection with .catch() where the error was handled.`,
      );
    }
    for (const test of findCaughtErrorTests(analysis)) out.report(test.record, test.node, 'legacy-error-text', 'warning', test.message);
    // `error instanceof TaskAlreadyExistsError` of the legacy taskqueue module: the shim's class, where sound.
    moveTaskqueueErrorImports(analysis, out);
  },
};

export default makeTransform(rule, addNeededImports);
