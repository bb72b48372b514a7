// The app-yaml rule beyond its fixtures: an app config above the run's paths.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate } from '../../codemods/engine.js';
import { makeTree, type TempTree } from './helpers.js';

let tree: TempTree | undefined;
afterEach(() => tree?.cleanup());

const server =
  "const express = require('express');\nconst deferred = require('google/appengine/ext/deferred');\nfunction warm() {}\nconst app = express();\napp.get('/', (req, res) => {\n  deferred.defer(warm);\n  res.send('ok');\n});\napp.listen(8080);\n";

describe('app-yaml', () => {
  it('reports, and leaves as it is, a deferred builtin in an app config above the run (a run on src/ beside app.yaml)', async () => {
    const appYaml = 'runtime: nodejs20\nentrypoint: node src/server.js\nbuiltins:\n- deferred: on\n';
    tree = makeTree({
      'app.yaml': appYaml,
      'worker.yaml': 'runtime: nodejs20\nservice: worker\nhandlers:\n- url: /_ah/queue/deferred\n  script: auto\n  login: admin\n',
      'dispatch.yaml': 'dispatch:\n- url: "*/tasks/*"\n  service: worker\n',
      'src/server.js': server,
    });
    const part = await migrate({ paths: [tree.path('src')], root: tree.root, verify: false });
    const yamlItems = part.files.filter((f) => f.file.endsWith('.yaml'));
    expect(yamlItems.flatMap((f) => f.items.map((i) => `${i.file}:${i.line} ${i.code} ${i.severity}`))).toEqual([
      'app.yaml:3 app-yaml-manual warning',
      'worker.yaml:3 app-yaml-manual warning',
    ]);
    expect(yamlItems[0]!.items[0]!.message).toMatch(/outside the run's paths .* so the deferred builtin was left as it is/);
    expect(yamlItems.every((f) => f.updated === undefined)).toBe(true); // no edit, no marker
    expect(readFileSync(tree.path('app.yaml'), 'utf8')).toBe(appYaml);
    // A run on the whole tree migrates them.
    const whole = await migrate({ paths: [tree.root], root: tree.root, verify: false });
    expect(whole.files.find((f) => f.file === 'app.yaml')?.updated).toBe('runtime: nodejs20\nentrypoint: node src/server.js\n');
    expect(whole.files.find((f) => f.file === 'worker.yaml')?.items.map((i) => i.code)).toEqual(['app-yaml']);
  });

  it('reports a git-ignored app config (kept out of the repository, deployed from the working copy) and migrates it when named', async () => {
    const appYaml = 'runtime: nodejs20\nbuiltins:\n- deferred: on\nenv_variables:\n  SECRET: s3cr3t\n';
    tree = makeTree({ '.gitignore': 'app.yaml\n', 'app.yaml': appYaml, 'server.js': server });
    const run = await migrate({ paths: [tree.root], root: tree.root, verify: false });
    const yaml = run.files.find((f) => f.file === 'app.yaml');
    expect(yaml?.items.map((i) => `${i.line} ${i.code}`)).toEqual(['2 app-yaml-manual']);
    expect(yaml?.items[0]!.message).toMatch(/is git-ignored .* so the deferred builtin was left as it is/);
    expect(yaml?.updated).toBeUndefined();
    const named = await migrate({ paths: [tree.root, tree.path('app.yaml')], root: tree.root, verify: false });
    expect(named.files.find((f) => f.file === 'app.yaml')?.updated).toBe('runtime: nodejs20\nenv_variables:\n  SECRET: s3cr3t\n');
  });
});
