// What the CLI hands the engine from its own package: docs links that exist, and
// the shim's types for projects that have not installed the package yet.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultDocsBase, ownShimTypes, repositoryWebUrl, toolInfo } from '../../cli/package-files.js';
import { DOCS_BASE } from '../../codemods/rewrite/context.js';

describe('package files', () => {
  it('reads the web address of a package.json repository in its usual forms', () => {
    expect(repositoryWebUrl('git+https://github.com/o/r.git')).toBe('https://github.com/o/r');
    expect(repositoryWebUrl({ type: 'git', url: 'git@github.com:o/r.git' })).toBe('https://github.com/o/r');
    expect(repositoryWebUrl('github:o/r')).toBe('https://github.com/o/r');
    expect(repositoryWebUrl('o/r')).toBe('https://github.com/o/r');
    expect(repositoryWebUrl(undefined)).toBeUndefined();
    expect(repositoryWebUrl({ url: '' })).toBeUndefined();
  });

  it('links the installed docs while package.json names no repository, and finds the shim types', () => {
    const pkg = JSON.parse(readFileSync(path.resolve('package.json'), 'utf8')) as { repository?: unknown; files?: string[] };
    expect(pkg.files).toContain('docs/*.md'); // the linked file ships in the package
    for (const cliDir of [path.resolve('cli'), path.resolve('dist/esm/cli'), path.resolve('dist/cjs/cli')]) {
      expect(defaultDocsBase(cliDir)).toBe(pkg.repository === undefined ? DOCS_BASE : expect.stringMatching(/^https:\/\/.*\/docs\/manual-steps\.md$/));
    }
    for (const cliDir of [path.resolve('cli'), path.resolve('dist/esm/cli')]) {
      const shim = ownShimTypes(cliDir);
      expect(shim && existsSync(shim)).toBe(true);
    }
  });

  it("reads the package's name and version from above the CLI's directory, built or not", () => {
    const pkg = JSON.parse(readFileSync(path.resolve('package.json'), 'utf8')) as { version: string };
    // dist/cjs has a package.json of its own (no name) on the way up.
    for (const cliDir of [path.resolve('cli'), path.resolve('dist/esm/cli'), path.resolve('dist/cjs/cli')]) {
      expect(toolInfo(cliDir)).toEqual({ name: 'deferred-migrate', version: pkg.version });
    }
    expect(toolInfo(path.parse(process.cwd()).root)).toEqual({ name: 'deferred-migrate', version: '0.0.0-unknown' });
  });
});
