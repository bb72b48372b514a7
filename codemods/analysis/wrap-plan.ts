// Whether the run needs wrapApp (the repository used the built-in endpoint or
// defers to the default URL, an app gets custom task routes, or tasks go to a custom
// URL the app serves itself) and which host apps get it.
import { SyntaxKind, type Node } from 'ts-morph';
import { findDeferCalls, usesDefaultUrl } from './defer-calls.js';
import type { HostApp } from './host-app.js';
import type { Analysis } from './index.js';
import { isHandlerRef } from './legacy-symbols.js';
import type { SourceRecord } from './project.js';
import { hostOfMount, mountPrefix, type Mount, type RouteRow, type RouteTable } from './route-tables.js';

export interface WrapPlan {
  needed: boolean;
  /** Where the need comes from (for an unknown-framework report). */
  reason?: { record: SourceRecord; node: Node } | { yaml: string };
  /** Hosts that need wrapping now. */
  toWrap: HostApp[];
  /** Hosts already wrapped. */
  wrapped: HostApp[];
  /** Handler subclasses route tables served at the built-in URL (see defaultUrlHandlers). */
  defaultUrlHandlers: DefaultUrlHandler[];
}

/**
 * A TaskHandler subclass in a route table's built-in row (`['/_ah/queue/deferred', Audit]`):
 * the URL wrapApp answers with a plain Handler, so the subclass's overrides would no
 * longer run unless wrapApp is given it (`handler`). `host` is the app to wrap with it;
 * `problem` says why that cannot be done here.
 */
export interface DefaultUrlHandler {
  table: RouteTable;
  row: RouteRow;
  host?: HostApp;
  problem?: string;
}

const cache = new WeakMap<Analysis, WrapPlan>();

export function wrapPlan(analysis: Analysis): WrapPlan {
  const cached = cache.get(analysis);
  if (cached) return cached;
  let reason: WrapPlan['reason'];
  const yaml = analysis.appYamls.find((y) => y.usesBuiltin);
  if (yaml) reason = { yaml: yaml.rel };
  if (!reason) {
    // A table nobody mounts served nothing: its built-in row is no reason to wrap.
    for (const table of analysis.tables.filter((t) => t.mounts.length > 0)) {
      const row = table.rows.find((r) => r.kind === 'builtin');
      if (row) {
        reason = { record: table.record, node: row.node };
        break;
      }
    }
  }
  const calls = reason ? [] : findDeferCalls(analysis.symbols, analysis.candidates);
  if (!reason) {
    const call = calls.find(usesDefaultUrl);
    if (call) reason = { record: call.record, node: call.call };
  }
  let toWrap = reason ? analysis.hosts.filter((h) => !h.wrapped) : [];
  if (!reason) {
    // An app that gets custom task routes is wrapped too: wrapApp makes it the target the
    // embedded queue delivers tasks to (as App Engine's queue delivered them to the app),
    // and gives Fastify a parser for the task body (application/octet-stream: 415 without).
    for (const table of analysis.tables) {
      const mount = table.mounts[0];
      if (!mount || !table.rows.some((r) => r.kind === 'custom')) continue;
      const host = hostOfMount(analysis.index, analysis.hosts, mount);
      if (!host) continue;
      reason ??= { record: table.record, node: table.create };
      if (!host.wrapped && !toWrap.includes(host)) toWrap.push(host);
    }
    // Tasks deferred to a custom URL make every app a target below once the tables are
    // gone: wrapping them now too keeps the migration a fixpoint (a table on a sub-app
    // otherwise wrapped the sub-app now and its parent on a second run).
    if (reason && calls.some((c) => !usesDefaultUrl(c))) toWrap = analysis.hosts.filter((h) => !h.wrapped);
  }
  if (!reason) {
    // Tasks sent to a custom URL that no route table serves: the app's own route runs
    // them (`deferred.run(req.body)`, `new Handler().post(environ)`). The embedded queue
    // delivers only to an app wrapApp made its target, so those apps are wrapped too, or
    // the tasks would wait in the queue for ever. (With no host app found, which may
    // live outside the run, nothing is said, as before.)
    const call = calls.find((c) => !usesDefaultUrl(c));
    if (call && analysis.hosts.some((h) => !h.wrapped)) {
      reason = { record: call.record, node: call.call };
      toWrap = analysis.hosts.filter((h) => !h.wrapped);
    }
  }
  const plan: WrapPlan = {
    needed: reason !== undefined,
    toWrap,
    wrapped: analysis.hosts.filter((h) => h.wrapped),
    defaultUrlHandlers: reason ? defaultUrlHandlers(analysis, toWrap) : [],
    ...(reason ? { reason } : {}),
  };
  cache.set(analysis, plan);
  return plan;
}

/** The host app a table is served by at the root of its URL space, when the analysis knows it. */
export function rootHostOf(analysis: Analysis, mount: Mount): HostApp | undefined {
  if (mount.kind === 'create-server') return analysis.hosts.find((h) => h.framework === 'node' && h.create === mount.call);
  if (mount.kind === 'listener-call') {
    // `tasks(req, res)` inside the listener given to http.createServer.
    const at = mount.call.getStart();
    return analysis.hosts.find((h) => {
      const listener = h.framework === 'node' && h.record === mount.record ? listenerFunction(h) : undefined;
      return !!listener && listener.getStart() <= at && at < listener.getEnd();
    });
  }
  return hostOfMount(analysis.index, analysis.hosts, mount);
}

/** A node host's listener: the function itself, also where createServer is given its name (`createServer(listener)`). */
function listenerFunction(host: HostApp): Node | undefined {
  const listener = host.listener;
  if (!listener || !listener.isKind(SyntaxKind.Identifier)) return listener;
  const sf = host.record.sourceFile;
  return sf.getFunction(listener.getText()) ?? sf.getVariableDeclaration(listener.getText())?.getInitializer() ?? listener;
}

function defaultUrlHandlers(analysis: Analysis, toWrap: readonly HostApp[]): DefaultUrlHandler[] {
  const found: DefaultUrlHandler[] = [];
  for (const table of analysis.tables) {
    const row = table.rows.find((r) => r.kind === 'builtin' && !isHandlerRef(analysis.symbols.resolve(table.record, r.handler)));
    // Under a prefix the row served another URL: route-table.ts makes it a route there.
    const prefix = mountPrefix(table);
    if (!row || (prefix !== undefined && prefix !== '')) continue;
    // Mounted somewhere the analysis did not find (the table exported, passed on, or
    // without a name): not a table that served nothing.
    if (table.mounts.length === 0) {
      if (table.otherUses.length > 0 || !table.variable) found.push({ table, row, problem: 'where the table is mounted was not found' });
      continue;
    }
    for (const mount of table.mounts) {
      const host = rootHostOf(analysis, mount);
      if (prefix === undefined) found.push({ table, row, problem: 'the table is mounted under a path the codemod cannot read' });
      else if (!host) found.push({ table, row, problem: 'the app serving the table was not found' });
      else if (!toWrap.includes(host)) found.push({ table, row, host, problem: `the app in ${host.record.rel} is already wrapped with wrapApp` });
      else found.push({ table, row, host });
    }
  }
  // Two tables answering the built-in URL of one app: which one the app reached first is not the codemod's guess.
  for (const entry of found) {
    if (entry.problem || !entry.host) continue;
    const others = analysis.tables.filter((t) => t !== entry.table && t.rows.some((r) => r.kind === 'builtin') && t.mounts.some((m) => rootHostOf(analysis, m) === entry.host));
    if (others.length > 0) entry.problem = `another route table also serves /_ah/queue/deferred on the app in ${entry.host.record.rel}`;
  }
  return found;
}

/** `file:line` of the first wrapApp (added or existing), for notes. */
export function wrapLocation(analysis: Analysis): string | undefined {
  const plan = wrapPlan(analysis);
  const host = plan.toWrap[0] ?? plan.wrapped[0];
  if (!host) return undefined;
  const node = host.framework === 'node' && host.listener ? host.listener : host.create;
  return `${host.record.rel}:${node.getStartLineNumber()}`;
}
