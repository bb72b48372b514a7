// Files of the running package the CLI hands to the engine: the shim's types
// (so a project that has not installed deferred-migrate yet still type-checks its
// migrated code), and where its docs live for links in items and markers.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DOCS_BASE } from '../codemods/rewrite/context.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** dist/esm/shim/index.d.ts beside the built CLI, shim/index.ts beside the sources. */
export function ownShimTypes(): string | undefined {
  for (const candidate of [path.join(here, '../shim/index.d.ts'), path.join(here, '../shim/index.ts')]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** `https://github.com/o/r` from a package.json `repository` (string or object, `git+…`, `.git`, `github:o/r`). */
export function repositoryWebUrl(repository: unknown): string | undefined {
  const raw = typeof repository === 'string' ? repository : typeof repository === 'object' && repository !== null ? (repository as { url?: unknown }).url : undefined;
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  let url = raw.trim();
  const shorthand = /^(?:github:)?([\w.-]+)\/([\w.-]+)$/.exec(url);
  if (shorthand) url = `https://github.com/${shorthand[1]}/${shorthand[2]}`;
  url = url.replace(/^git\+/, '').replace(/^git:\/\//, 'https://').replace(/^ssh:\/\/git@/, 'https://').replace(/^git@([^:]+):/, 'https://$1/').replace(/\.git$/, '');
  return /^https?:\/\//.test(url) ? url : undefined;
}

/**
 * The docs of the version that produced the links: the repository's copy at the
 * release tag once package.json names a repository, else the copy installed with
 * the package (undefined: the engine's default, that installed copy).
 */
export function defaultDocsBase(): string | undefined {
  let dir = here;
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string; repository?: unknown };
        if (pkg.name === 'deferred-migrate') {
          const web = repositoryWebUrl(pkg.repository);
          return web && pkg.version ? `${web}/blob/v${pkg.version}/docs/manual-steps.md` : DOCS_BASE;
        }
      } catch {
        // dist/cjs's type-only package.json or a broken file: keep walking up
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
