// Rule `wrap-app`: when the repository relied on the built-in endpoint, each host
// app is wrapped once: around its creating expression for framework apps (later
// routes register through the wrapped app), around the listener for node:http.
import { wrapPlan } from '../analysis/wrap-plan.js';
import type { Rule, RuleMeta } from './context.js';
import { addNeededImports } from './imports.js';
import { useShimName } from './names.js';
import { makeTransform } from './single-file.js';

export const meta: RuleMeta = {
  id: 'wrap-app',
  description: 'Adds wrapApp(app, { useDeferred: true }) once per host app when tasks use /_ah/queue/deferred.',
  reasonCodes: ['unknown-framework'],
  docs: 'docs/manual-steps.md#unknown-framework',
};

export const WRAP_OPTIONS = '{ useDeferred: true }';

export const rule: Rule = {
  meta,
  run(analysis, out) {
    const plan = wrapPlan(analysis);
    if (!plan.needed) return;
    for (const host of plan.toWrap) {
      const target = host.framework === 'node' ? host.listener : host.create;
      if (!target) continue;
      const wrapApp = useShimName(analysis, out, host.record, 'wrapApp');
      out.edit(host.record, target.getStart(), target.getStart(), `${wrapApp}(`, `wrapApp around the ${host.framework} app`);
      out.edit(host.record, target.getEnd(), target.getEnd(), `, ${WRAP_OPTIONS})`, `wrapApp around the ${host.framework} app`);
    }
    if (plan.toWrap.length > 0 || plan.wrapped.length > 0 || analysis.singleFile || !plan.reason) return;
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
