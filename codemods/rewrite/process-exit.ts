// Rule `process-exit`: the legacy defer() had stored its task when it returned and
// run(data) had run the function; the shim's complete on a later tick. So a call that
// nobody awaits and after which the process ends (`defer(a); process.exit(0)` in a
// script, a timer or a caller: process-ends.ts) loses the task (the embedded queue still
// stores it from its 'exit' listener on process.exit(), not on process.abort() or a
// fatal signal; Cloud Tasks cannot, and the shim logs it) or never runs the function.
// The call is awaited, its function made async and its known callers awaited up to the
// end (async-plan.ts; a timer or server callback may become async, and a CommonJS
// module's last statement may stay unawaited); where that is impossible it is reported.
import * as path from 'node:path';
import type { Node } from 'ts-morph';
import { findDeferCalls, findPayloadCalls } from '../analysis/defer-calls.js';
import type { SourceRecord } from '../analysis/project.js';
import { awaitCall, isAwaited, returnedFromAsync, type PlanEnds } from './async-plan.js';
import type { Rule, RuleMeta } from './context.js';
import { transactionalOption } from './defer-options.js';
import { addNeededImports } from './imports.js';
import { ProcessEnds, type ProcessEnd } from './process-ends.js';
import { makeTransform } from './single-file.js';

export const meta: RuleMeta = {
  id: 'process-exit',
  description:
    'Awaits defer() and run() calls after which the process ends (process.exit(), process.abort(), process.reallyExit(), process.kill(process.pid)) before the enqueue or the function completes, making functions and known callers async; reports the calls it cannot await.',
  reasonCodes: ['process-exit'],
  docs: 'docs/manual-steps.md#process-exit',
};

/** A timer's or server's callback may become async, and a CommonJS module's last statement stay unawaited (see PlanEnds). */
const ENDS: PlanEnds = { eventLoop: true, commonJsTail: true };

function where(record: SourceRecord, node: Node): string {
  const file = node.getSourceFile().getFilePath();
  const at = file === record.absPath ? '' : `${path.relative(path.dirname(record.absPath), file)}:`;
  return `${at || 'line '}${node.getStartLineNumber()}`;
}

export const rule: Rule = {
  meta,
  run(analysis, out, shared) {
    const ends = ProcessEnds.of(analysis);
    const runCalls = findPayloadCalls(analysis.symbols, analysis.candidates, 'run');
    const runs = new Set(runCalls);
    for (const deferCall of [...findDeferCalls(analysis.symbols, analysis.candidates), ...runCalls]) {
      const { record, call } = deferCall;
      // A `_transactional` call is enqueued when its scope commits: defer-options reports it.
      if (transactionalOption(deferCall)) continue;
      if (isAwaited(call)) continue;
      const found = ends.endsAfter(call);
      if (found.length === 0) continue;
      // `return defer()` in an async function: its promise is the function's; its callers are the points.
      let reason = returnedFromAsync(call) ? undefined : awaitCall(analysis, call, out, shared, ENDS);
      let blocked: ProcessEnd = found[0]!.end;
      for (const { at, end } of found) {
        if (reason !== undefined) break;
        if (at === call || isAwaited(at)) continue;
        const why = awaitCall(analysis, at, out, shared, ENDS);
        if (why !== undefined) {
          reason = `the call at ${where(record, at)}, after which ${end.what} runs: ${why}`;
          blocked = end;
        }
      }
      if (reason === undefined) continue;
      const callName = runs.has(deferCall) ? 'run()' : 'defer()';
      const lost =
        callName === 'run()'
          ? 'the shim\'s run() calls the function on a later tick, so it does not run at all'
          : 'the shim\'s defer() stores it on a later tick (Cloud Tasks: after a network call), so the task is lost: the embedded queue still stores it from its exit listener after process.exit() (not after process.abort(), process.reallyExit() or a fatal signal); Cloud Tasks cannot, and the shim logs the lost task at exit';
      out.report(
        record,
        call,
        'process-exit',
        'warning',
        `${callName} is not awaited, and ${blocked.what} at ${where(record, blocked.node)} ends the process after it: the legacy ${callName} had finished when it returned, ${lost}. ` +
          `The call could not be awaited: ${reason}. Await it before the process ends (in an async function whose callers await it in turn), or end the process in .then() of the call.`,
      );
    }
  },
};

export default makeTransform(rule, addNeededImports);
