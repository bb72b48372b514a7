// A throw-away copy of one legacy app, laid out as in the repository
// (fixtures/apps/<app> next to fixtures/legacy-runtime, so the app's relative
// imports of the legacy SDK still resolve), outside any git repository, with a
// node_modules in which `deferred-migrate` is PACKAGE_ROOT and every other
// package is the repository's own.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
export const FIXTURES = join(REPO_ROOT, 'fixtures');
/**
 * The deferred-migrate package the apps install: this repository (its dist/),
 * or DEFERRED_E2E_PACKAGE, e.g. an unpacked `npm pack` or a private build.
 */
export const PACKAGE_ROOT = resolve(process.env.DEFERRED_E2E_PACKAGE ?? REPO_ROOT);

export interface Workspace {
  root: string;
  appDir: string;
  dispose(): void;
}

/** `npm test` builds dist/ first; a bare `vitest run` needs `npm run build` once. */
export function assertShimBuilt(): void {
  for (const file of ['dist/esm/shim/index.js', 'dist/esm/shim/index.d.ts', 'dist/cjs/shim/index.js', 'dist/esm/cli/index.js']) {
    if (!existsSync(join(PACKAGE_ROOT, file))) {
      throw new Error(`${join(PACKAGE_ROOT, file)} is missing: run \`npm run build\` (npm test does) before the e2e tests`);
    }
  }
}

export function createWorkspace(app: string): Workspace {
  const root = mkdtempSync(join(tmpdir(), `deferred-e2e-${app}-`));
  cpSync(join(FIXTURES, 'legacy-runtime'), join(root, 'fixtures', 'legacy-runtime'), { recursive: true });
  const appDir = join(root, 'fixtures', 'apps', app);
  cpSync(join(FIXTURES, 'apps', app), appDir, { recursive: true });
  linkNodeModules(join(root, 'node_modules'));
  // Lets a test process import the shim exactly as an ESM app in the workspace resolves it.
  writeFileSync(join(root, 'shim-entry.mjs'), "export * from 'deferred-migrate/shim';\n");
  return { root, appDir, dispose: () => rmSync(root, { recursive: true, force: true }) };
}

function linkNodeModules(target: string): void {
  linkRepoDependencies(target);
  symlinkSync(PACKAGE_ROOT, join(target, 'deferred-migrate'), 'dir');
}

/** Creates `target` as a node_modules linking every package of the repository's own, except deferred-migrate. */
export function linkRepoDependencies(target: string): void {
  mkdirSync(target, { recursive: true });
  const source = join(REPO_ROOT, 'node_modules');
  for (const entry of readdirSync(source)) {
    if (entry === '.bin' || entry === '.package-lock.json' || entry === 'deferred-migrate') continue;
    symlinkSync(join(source, entry), join(target, entry), statSync(join(source, entry)).isDirectory() ? 'dir' : 'file');
  }
}

/** Every file of a directory tree (node_modules excluded), relative POSIX path -> text. */
export function readTree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      if (entry.name === 'node_modules') continue;
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.set(relative(dir, path).split(sep).join('/'), readFileSync(path, 'utf8'));
    }
  };
  walk(dir);
  return files;
}
