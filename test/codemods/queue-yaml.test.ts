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
    const items = await itemsFor({ 'queue.yml': 'queue:\n- name: jobs\n  mode: pull\n  acl:\n  - user_email: a@example.com\n' });
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
    expect(items.map((i) => i.at)).toEqual(['config/queues-prod.yaml:1:1']);
  });

  it('a push queue with every supported field is not reported', async () => {
    expect(await itemsFor({ 'queue.yaml': 'queue:\n- name: default\n  mode: push\n  rate: 5/s\n  target: worker\n' })).toEqual([]);
  });

  it('a queue.yaml that does not parse is a parse error and stays untouched', async () => {
    const items = await itemsFor({ 'queue.yaml': 'queue:\n- name: a\n  rate: [5/s\n' }, true);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ code: 'parse-error', severity: 'error' });
    expect(items[0]!.message).toMatch(/^The YAML file does not parse/);
  });
});
