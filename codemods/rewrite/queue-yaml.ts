// Rule `queue-yaml`: reports the queue.yaml fields Cloud Tasks has no equivalent
// for (pull queues, `acl`, `total_storage_limit`), and a queue.yaml the shim's
// default lookup does not find (its limits would silently not apply). The file is
// kept as it is: its other fields keep working on both backends.
import type { Rule, RuleMeta } from './context.js';
import { makeTransform } from './single-file.js';

export const meta: RuleMeta = {
  id: 'queue-yaml',
  description: 'Reports queue.yaml fields with no Cloud Tasks equivalent (pull queues, acl, total_storage_limit), and a queue.yaml the shim does not find by itself.',
  reasonCodes: ['queue-yaml-unsupported', 'queue-yaml-location'],
  docs: 'docs/manual-steps.md#queue-yaml-unsupported',
};

const MESSAGES = {
  mode: (queue: string) =>
    `Queue "${queue}" is a pull queue (mode: pull): Cloud Tasks has push queues only, and the shim delivers every task by pushing it. ` +
    'Move its consumers to a push handler (or to Pub/Sub pull subscriptions); `queues apply` skips it.',
  acl: (queue: string) => `Queue "${queue}" has an acl: Cloud Tasks has no queue ACLs. Grant roles/cloudtasks.enqueuer (or viewer) on the queue with IAM instead.`,
  total_storage_limit: () => 'total_storage_limit has no Cloud Tasks equivalent (and the embedded queue does not apply it); it is ignored.',
} as const;

export const rule: Rule = {
  meta,
  run(analysis, out) {
    for (const file of analysis.queueYamls) {
      if (file.parseError) {
        out.reportAt(file, file.parseError.line, file.parseError.column, 'parse-error', 'error', `The YAML file does not parse (${file.parseError.message}); it was left untouched.`);
        continue;
      }
      if (file.notFoundBecause !== undefined && file.queueList) {
        out.reportAt(
          file,
          file.queueList.line,
          file.queueList.column,
          'queue-yaml-location',
          'warning',
          `The shim does not find this queue configuration by itself: it reads queue.yaml (or queue.yml) from the working directory when app.yaml (or app.yml) is there too, and ${file.notFoundBecause}. ` +
            `Without it the embedded queue applies none of its retry parameters, rates and concurrency limits, and accepts any queue name, where App Engine applied them. ` +
            `Pass configure({ queues: '${file.rel}' }) (a path from the working directory) or DEFERRED_QUEUES=${file.rel}.`,
        );
      }
      for (const field of file.unsupported) {
        out.reportAt(file, field.line, field.column, 'queue-yaml-unsupported', 'warning', MESSAGES[field.field](field.queue ?? '?'));
      }
    }
  },
};

export default makeTransform(rule);
