// What reaches a parameter: `function later(fn, x, opts) { defer(fn, x, opts) }`
// enqueues what each caller of `later` passes in place of `fn` (and `opts`).
// The callers are the planner's (`findCallers`): every call in the run, or the
// reason not every one is known. A value forwarded again through a caller's own
// parameter is followed by asking again, with the chain so far (`via`).
import { Node, type Identifier } from 'ts-morph';
import type { Analysis } from '../analysis/index.js';
import type { SourceRecord } from '../analysis/project.js';
import { declaringScope, isReassigned } from '../analysis/scope.js';
import { AsyncPlanner } from './async-plan.js';
import { isFunctionLike, nameOf, type FunctionLike } from './function-like.js';

/** A parameter a value came through: `fn` of `later(fn, ...args)`. */
export interface Forwarded {
  fn: FunctionLike;
  parameter: string;
}

/** What one caller passes in the parameter's place (its default when it passes nothing). */
export interface ForwardedArgument {
  record: SourceRecord;
  value: Node;
  via: readonly Forwarded[];
}

export type ForwardedArguments =
  | { ok: true; values: ForwardedArgument[]; spreads: ForwardedArgument[] }
  /** `reason` follows "a parameter of <fn>, ". */
  | { ok: false; fn: FunctionLike; reason: string };

/** Wrappers of wrappers are followed this deep. */
const MAX_FORWARDING = 8;

/** "Passed on to defer() through the parameter `fn` of `later`: " for a value that came through parameters. */
export function forwardedBy(via: readonly Forwarded[]): string {
  if (via.length === 0) return '';
  return `Passed on to defer() through ${via.map((step) => `the parameter \`${step.parameter}\` of ${nameOf(step.fn)}`).join(', then ')}: `;
}

/**
 * `identifier` is a plain parameter of the function that declares it, never
 * assigned again: what it holds is what each caller passes in its place.
 */
export function forwardingParameter(identifier: Identifier): { fn: FunctionLike; index: number; name: string; initializer?: Node } | undefined {
  const name = identifier.getText();
  const scope = declaringScope(identifier, name);
  if (!scope || !isFunctionLike(scope)) return undefined;
  const parameters = scope.getParameters();
  const index = parameters.findIndex((p) => Node.isIdentifier(p.getNameNode()) && p.getName() === name);
  const parameter = parameters[index];
  if (!parameter || parameter.isRestParameter() || isReassigned(parameter.getNameNode() as Identifier)) return undefined;
  const initializer = parameter.getInitializer();
  return initializer ? { fn: scope, index, name, initializer } : { fn: scope, index, name };
}

/**
 * The values callers pass for the parameter `identifier` (undefined when it is
 * not a forwarding parameter): a spread argument in its place is listed apart.
 */
export function forwardedArguments(analysis: Analysis, record: SourceRecord, identifier: Identifier, via: readonly Forwarded[]): ForwardedArguments | undefined {
  const parameter = forwardingParameter(identifier);
  if (!parameter) return undefined;
  if (via.some((step) => step.fn === parameter.fn) || via.length >= MAX_FORWARDING) {
    return { ok: false, fn: parameter.fn, reason: 'passed on through too many calls' };
  }
  const callers = AsyncPlanner.of(analysis).findCallers(parameter.fn);
  if (!callers.ok) return { ok: false, fn: parameter.fn, reason: `whose callers are not all known (${callers.reason})` };
  const through = [{ fn: parameter.fn, parameter: parameter.name }, ...via];
  const values: ForwardedArgument[] = [];
  const spreads: ForwardedArgument[] = [];
  for (const call of callers.calls) {
    const callerRecord = analysis.index.load(call.getSourceFile().getFilePath());
    if (!callerRecord) continue;
    const args = call.getArguments();
    const spread = args.findIndex((arg) => Node.isSpreadElement(arg));
    if (spread >= 0 && spread <= parameter.index) {
      spreads.push({ record: callerRecord, value: args[spread]!, via: through });
      continue;
    }
    // No argument: the parameter's default (else undefined, the same before and after the migration).
    const arg = args[parameter.index];
    if (arg) values.push({ record: callerRecord, value: arg, via: through });
    else if (parameter.initializer) values.push({ record, value: parameter.initializer, via: through });
  }
  return { ok: true, values, spreads };
}
