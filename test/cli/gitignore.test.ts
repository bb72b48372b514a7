// `.deferred/` into the migrated app's .gitignore: beside the app's package.json,
// appended without disturbing the file, and not at all where git already ignores it.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appDirectoryOf, ignoreDataDirectories } from '../../cli/gitignore.js';
import { initRepo, makeTree, removeTrees } from './helpers/tree.js';

afterEach(removeTrees);

describe('.deferred/ in .gitignore', () => {
  it('goes beside the package.json of the app a written file belongs to, once', async () => {
    const dir = makeTree({
      '.gitignore': 'node_modules/',
      'apps/web/package.json': '{}',
      'apps/web/src/tasks.ts': '',
      'tools/script.ts': '',
    });
    initRepo(dir);
    expect(appDirectoryOf(path.join(dir, 'apps/web/src/tasks.ts'), dir)).toBe(path.join(dir, 'apps/web'));
    expect(appDirectoryOf(path.join(dir, 'tools/script.ts'), dir)).toBe(dir);

    const app = await ignoreDataDirectories([path.join(dir, 'apps/web/src/tasks.ts')], dir);
    expect(app).toEqual({ updates: [{ file: path.join(dir, 'apps/web/.gitignore'), line: 1, created: true }], errors: [] });
    expect(readFileSync(path.join(dir, 'apps/web/.gitignore'), 'utf8')).toBe('.deferred/\n');
    expect((await ignoreDataDirectories([path.join(dir, 'apps/web/src/tasks.ts')], dir)).updates).toEqual([]);

    // A file outside any app: the repository root's .gitignore (which had no final newline).
    const root = await ignoreDataDirectories([path.join(dir, 'tools/script.ts')], dir);
    expect(root.updates).toEqual([{ file: path.join(dir, '.gitignore'), line: 2, created: false }]);
    expect(readFileSync(path.join(dir, '.gitignore'), 'utf8')).toBe('node_modules/\n.deferred/\n');
  });

  it('leaves a repository that already ignores it (by any pattern) alone', async () => {
    const dir = makeTree({ '.gitignore': '.deferred\n', 'package.json': '{}', 'src/a.ts': '' });
    initRepo(dir);
    expect((await ignoreDataDirectories([path.join(dir, 'src/a.ts')], dir)).updates).toEqual([]);
    expect(readFileSync(path.join(dir, '.gitignore'), 'utf8')).toBe('.deferred\n');
  });
});
