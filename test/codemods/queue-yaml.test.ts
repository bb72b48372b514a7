// The queue-yaml rule beyond its fixtures: which YAML files count as queue
// configs, the messages, and a malformed file.
import { afterEach, describe, expect, it } from 'vitest';
import { migrate } from '../../codemods/engine.js';
import { makeTree, type TempTree } from './helpers.js';

let tree: TempTree | undefined;
afterEach(() => tree?.cleanup());

// The rule reports and never edits; markers (the verify pass's comments) are off
// unless asked for, as a file that does not parse must stay untouched even with them.
async function itemsFor(files: Record<string, string>, markers = false) {
  tree = makeTree(files);
  const result = await migrate({ paths: [tree.root], root: tree.root, markers });
  expect(result.files.filter((f) => f.updated !== undefined)).toEqual([]); // reported, never edited
  return result.files.flatMap((f) => f.items).map((i) => ({ at: `${i.file}:${i.line}:${i.column}`, code: i.code, severity: i.severity, message: i.message }));
}

describe('queue-yaml', () => {
  it('reads queue.yml too, and says what to do instead of each field', async () => {
    const items = await itemsFor({ 'app.yml': 'runtime: nodejs20\n', 'queue.yml': 'queue:\n- name: jobs\n  mode: pull\n  acl:\n  - user_email: a@example.com\n' });
    expect(items).toEqual([
      { at: 'queue.yml:3:3', code: 'queue-yaml-unsupported', severity: 'warning', message: expect.stringMatching(/^Queue "jobs" is a pull queue \(mode: pull\): Cloud Tasks has push queues only/) },
      { at: 'queue.yml:4:3', code: 'queue-yaml-unsupported', severity: 'warning', message: expect.stringContaining('Grant roles/cloudtasks.enqueuer (or viewer) on the queue with IAM') },
    ]);
  });

  it('recognises a queue config under another name by its top-level queue list; other YAML is not one', async () => {
    const items = await itemsFor({
      'config/queues-prod.yaml': 'total_storage_limit: 1G\nqueue:\n- name: default\n  rate: 1/s\n',
      'deploy.yaml': 'jobs:\n  mode: pull\n  acl: [x]\n',
    });
    // total_storage_limit, and the file is not one the shim finds by itself.
    expect(items.map((i) => `${i.at} ${i.code}`)).toEqual(['config/queues-prod.yaml:1:1 queue-yaml-unsupported', 'config/queues-prod.yaml:2:1 queue-yaml-location']);
  });

  it('a push queue with every supported field is not reported', async () => {
    expect(await itemsFor({ 'app.yaml': 'runtime: nodejs20\n', 'queue.yaml': 'queue:\n- name: default\n  mode: push\n  rate: 5/s\n  target: worker\n' })).toEqual([]);
  });

  it('reports a queue config the shim does not find by itself, saying why and how to pass it', async () => {
    const queues = 'queue:\n- name: default\n  rate: 5/s\n  retry_parameters:\n    task_retry_limit: 3\n';
    const items = await itemsFor({
      // Read: beside an app config, under either extension.
      'svc/app.yaml': 'runtime: nodejs20\n',
      'svc/queue.yaml': queues,
      'yml/app.yml': 'runtime: nodejs20\n',
      'yml/queue.yml': queues,
      // Not read: no app config beside it; another name; shadowed by queue.yaml.
      'queue.yaml': `# whole app\n${queues}`,
      'svc/queues-prod.yaml': queues,
      'svc/queue.yml': queues,
    });
    expect(items.map((i) => `${i.at} ${i.code}`)).toEqual([
      'queue.yaml:2:1 queue-yaml-location',
      'svc/queue.yml:1:1 queue-yaml-location',
      'svc/queues-prod.yaml:1:1 queue-yaml-location',
    ]);
    expect(items[0]!.message).toContain('and no app.yaml sits beside it');
    expect(items[0]!.message).toContain("Pass configure({ queues: 'queue.yaml' }) (a path from the working directory) or DEFERRED_QUEUES=queue.yaml.");
    expect(items[0]!.message).toContain('applies none of its retry parameters, rates and concurrency limits');
    expect(items[1]!.message).toContain('and queue.yaml beside it is read instead');
    expect(items[2]!.message).toContain('and it is named queues-prod.yaml, not queue.yaml');
  });

  it('a queue.yaml that does not parse is a parse error and stays untouched', async () => {
    const items = await itemsFor({ 'queue.yaml': 'queue:\n- name: a\n  rate: [5/s\n' }, true);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ code: 'parse-error', severity: 'error' });
    expect(items[0]!.message).toMatch(/^The YAML file does not parse/);
  });
});
