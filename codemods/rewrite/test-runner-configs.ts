// The jest configuration written as JSON (package.json's `jest` field, a jest.config.json
// beside it) whose moduleNameMapper maps the legacy module's name, usually to a fake for
// the tests: the migrated code imports deferred-migrate/shim instead, so the mapping
// silently stops applying and the tests reach the real shim. The same in a JavaScript or
// TypeScript config is found by the verification (legacy-references.ts), which reads
// sources only.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Analysis } from '../analysis/index.js';
import { readJsonObject } from '../analysis/alias-config.js';
import { toPosixRelative } from '../analysis/discover.js';
import { PATTERN_CHARACTERS, patternRole, roleOfSpecifier, type ModuleMatchers } from '../analysis/specifiers.js';
import type { RuleOutput } from './context.js';

function isLegacy(role: string | undefined): boolean {
  return role === 'deferred' || role === 'webapp';
}

/** The role of the legacy module a moduleNameMapper key names, as a plain name or a pattern. */
function keyRole(key: string, matchers: ModuleMatchers): 'deferred' | 'webapp' | undefined {
  const role = roleOfSpecifier(key, matchers);
  if (role === 'deferred' || role === 'webapp') return role;
  return PATTERN_CHARACTERS.test(key) ? patternRole(key, '', matchers) : undefined;
}

/** Every moduleNameMapper entry of a jest configuration, also in its `projects`: the key and the paths it maps to. */
function mapperEntries(config: unknown, entries: Array<[string, string[]]> = []): Array<[string, string[]]> {
  if (config === null || typeof config !== 'object') return entries;
  if (Array.isArray(config)) {
    for (const entry of config) mapperEntries(entry, entries);
    return entries;
  }
  const record = config as Record<string, unknown>;
  const mapper = record.moduleNameMapper;
  if (mapper && typeof mapper === 'object' && !Array.isArray(mapper)) {
    for (const [key, value] of Object.entries(mapper)) entries.push([key, (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string')]);
  }
  if (Array.isArray(record.projects)) mapperEntries(record.projects, entries);
  return entries;
}

function positionOf(text: string, key: string): { line: number; column: number } {
  let offset = text.indexOf(JSON.stringify(key));
  if (offset < 0) offset = Math.max(0, text.indexOf('moduleNameMapper'));
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

/**
 * The JSON configurations a package's scripts give jest by path (`jest --config config/jest.unit.json`,
 * `-c=jest.e2e.json`): at no standard location, so read only from there. A JavaScript or TypeScript
 * config given so is a source the verification reads.
 */
export function scriptedJestConfigs(manifestPath: string, manifest: unknown): string[] {
  return scriptedJestOptions(manifestPath, manifest).files;
}

/** The `--config` values of a package's jest scripts: JSON files by path, and configurations written inline (`jest --config '{"moduleNameMapper": ...}'`). */
function scriptedJestOptions(manifestPath: string, manifest: unknown): { files: string[]; inline: unknown[] } {
  const scripts = manifest && typeof manifest === 'object' ? (manifest as Record<string, unknown>).scripts : undefined;
  const found = { files: [] as string[], inline: [] as unknown[] };
  if (!scripts || typeof scripts !== 'object') return found;
  for (const command of Object.values(scripts as Record<string, unknown>)) {
    if (typeof command !== 'string' || !/\bjest\b/.test(command)) continue;
    for (const match of command.matchAll(/(?:^|\s)(?:--config|-c)(?:=|\s+)(?:"([^"]+)"|'([^']+)'|([^\s;&|]+))/g)) {
      const given = match[1] ?? match[2] ?? match[3]!;
      if (/\.json5?$/.test(given)) found.files.push(path.resolve(path.dirname(manifestPath), given));
      else if (given.trimStart().startsWith('{')) {
        try {
          found.inline.push(JSON.parse(given));
        } catch {
          // Not JSON jest could read either.
        }
      }
    }
  }
  return found;
}

/** `projects: ['<rootDir>/config/jest.unit.json']`: JSON configurations a configuration names by path (`<rootDir>` is `baseDir`). */
function projectConfigFiles(config: unknown, baseDir: string): string[] {
  if (!config || typeof config !== 'object' || Array.isArray(config)) return [];
  const record = config as Record<string, unknown>;
  const root = typeof record.rootDir === 'string' ? path.resolve(baseDir, record.rootDir) : baseDir;
  const projects = Array.isArray(record.projects) ? record.projects : [];
  return projects.filter((p): p is string => typeof p === 'string' && /\.json5?$/.test(p)).map((p) => path.resolve(root, p.replace(/^<rootDir>\/?/, '')));
}

export function reportLegacyNameMappers(analysis: Analysis, out: RuleOutput): void {
  if (analysis.configs.length === 0) return;
  // A table keeping ordinary webapp rows keeps its import of webapp, and a mapping of that name still applies.
  const webappKept = analysis.tables.some((table) => table.rows.some((row) => row.kind === 'webapp'));
  for (const manifest of analysis.configs) {
    if (path.basename(manifest) !== 'package.json') continue;
    const files: Array<[string, (json: unknown) => unknown]> = [
      [manifest, (json) => (json && typeof json === 'object' ? (json as Record<string, unknown>).jest : undefined)],
      [path.join(path.dirname(manifest), 'jest.config.json'), (json) => json],
    ];
    const scripted = scriptedJestOptions(manifest, readJsonObject(manifest));
    for (const config of scripted.files) if (!files.some(([known]) => known === config)) files.push([config, (json) => json]);
    // `jest --config '{...}'`: the configuration is the script's text, reported in package.json.
    for (const inline of scripted.inline) files.push([manifest, () => inline]);
    // `files` grows as configurations name others in `projects`.
    for (let i = 0; i < files.length; i++) {
      const [absPath, configOf] = files[i]!;
      let text: string;
      try {
        if (absPath !== manifest && !existsSync(absPath)) continue;
        text = readFileSync(absPath, 'utf8');
      } catch {
        continue;
      }
      if (!text.includes('moduleNameMapper') && !text.includes('projects')) continue;
      let config: unknown;
      try {
        config = configOf(JSON.parse(text));
      } catch {
        continue;
      }
      for (const project of projectConfigFiles(config, path.dirname(absPath === manifest ? manifest : absPath))) {
        if (!files.some(([known]) => known === project)) files.push([project, (json) => json]);
      }
      if (!text.includes('moduleNameMapper')) continue;
      const file = { absPath, rel: toPosixRelative(analysis.root, absPath), text };
      for (const [key, targets] of mapperEntries(config)) {
        const { line, column } = positionOf(text, key);
        const role = keyRole(key, analysis.matchers);
        // A name only jest resolves to the legacy module (`'^@legacy/deferred$': '<rootDir>/vendor/google/appengine/ext/deferred'`).
        const target = role ? undefined : targets.find((t) => isLegacy(roleOfSpecifier(t.replace(/^<rootDir>\//, ''), analysis.matchers)));
        const message = target
          ? `jest's moduleNameMapper maps ${key} to the legacy module (${target}). Only jest resolves that name, so the codemod does not know it names the legacy module: code importing it is not migrated and, under jest, keeps loading the legacy module (its mocks and spies no longer meet the migrated code, which imports ${analysis.matchers.shim}). Import ${analysis.matchers.shim} there instead, and drop the entry.`
          : role && !(role === 'webapp' && webappKept)
            ? `jest's moduleNameMapper maps the name of the legacy ${role} module (${key}), but the migrated code imports ${analysis.matchers.shim} instead, so the mapping no longer applies: tests mapped to a fake now reach the real shim (a real queue, functions that must be registered), or assert on a fake nothing calls. Map ${analysis.matchers.shim} instead, or delete the entry if it only resolved the legacy package.`
            : undefined;
        if (message) out.reportAt(file, line, column, 'unresolved-legacy-reference', 'warning', message);
      }
    }
  }
}
