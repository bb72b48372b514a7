// Migrates an app copy with the real engine (or the real CLI binary) and states
// what a finished migration looks like.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { MigrationResult, ReasonCode } from '../../../codemods/types.js';
import { FIXTURES, PACKAGE_ROOT } from './workspace.js';

/** Specifiers of the legacy SDK modules (legacy-api.md: suffix match, with or without `.js` / `/index`). */
const LEGACY_DEFERRED = /['"][^'"\n]*appengine\/ext\/deferred(?:\/index)?(?:\.[cm]?[jt]s)?['"]/;
const LEGACY_WEBAPP = /['"][^'"\n]*appengine\/ext\/webapp(?:\/index)?(?:\.[cm]?[jt]s)?['"]/;
const SOURCE_FILE = /\.(?:[cm]?[jt]s|tsx|jsx)$/;

export interface ExpectedItem {
  code: ReasonCode;
  file: string;
  line: number;
}

export function expectedReport(app: string): ExpectedItem[] {
  const parsed = JSON.parse(readFileSync(join(FIXTURES, 'apps', app, 'expected-report.json'), 'utf8')) as { items: ExpectedItem[] };
  return sortItems(parsed.items.map(({ code, file, line }) => ({ code, file, line })));
}

export function reportedItems(result: MigrationResult): ExpectedItem[] {
  return sortItems(result.files.flatMap((file) => file.items.map(({ code, file: path, line }) => ({ code, file: path, line }))));
}

function sortItems(items: ExpectedItem[]): ExpectedItem[] {
  return [...items].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.code.localeCompare(b.code));
}

// Loaded when first needed, so the legacy-runtime half of the suite runs whatever state the codemod is in.
export async function migrateApp(appDir: string): Promise<MigrationResult> {
  const { migrate } = await import('../../../codemods/engine.js');
  return migrate({ paths: [appDir], root: appDir });
}

/** Write every changed file, refusing to overwrite a file that changed since it was read. */
export async function writeMigration(result: MigrationResult): Promise<void> {
  for (const file of result.files) {
    if (file.updated === undefined) continue;
    const { writeFileAtomic } = await import('../../../codemods/io.js');
    const outcome = await writeFileAtomic(file.absPath, file.updated, { expectedOriginal: file.original });
    if (!outcome.ok) throw new Error(`could not write ${file.file}: ${outcome.message}`);
  }
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The built CLI binary, run in `cwd` (npm test builds dist/ first). */
export function runCli(args: string[], cwd: string): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(PACKAGE_ROOT, 'dist/esm/cli/index.js'), ...args],
      { cwd, timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * The migrated sources: no legacy deferred import anywhere, the webapp module
 * only where the report says its router stays, and the app wrapped exactly once.
 */
export function expectMigratedSources(files: Map<string, string>, result: MigrationResult): void {
  const sources = [...files].filter(([path]) => SOURCE_FILE.test(path));
  expect(sources.filter(([, text]) => LEGACY_DEFERRED.test(text)).map(([path]) => path)).toEqual([]);
  const keptRouter = new Set(
    result.files.filter((file) => file.items.some((item) => item.code === 'webapp-router-kept')).map((file) => file.file),
  );
  expect(sources.filter(([path, text]) => LEGACY_WEBAPP.test(text) && !keptRouter.has(path)).map(([path]) => path)).toEqual([]);
  const wrapCalls = sources.reduce((count, [, text]) => count + (text.match(/\bwrapApp\(/g)?.length ?? 0), 0);
  expect(wrapCalls).toBe(1);
  expect(sources.some(([, text]) => text.includes('deferred-migrate/shim'))).toBe(true);
}
