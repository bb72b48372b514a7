// Rule `app-yaml`: `builtins: - deferred: on` and the handlers entry for
// /_ah/queue/deferred leave app.yaml (wrapApp serves that path now); every other
// byte of the file stays. An entry whose removal would hand task requests to a
// handler the queue cannot pass stays (it routes to the wrapped app); what cannot be
// written safely, or a builtin whose URL now reaches such a handler, is reported.
import { wrapLocation } from '../analysis/wrap-plan.js';
import type { Rule, RuleMeta } from './context.js';
import { makeTransform } from './single-file.js';
import { mergeLineRemovals } from './text.js';

export const meta: RuleMeta = {
  id: 'app-yaml',
  description: 'Removes the deferred builtin and the /_ah/queue/deferred handler from App Engine app configs.',
  reasonCodes: ['app-yaml', 'app-yaml-manual'],
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
      for (const kept of yaml.kept) {
        out.reportAt(
          yaml,
          kept.line,
          kept.column,
          'app-yaml',
          'note',
          `Kept the handlers entry for /_ah/queue/deferred: ${kept.reason}. It routes task requests to the app, which wrapApp(app, { useDeferred: true }) answers${at}.`,
        );
      }
      for (const manual of yaml.manual) {
        out.reportAt(yaml, manual.line, manual.column, 'app-yaml-manual', 'warning', manualMessage(manual.reason));
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

function manualMessage(reason: string): string {
  if (reason.startsWith('this app config ')) return `Not migrated: ${reason}.`;
  if (reason.startsWith('this template')) return `Not migrated: ${reason}.`;
  if (reason.startsWith('removing these lines')) return `The deferred builtin or the /_ah/queue/deferred handler could not be removed: ${reason}.`;
  return (
    `Kept \`builtins: - deferred: on\`: its handler (login: admin) answered /_ah/queue/deferred ahead of this file's handlers, and once it is removed ${reason}. ` +
    'Add `- url: /_ah/queue/deferred` with `script: auto` and `login: admin` at the top of `handlers:` (wrapApp answers it in the app), then remove the builtin.'
  );
}

export default makeTransform(rule);
