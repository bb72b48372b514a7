// Rule `app-yaml`: `builtins: - deferred: on` and the handlers entry for
// /_ah/queue/deferred leave app.yaml (wrapApp serves that path now); every other
// byte of the file stays.
import { wrapLocation } from '../analysis/wrap-plan.js';
import type { Rule, RuleMeta } from './context.js';
import { makeTransform } from './single-file.js';
import { mergeLineRemovals } from './text.js';

export const meta: RuleMeta = {
  id: 'app-yaml',
  description: 'Removes the deferred builtin and the /_ah/queue/deferred handler from App Engine app configs.',
  reasonCodes: ['app-yaml'],
  docs: 'docs/manual-steps.md#app-yaml',
};

export const rule: Rule = {
  meta,
  run(analysis, out) {
    const where = wrapLocation(analysis);
    const at = where ? ` (${where})` : '';
    for (const yaml of analysis.appYamls) {
      if (yaml.parseError) {
        out.reportAt(yaml, yaml.parseError.line, yaml.parseError.column, 'parse-error', 'error', `The YAML file does not parse (${yaml.parseError.message}); it was left untouched.`);
        continue;
      }
      for (const [start, end] of mergeLineRemovals(yaml.text, yaml.removals.map((r): [number, number] => [r.start, r.end]))) {
        out.edit(yaml, start, end, '', 'removed the built-in deferred endpoint');
      }
      for (const removal of yaml.removals) {
        out.reportAt(
          yaml,
          removal.line,
          removal.column,
          'app-yaml',
          'note',
          removal.what === 'builtin'
            ? `Removed \`builtins: - deferred: on\`: wrapApp(app, { useDeferred: true }) serves /_ah/queue/deferred now${at}.`
            : `Removed the handlers entry for /_ah/queue/deferred: wrapApp(app, { useDeferred: true }) serves it now${at}; tasks are authenticated by the backend's check instead of login: admin.`,
        );
      }
    }
  },
};

export default makeTransform(rule);
