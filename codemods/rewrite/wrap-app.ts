// Rule `wrap-app`: when the repository relied on the built-in endpoint, each host
// app is wrapped once: around its creating expression for framework apps (later
// routes register through the wrapped app), around the listener for node:http.
// A Handler subclass that a route table served at the built-in URL goes into
// wrapApp's `handler` option, since wrapApp answers that URL before the app's routes.
// A task route of the app's own, running payloads with run(), is reported: nothing
// checks that its requests come from the queue (task-payload-runs.ts).
import { Node, type CallExpression } from 'ts-morph';
import { deliveryConflict, sharedQueueApps } from '../analysis/delivery-target.js';
import { repeatedCreation } from './app-factories.js';
import type { HostApp } from '../analysis/host-app.js';
import type { Analysis } from '../analysis/index.js';
import { findUnrecognisedServers, isTestFile, onlyTestApps } from '../analysis/unrecognised-servers.js';
import { wrapPlan, type DefaultUrlHandler, type WrapPlan } from '../analysis/wrap-plan.js';
import type { Rule, RuleMeta, RuleOutput } from './context.js';
import { addNeededImports } from './imports.js';
import { useShimName } from './names.js';
import { indentAt } from './text.js';
import { defaultUrlHandlerName, instantiate, isMemberChain, uniqueName } from './route-table.js';
import { makeTransform } from './single-file.js';
import { reportUncheckedPayloadRuns } from './task-payload-runs.js';

export const meta: RuleMeta = {
  id: 'wrap-app',
  description: 'Adds wrapApp(app, { useDeferred: true }) once per host app when tasks use /_ah/queue/deferred.',
  reasonCodes: ['unknown-framework', 'default-url-handler', 'unchecked-task-payload', 'delivery-target'],
  docs: 'docs/manual-steps.md#unknown-framework',
};

export const WRAP_OPTIONS = '{ useDeferred: true }';

/** wrapApp's options for a host whose built-in URL a Handler subclass answered: one instance per task, as webapp's router made. */
function wrapOptions(handler: string | undefined): string {
  return handler ? `{ useDeferred: true, handler: { post: (environ) => ${instantiate(handler)}.post(environ) } }` : WRAP_OPTIONS;
}

/** The statement of its block (or the file) that holds `node`. */
function statementOf(node: Node): Node | undefined {
  let current: Node = node;
  for (let parent = current.getParent(); parent; parent = current.getParent()) {
    if (Node.isBlock(parent) || Node.isSourceFile(parent)) return current;
    current = parent;
  }
  return undefined;
}

/**
 * `factory(...)` can run just before `statement`: its callee is a function declaration,
 * an import, or a variable declared before the statement in the same file.
 */
function evaluableBefore(call: CallExpression, statement: Node): boolean {
  const callee = call.getExpression();
  if (!Node.isIdentifier(callee) || call.getArguments().some((arg) => !Node.isLiteralExpression(arg))) return false;
  const declarations = callee.getSymbol()?.getDeclarations() ?? [];
  return (
    declarations.length > 0 &&
    declarations.every(
      (d) =>
        Node.isFunctionDeclaration(d) ||
        Node.isImportSpecifier(d) ||
        Node.isImportClause(d) ||
        (Node.isVariableDeclaration(d) && d.getSourceFile() === statement.getSourceFile() && d.getEnd() <= statement.getStart()),
    )
  );
}

function reportDefaultUrlHandler(out: RuleOutput, entry: DefaultUrlHandler, problem: string): void {
  const name = entry.row.handler.getText();
  out.report(
    entry.table.record,
    entry.row.handler,
    'default-url-handler',
    'warning',
    `${name} answered /_ah/queue/deferred in this table; wrapApp answers that URL itself with a plain Handler, so ${name}'s overrides no longer run: ${problem}. Give it to wrapApp where the app is wrapped: wrapApp(app, { useDeferred: true, handler: { post: (environ) => new ${name}().post(environ) } }).`,
  );
}

/** What wrapApp goes (or went) around: the listener of node:http, else the app's creation. */
function wrapTarget(host: HostApp): Node {
  return host.framework === 'node' && host.listener ? host.listener : (host.served ?? host.create);
}

/**
 * An app as messages name it: its variable and file (`api in src/app.ts`), stable under
 * the edits (a line number would name the migrated text in the marker the engine writes).
 */
function appName(host: HostApp): string {
  const name = host.variable?.getName();
  return name ? `${name} in ${host.record.rel}` : `the ${host.framework} app in ${host.record.rel}`;
}

/** Several apps receive deliveries while tasks go to custom URLs or one app has a handler of its own (delivery-target.ts): each is reported. */
function reportDeliveryConflict(analysis: Analysis, out: RuleOutput): void {
  const conflict = deliveryConflict(analysis, wrapPlan(analysis), (host) => repeatedCreation(analysis, host));
  if (!conflict) return;
  const where = conflict.apps.map(appName).join(', ');
  const urls = conflict.urls.slice(0, 3).join(', ') + (conflict.urls.length > 3 ? ', ...' : '');
  const why = [
    ...(conflict.urls.length > 0 ? [`tasks go to custom URLs (${urls}), which run through that app's routes: a sub-app mounted under a prefix or a second server answers them 404, and the task is retried for ever`] : []),
    ...(conflict.handlers.length > 0 ? [`the built-in URL has a handler of its own on ${conflict.handlers.map(appName).join(', ')}, which runs only when its app is that one: elsewhere the task runs without its overrides`] : []),
  ].join('; and ');
  const made = [...conflict.repeated].map(([host, r]) =>
    r.unknown !== undefined
      ? `${appName(host)} is made anew each time ${r.factory} runs, and not every call of it is known (${r.unknown}): if the serving code runs it more than once, each run makes another app`
      : `${appName(host)} is made anew each time ${r.factory} runs, which the serving code does more than once (${r.calls.slice(0, 4).join(', ')}${r.calls.length > 4 ? ', ...' : ''})`,
  );
  const count =
    conflict.apps.length === 1
      ? `${made.join('; ')}, and each app made is wrapped with wrapApp`
      : `${conflict.apps.length} apps are wrapped with wrapApp (${where})${made.length > 0 ? ` (${made.join('; ')})` : ''}`;
  for (const host of conflict.apps) {
    out.report(
      host.record,
      wrapTarget(host),
      'delivery-target',
      'warning',
      `${count}, and the embedded queue delivers every task to the one wrapApp ran on last: ${why}. Give each app that should not receive the tasks { useDeferred: true, deliver: false }${conflict.repeated.size > 0 ? ' (from the factory\'s arguments, e.g. deliver: opts.tasks, when the apps it makes differ)' : ''}.`,
    );
  }
}

/** A list a message can hold: a tree of many services names three apps and counts the rest. */
function namedFew(apps: HostApp[]): string {
  return apps.length <= 4 ? apps.map(appName).join(', ') : `${apps.slice(0, 3).map(appName).join(', ')} and ${apps.length - 3} more`;
}

/** Apps wrapped in separate processes of one package (delivery-target.ts, `sharedQueueApps`): each is reported. */
function reportSharedQueue(analysis: Analysis, out: RuleOutput): void {
  for (const [host, others] of sharedQueueApps(analysis, wrapPlan(analysis))) {
    out.report(
      host.record,
      wrapTarget(host),
      'delivery-target',
      'warning',
      `${appName(host)} and ${namedFew(others)} are wrapped with wrapApp in separate processes (no module of the run loads both). Each opens the embedded queue in the same directory (.deferred under its working directory unless its code sets another; these set none or the same one): started from one directory they share it, and each process claims and runs whichever due task comes first, through its own app and the functions it registered. A task whose function only the other process registers fails there permanently (PermanentTaskFailure) and is not run again; one for a custom URL its app does not serve is answered 404 and retried. Give each process its own queue directory (DEFERRED_DATA_DIR, or configure({ dataDir })), or wrap the apps that should run no tasks with { useDeferred: true, deliver: false }.`,
    );
  }
}

/**
 * Apps were found and wrapped, but the one that serves may be another (unrecognised-servers.ts):
 * a server the finder does not recognise, or apps found in test files only.
 */
function reportUnwrappedServers(analysis: Analysis, out: RuleOutput, apps: readonly HostApp[], reason: WrapPlan['reason']): void {
  const where = apps.map(appName).join(', ');
  for (const server of findUnrecognisedServers(analysis)) {
    out.report(
      server.record,
      server.node,
      'unknown-framework',
      'warning',
      `A server the codemod does not recognise is created here (${server.what}), and only other apps were wrapped with wrapApp (${where}). If this one serves the app, its requests to /_ah/queue/deferred are not answered (the embedded queue waits for a wrapApp in its process): wrap its app or request listener with wrapApp(app, { useDeferred: true }).`,
    );
  }
  if (reason && 'record' in reason && !isTestFile(reason.record.rel) && onlyTestApps(apps)) {
    out.report(
      reason.record,
      reason.node,
      'unknown-framework',
      'warning',
      `Tasks are sent to /_ah/queue/deferred, but the only host apps found are in test files (${where}), which the serving process does not load: the app that serves was not recognised. Wrap it with wrapApp(app, { useDeferred: true }) where it is created.`,
    );
  }
}

export const rule: Rule = {
  meta,
  run(analysis, out, shared) {
    reportUncheckedPayloadRuns(analysis, out);
    reportDeliveryConflict(analysis, out);
    reportSharedQueue(analysis, out);
    const plan = wrapPlan(analysis);
    if (!plan.needed) return;
    const problems = new Map(plan.defaultUrlHandlers.flatMap((e) => (e.problem ? [[e, e.problem] as const] : [])));
    for (const host of plan.toWrap) {
      if (host.framework === 'node' && !host.listener) continue;
      const target = wrapTarget(host);
      const wrapApp = useShimName(analysis, out, host.record, 'wrapApp');
      const entry = plan.defaultUrlHandlers.find((e) => e.host === host && !e.problem);
      const handler = entry && defaultUrlHandlerName(analysis, out, entry, shared.removedSpans.get(host.record.absPath));
      if (entry && handler === undefined) problems.set(entry, `${entry.row.handler.getText()} cannot be imported in ${host.record.rel} (not an exported class)`);
      // The table called a factory row's factory once: so does a const beside the app.
      let option = handler;
      if (entry && handler !== undefined && !isMemberChain(handler)) {
        const before = entry.table.record === host.record ? statementOf(host.create) : undefined;
        if (before && Node.isCallExpression(entry.row.handler) && evaluableBefore(entry.row.handler, before)) {
          option = uniqueName(host.record, 'DeferredTaskHandler');
          const indent = indentAt(host.record.text, before.getStart());
          out.edit(host.record, before.getStart(), before.getStart(), `const ${option} = ${handler}${host.record.style.semi ? ';' : ''}${host.record.style.newline}${indent}`, `the class ${handler} made once, as the table did`);
        } else {
          out.report(
            entry.table.record,
            entry.row.handler,
            'default-url-handler',
            'warning',
            `${handler} answered /_ah/queue/deferred in this table, which called it once; wrapApp's handler now calls it for every task (its side effects, and the static state of the class it returns, are per delivery). Hold the class in a const where the app is created (const DeferredHandler = ${handler}) and give wrapApp { post: (environ) => new DeferredHandler().post(environ) }.`,
          );
        }
      }
      out.edit(host.record, target.getStart(), target.getStart(), `${wrapApp}(`, `wrapApp around the ${host.framework} app`);
      out.edit(host.record, target.getEnd(), target.getEnd(), `, ${wrapOptions(option)})`, `wrapApp around the ${host.framework} app`);
    }
    for (const [entry, problem] of problems) reportDefaultUrlHandler(out, entry, problem);
    if (plan.toWrap.length > 0 || plan.wrapped.length > 0) {
      reportUnwrappedServers(analysis, out, [...plan.toWrap, ...plan.wrapped], plan.reason);
      return;
    }
    if (analysis.singleFile || !plan.reason) return;
    const message =
      'Tasks are sent to /_ah/queue/deferred, but no host app (express(), new Koa(), Fastify(), new Hono(), http.createServer(listener)) was found to serve it. Wrap your app with wrapApp(app, { useDeferred: true }) where it is created.';
    if ('record' in plan.reason) {
      out.report(plan.reason.record, plan.reason.node, 'unknown-framework', 'warning', message);
    } else {
      const yamlRel = plan.reason.yaml;
      const yaml = analysis.appYamls.find((y) => y.rel === yamlRel);
      if (yaml) out.reportAt(yaml, 1, 1, 'unknown-framework', 'warning', message);
    }
  },
};

export default makeTransform(rule, addNeededImports);
