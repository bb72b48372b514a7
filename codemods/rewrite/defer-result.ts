// Rule `defer-result`: the legacy defer() returned the task; the shim's returns a
// Promise of it. Where the result is used inside an async function the call is
// awaited; elsewhere the use is reported. Discarded, returned and awaited
// results need nothing.
import { Node, type ArrowFunction, type FunctionDeclaration, type FunctionExpression, type MethodDeclaration } from 'ts-morph';
import { findDeferCalls } from '../analysis/defer-calls.js';
import type { Rule, RuleMeta } from './context.js';
import { addNeededImports } from './imports.js';
import { makeTransform } from './single-file.js';

export const meta: RuleMeta = {
  id: 'defer-result',
  description: 'Awaits defer() where its result (now a Promise of the task) is used in an async function; reports other uses.',
  reasonCodes: ['defer-result'],
  docs: 'docs/manual-steps.md#defer-result',
};

type FunctionLike = FunctionDeclaration | FunctionExpression | ArrowFunction | MethodDeclaration;

function enclosingFunction(node: Node): FunctionLike | undefined {
  return node.getFirstAncestor(
    (a): a is FunctionLike => Node.isFunctionDeclaration(a) || Node.isFunctionExpression(a) || Node.isArrowFunction(a) || Node.isMethodDeclaration(a),
  );
}

export const rule: Rule = {
  meta,
  run(analysis, out) {
    for (const { record, call } of findDeferCalls(analysis.symbols, analysis.candidates)) {
      let outer: Node = call;
      while (Node.isParenthesizedExpression(outer.getParent())) outer = outer.getParent()!;
      const parent = outer.getParent();
      if (
        !parent ||
        Node.isExpressionStatement(parent) ||
        Node.isAwaitExpression(parent) ||
        Node.isReturnStatement(parent) ||
        Node.isVoidExpression(parent) ||
        (Node.isArrowFunction(parent) && parent.getBody() === outer)
      ) {
        continue;
      }
      const fn = enclosingFunction(call);
      if (fn?.isAsync()) {
        const operand = Node.isPropertyAccessExpression(parent) || Node.isElementAccessExpression(parent) || Node.isCallExpression(parent);
        out.edit(record, call.getStart(), call.getStart(), operand ? '(await ' : 'await ', 'await the task defer() now returns as a Promise');
        if (operand) out.edit(record, call.getEnd(), call.getEnd(), ')', 'await the task defer() now returns as a Promise');
        continue;
      }
      out.report(
        record,
        call,
        'defer-result',
        'warning',
        'defer() now returns a Promise of the task (name, queue, eta). This code uses the result synchronously: await it (make the function async) or use .then().',
      );
    }
  },
};

export default makeTransform(rule, addNeededImports);
