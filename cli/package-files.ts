// What the CLI reads from its own package: its name and version, the shim's types
// (so a project that has not installed deferred-migrate yet still type-checks its
// migrated code), and where its docs live for links in items and markers. Found from
// the CLI's directory, which the entry point (cli/index.ts) passes on: the CommonJS
// build the CLI runs from has no import.meta.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DOCS_BASE } from '../codemods/rewrite/context.js';

export interface ToolInfo {
  name: string;
  version: string;
}

interface OwnPackage {
  name: string;
  version?: string;
  repository?: unknown;
}

const owners = new Map<string, OwnPackage | undefined>();

/**
 * deferred-migrate's package.json, the first one above `cliDir` (the directory of the
 * running CLI: dist/esm/cli when built, cli/ in the sources) that names the package.
 */
function ownPackage(cliDir: string): OwnPackage | undefined {
  if (owners.has(cliDir)) return owners.get(cliDir);
  let found: OwnPackage | undefined;
  for (let dir = cliDir; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Partial<OwnPackage>;
      if (pkg.name === 'deferred-migrate') {
        found = { name: pkg.name, ...(typeof pkg.version === 'string' ? { version: pkg.version } : {}), repository: pkg.repository };
        break;
      }
    } catch {
      // none here, dist/cjs's type-only package.json, or a broken file: keep walking up
    }
    if (path.dirname(dir) === dir) break;
  }
  owners.set(cliDir, found);
  return found;
}

/** The package's name and version, for --version and the reports. */
export function toolInfo(cliDir: string): ToolInfo {
  const pkg = ownPackage(cliDir);
  return { name: 'deferred-migrate', version: pkg?.version ?? '0.0.0-unknown' };
}

/** dist/esm/shim/index.d.ts beside the built CLI, shim/index.ts beside the sources. */
export function ownShimTypes(cliDir: string): string | undefined {
  for (const candidate of [path.join(cliDir, '../shim/index.d.ts'), path.join(cliDir, '../shim/index.ts')]) {
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
export function defaultDocsBase(cliDir: string): string | undefined {
  const pkg = ownPackage(cliDir);
  if (!pkg) return undefined;
  const web = repositoryWebUrl(pkg.repository);
  return web && pkg.version ? `${web}/blob/v${pkg.version}/docs/manual-steps.md` : DOCS_BASE;
}
