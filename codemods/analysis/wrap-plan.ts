// Whether the run needs wrapApp (the repository used the built-in endpoint or
// defers to the default URL, or an app gets custom task routes) and which host apps
// get it.
import type { Node } from 'ts-morph';
import { findDeferCalls, usesDefaultUrl } from './defer-calls.js';
import type { HostApp } from './host-app.js';
import type { Analysis } from './index.js';
import type { SourceRecord } from './project.js';
import { hostOfMount } from './route-tables.js';

export interface WrapPlan {
  needed: boolean;
  /** Where the need comes from (for an unknown-framework report). */
  reason?: { record: SourceRecord; node: Node } | { yaml: string };
  /** Hosts that need wrapping now. */
  toWrap: HostApp[];
  /** Hosts already wrapped. */
  wrapped: HostApp[];
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
  if (!reason) {
    const call = findDeferCalls(analysis.symbols, analysis.candidates).find(usesDefaultUrl);
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
  }
  const plan: WrapPlan = {
    needed: reason !== undefined,
    toWrap,
    wrapped: analysis.hosts.filter((h) => h.wrapped),
    ...(reason ? { reason } : {}),
  };
  cache.set(analysis, plan);
  return plan;
}

/** `file:line` of the first wrapApp (added or existing), for notes. */
export function wrapLocation(analysis: Analysis): string | undefined {
  const plan = wrapPlan(analysis);
  const host = plan.toWrap[0] ?? plan.wrapped[0];
  if (!host) return undefined;
  const node = host.framework === 'node' && host.listener ? host.listener : host.create;
  return `${host.record.rel}:${node.getStartLineNumber()}`;
}
