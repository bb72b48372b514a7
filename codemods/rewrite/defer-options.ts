// Rule `defer-options`: options that behave differently on the new backends are
// reported (the call itself stays as it is).
import { Node } from 'ts-morph';
import { findDeferCalls, optionProperty } from '../analysis/defer-calls.js';
import type { Rule, RuleMeta } from './context.js';
import { addNeededImports } from './imports.js';
import { makeTransform } from './single-file.js';

export const meta: RuleMeta = {
  id: 'defer-options',
  description: 'Reports defer() options whose behaviour differs on Cloud Tasks: _transactional and _target.',
  reasonCodes: ['transactional-enqueue', 'target-routing'],
  docs: 'docs/manual-steps.md#transactional-enqueue',
};

function isFalse(node: Node): boolean {
  if (!Node.isPropertyAssignment(node)) return false;
  const value = node.getInitializer();
  return !!value && (value.getText() === 'false' || value.getText() === 'undefined' || value.getText() === 'null');
}

export const rule: Rule = {
  meta,
  run(analysis, out) {
    for (const call of findDeferCalls(analysis.symbols, analysis.candidates)) {
      if (!call.options) continue;
      const transactional = optionProperty(call.options, '_transactional');
      if (transactional && !isFalse(transactional)) {
        out.report(
          call.record,
          transactional,
          'transactional-enqueue',
          'warning',
          'Transactional enqueue (_transactional) has no equivalent on Cloud Tasks: the task is enqueued even if the surrounding transaction rolls back. Enqueue after the commit, or make the task idempotent.',
        );
      }
      const target = optionProperty(call.options, '_target');
      if (target) {
        out.report(
          call.record,
          target,
          'target-routing',
          'warning',
          '_target routes the task to another service/version; on Cloud Tasks routing is set per queue or per task with an App Engine routing override. Check the target still exists and is reachable.',
        );
      }
    }
  },
};

export default makeTransform(rule, addNeededImports);
