// `run(data)` runs whichever registered function a payload names, with the payload's
// arguments. Fed from a request (a hand-written task route: `app.post('/tasks/run',
// (req, res) => deferred.run(req.body))`), it is a remote entry point: on App Engine,
// `login: admin` in app.yaml and the platform's stripping of X-AppEngine-* headers
// guarded such a URL, and neither exists off it; the shim's Handler checks the request,
// run() cannot (it never sees the request). So every run() whose payload the codemod
// cannot see made in place (`run(serialize(fn, ...))`) is reported: where the payload
// comes from is not something the analysis resolves.
import { Node } from 'ts-morph';
import { findPayloadCalls } from '../analysis/defer-calls.js';
import type { Analysis } from '../analysis/index.js';
import { isMember, unwrap } from '../analysis/legacy-symbols.js';
import type { SourceRecord } from '../analysis/project.js';
import { isShadowed } from '../analysis/scope.js';
import type { RuleOutput } from './context.js';

/** `serialize(...)` of the legacy module or the shim (or its Buffer.from()), written as the argument or as a `const` of the same file it names. */
function madeInPlace(analysis: Analysis, record: SourceRecord, payload: Node): boolean {
  let value = unwrap(payload);
  if (Node.isIdentifier(value)) {
    const declarations = value.getSymbol()?.getDeclarations() ?? [];
    const [declaration] = declarations;
    if (declarations.length !== 1 || !declaration || !Node.isVariableDeclaration(declaration) || declaration.getSourceFile() !== record.sourceFile) return false;
    if (declaration.getVariableStatement()?.getDeclarationKind() !== 'const') return false;
    const initializer = declaration.getInitializer();
    if (!initializer) return false;
    value = unwrap(initializer);
  }
  // `Buffer.from(serialize(...))`: the codemod's own rewrite of a payload kept as a Buffer (defer-result).
  // The global Buffer only: a local `Buffer` may return anything.
  const callee = Node.isCallExpression(value) ? value.getExpression() : undefined;
  const bufferFrom = callee && Node.isPropertyAccessExpression(callee) && callee.getName() === 'from' && Node.isIdentifier(callee.getExpression()) && callee.getExpression().getText() === 'Buffer' && !isShadowed(callee.getExpression());
  if (bufferFrom && Node.isCallExpression(value) && value.getArguments().length === 1) value = unwrap(value.getArguments()[0]!);
  return Node.isCallExpression(value) && isMember(analysis.symbols.resolve(record, value.getExpression()), ['serialize']);
}

export function reportUncheckedPayloadRuns(analysis: Analysis, out: RuleOutput): void {
  for (const { record, call } of findPayloadCalls(analysis.symbols, analysis.candidates, 'run')) {
    const [payload] = call.getArguments();
    if (payload && madeInPlace(analysis, record, payload)) continue;
    out.report(
      record,
      call,
      'unchecked-task-payload',
      'warning',
      'run() runs whichever registered function the payload names, with its arguments, and cannot tell where the payload came from. If it can come from a request (a task route of your own), check first that the request comes from the queue: answer the route with new deferred.Handler().post(environFrom(req)), which refuses other requests with 403 and maps failures to statuses; on App Engine, login: admin in app.yaml guarded such a URL, and it does not apply off App Engine. If the payload is your own (a replay of stored payloads, a test), acknowledge this item.',
    );
  }
}
