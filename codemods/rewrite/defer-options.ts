// Rule `defer-options`: options that behave differently on the new backends are
// reported (the call itself stays as it is).
import { Node, SyntaxKind, type Identifier, type ObjectLiteralExpression } from 'ts-morph';
import { constOptions, findDeferCalls, isOptionsLiteral, optionProperty, unwrapFrozen, type DeferCall } from '../analysis/defer-calls.js';
import type { Analysis } from '../analysis/index.js';
import type { SourceRecord } from '../analysis/project.js';
import type { Rule, RuleMeta, RuleOutput } from './context.js';
import { forwardedArguments, forwardedBy, type Forwarded } from './forwarded-arguments.js';
import { addNeededImports } from './imports.js';
import { makeTransform } from './single-file.js';

export const meta: RuleMeta = {
  id: 'defer-options',
  description: 'Reports defer() options whose behaviour differs on the new backends: _transactional and _target.',
  reasonCodes: ['transactional-enqueue', 'target-routing'],
  docs: 'docs/manual-steps.md#transactional-enqueue',
};

function isFalse(node: Node): boolean {
  if (!Node.isPropertyAssignment(node)) return false;
  const value = node.getInitializer();
  return !!value && (value.getText() === 'false' || value.getText() === 'undefined' || value.getText() === 'null');
}

/**
 * The `_transactional` option of a call, unless it is literally off. Such a call
 * is never awaited by the codemod: inside `deferred.transactional(work)` its
 * promise settles only after work resolves, so awaiting it there is refused.
 */
export function transactionalOption(call: DeferCall): Node | undefined {
  const option = call.options && optionProperty(call.options, '_transactional');
  return option && !isFalse(option) ? option : undefined;
}

const TARGET_MESSAGE =
  '_target routes the task to another service/version; on Cloud Tasks routing is set per queue or per task with an App Engine routing override. Check the target still exists and is reachable.';

/**
 * `function later(fn, x, opts) { return defer(fn, x, opts) }`: the options each
 * caller passes in place of `opts` (an options literal or a const holding one),
 * followed through wrappers of wrappers. Other values are arguments to the legacy
 * API as well as to the shim (options are told apart at run time, alike).
 */
function forwardedOptions(analysis: Analysis, record: SourceRecord, last: Identifier, via: readonly Forwarded[], found: Array<{ record: SourceRecord; at: Node; options: ObjectLiteralExpression; via: readonly Forwarded[] }>): void {
  const passed = forwardedArguments(analysis, record, last, via);
  if (!passed?.ok) return;
  for (const { record: caller, value, via: through } of passed.values) {
    const inner = unwrapFrozen(value);
    const options = isOptionsLiteral(inner) ? inner : constOptions(value);
    if (options && isOptionsLiteral(options)) found.push({ record: caller, at: value, options, via: through });
    else if (Node.isIdentifier(inner)) forwardedOptions(analysis, caller, inner as Identifier, through, found);
  }
}

function reportForwardedOptions(analysis: Analysis, out: RuleOutput, call: DeferCall): void {
  const args = call.call.getArguments();
  const last = args.length > 1 ? unwrapFrozen(args[args.length - 1]!) : undefined;
  if (!last || !Node.isIdentifier(last)) return;
  const found: Array<{ record: SourceRecord; at: Node; options: ObjectLiteralExpression; via: readonly Forwarded[] }> = [];
  forwardedOptions(analysis, call.record, last as Identifier, [], found);
  for (const { record, at, options, via } of found) {
    const transactional = optionProperty(options, '_transactional');
    if (transactional && !isFalse(transactional)) out.report(record, at, 'transactional-enqueue', 'warning', `${forwardedBy(via)}${TRANSACTIONAL_MESSAGE}`);
    const target = optionProperty(options, '_target');
    if (target && !isAbsentOption(target)) out.report(record, at, 'target-routing', 'warning', `${forwardedBy(via)}${TARGET_MESSAGE}`);
  }
}

function isWithin(node: Node, outer: Node): boolean {
  return node.getStart() >= outer.getStart() && node.getEnd() <= outer.getEnd();
}

export const TRANSACTIONAL_MESSAGE =
  '_transactional: true rejects after migration unless the call runs inside deferred.transactional(work) (TransactionalNotSupportedError): no backend enqueues inside your database transaction. ' +
  'Either (1) run the transaction and this call inside `await deferred.transactional(async () => { ...commit...; defer(fn, ..., { _transactional: true }); })`: the task is enqueued once work resolves and dropped if work throws ' +
  '(do not await this defer inside work; errors surface from deferred.transactional; a crash between commit and enqueue loses the task), ' +
  'or (2) drop _transactional and defer after the commit succeeds, with a task that is idempotent.';

export const rule: Rule = {
  meta,
  run(analysis, out) {
    for (const call of findDeferCalls(analysis.symbols, analysis.candidates)) {
      if (call.unreadOptions) {
        // `{ ...fromElsewhere, _name }`, `defer(fn, ...args)`: what it holds is not known, so not judged harmless.
        out.report(
          call.record,
          call.unreadOptions,
          'transactional-enqueue',
          'warning',
          `These defer() options come from a value the codemod cannot read (${call.unreadOptions.getText().slice(0, 60)}): if it sets _transactional, the call now rejects outside deferred.transactional(work) and must not be awaited there; if it sets _target, routing changes on Cloud Tasks. Check what it holds, or write the options at the call.`,
        );
      }
      if (!call.options) {
        if (!call.unreadOptions) reportForwardedOptions(analysis, out, call);
        continue;
      }
      // An option written elsewhere (a const's literal, a spread of one) is reported at the call.
      const at = (option: Node): Node => (call.optionsArgument || !isWithin(option, call.call) ? (call.optionsArgument ?? call.options!) : option);
      const transactional = transactionalOption(call);
      if (transactional) out.report(call.record, at(transactional), 'transactional-enqueue', 'warning', TRANSACTIONAL_MESSAGE);
      const target = optionProperty(call.options, '_target');
      if (target && !isAbsentOption(target)) {
        out.report(call.record, at(target), 'target-routing', 'warning', TARGET_MESSAGE);
      }
    }
  },
};

export default makeTransform(rule, addNeededImports);

/** `_target: null` / `_target: undefined`: no target, for the legacy defer() and the shim alike (Python's None default). */
function isAbsentOption(property: Node): boolean {
  if (!Node.isPropertyAssignment(property)) return false;
  const value = property.getInitializer();
  return !!value && (value.getKind() === SyntaxKind.NullKeyword || (Node.isIdentifier(value) && value.getText() === 'undefined'));
}
