// Configuration file of the CLI: explicit `--config <file>`, else the nearest of
// `deferred-migrate.config.json`, `.deferred-migraterc.json` or the
// `"deferred-migrate"` key of `package.json`, from the working directory up to the
// root. Same settings as the flags; flags win. Unknown keys are errors (typos must
// not silently change what the codemod treats as legacy).
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { isWithin } from './analysis/discover.js';

export const CONFIG_FILE_NAMES = ['deferred-migrate.config.json', '.deferred-migraterc.json'] as const;
export const PACKAGE_JSON_KEY = 'deferred-migrate';
export const REPORT_FORMATS = ['json', 'markdown', 'sarif'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** Settings a config file may hold. Paths inside are relative to the config file's directory. */
export interface FileConfig {
  paths?: string[];
  legacyModules?: string[];
  legacyWebappModules?: string[];
  shimModule?: string;
  allowDirty?: boolean;
  report?: ReportFormat;
  reportFile?: string;
  verify?: boolean;
  strict?: boolean;
  markers?: boolean;
  docsBase?: string;
}

export interface LoadedConfig {
  config: FileConfig;
  /** File the settings came from; undefined when none was found. */
  source?: string;
  /** Non-fatal notes, e.g. several candidate files present. */
  warnings: string[];
}

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly source?: string,
  ) {
    super(source === undefined ? message : `${source}: ${message}`);
    this.name = 'ConfigError';
  }
}

type FieldKind = 'string[]' | 'string' | 'boolean' | 'report';
const FIELDS: Record<keyof FileConfig, FieldKind> = {
  paths: 'string[]',
  legacyModules: 'string[]',
  legacyWebappModules: 'string[]',
  shimModule: 'string',
  allowDirty: 'boolean',
  report: 'report',
  reportFile: 'string',
  verify: 'boolean',
  strict: 'boolean',
  markers: 'boolean',
  docsBase: 'string',
};
/** Keys accepted and ignored: editors use `$schema`. */
const IGNORED_KEYS = new Set(['$schema']);

/** Validates parsed JSON and resolves its paths against `baseDir`. Throws ConfigError. */
export function validateConfig(raw: unknown, baseDir: string, source?: string): FileConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`expected a JSON object, got ${describeJson(raw)}`, source);
  }
  const config: FileConfig = {};
  for (const [key, value] of Object.entries(raw)) {
    if (IGNORED_KEYS.has(key)) continue;
    if (!Object.hasOwn(FIELDS, key)) {
      throw new ConfigError(`unknown setting "${key}" (known: ${Object.keys(FIELDS).join(', ')})`, source);
    }
    const field = key as keyof FileConfig;
    const kind = FIELDS[field];
    switch (kind) {
      case 'string[]':
        if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v.trim() === '')) {
          throw new ConfigError(`"${key}" must be an array of non-empty strings, got ${describeJson(value)}`, source);
        }
        (config as Record<string, unknown>)[field] = field === 'paths' ? value.map((p: string) => path.resolve(baseDir, p)) : [...value];
        break;
      case 'string':
        if (typeof value !== 'string' || value.trim() === '') {
          throw new ConfigError(`"${key}" must be a non-empty string, got ${describeJson(value)}`, source);
        }
        (config as Record<string, unknown>)[field] = field === 'reportFile' ? path.resolve(baseDir, value) : value;
        break;
      case 'boolean':
        if (typeof value !== 'boolean') throw new ConfigError(`"${key}" must be true or false, got ${describeJson(value)}`, source);
        (config as Record<string, unknown>)[field] = value;
        break;
      case 'report':
        if (typeof value !== 'string' || !(REPORT_FORMATS as readonly string[]).includes(value)) {
          throw new ConfigError(`"${key}" must be one of ${REPORT_FORMATS.join(', ')}, got ${describeJson(value)}`, source);
        }
        config.report = value as ReportFormat;
        break;
    }
  }
  return config;
}

/** Loads an explicit config file (a `package.json` is read through its key). */
export async function loadConfigFile(file: string): Promise<LoadedConfig> {
  const abs = path.resolve(file);
  const text = await fsp.readFile(abs, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new ConfigError(error.code === 'ENOENT' ? 'config file not found' : `cannot read config file: ${error.message}`, abs);
  });
  const parsed = parseJson(text, abs);
  if (path.basename(abs) === 'package.json') {
    const section = (parsed as Record<string, unknown> | null)?.[PACKAGE_JSON_KEY];
    if (section === undefined) throw new ConfigError(`no "${PACKAGE_JSON_KEY}" key`, abs);
    return { config: validateConfig(section, path.dirname(abs), `${abs} ("${PACKAGE_JSON_KEY}")`), source: abs, warnings: [] };
  }
  return { config: validateConfig(parsed, path.dirname(abs), abs), source: abs, warnings: [] };
}

/**
 * Finds the nearest config from `startDir` up to `stopDir` (inclusive; the run's root).
 * In one directory the dedicated files win over `package.json`; several candidates warn.
 */
export async function findConfig(startDir: string, stopDir: string): Promise<LoadedConfig> {
  const stop = path.resolve(stopDir);
  let dir = path.resolve(startDir);
  for (;;) {
    const found: Array<{ file: string; load: () => Promise<LoadedConfig> }> = [];
    for (const name of CONFIG_FILE_NAMES) {
      const file = path.join(dir, name);
      if (await isFile(file)) found.push({ file, load: () => loadConfigFile(file) });
    }
    const pkg = path.join(dir, 'package.json');
    if (await isFile(pkg)) {
      const parsed = parseJson(await fsp.readFile(pkg, 'utf8'), pkg) as Record<string, unknown> | null;
      const section = parsed?.[PACKAGE_JSON_KEY];
      if (section !== undefined) {
        found.push({
          file: `${pkg} ("${PACKAGE_JSON_KEY}")`,
          load: async () => ({ config: validateConfig(section, dir, `${pkg} ("${PACKAGE_JSON_KEY}")`), source: pkg, warnings: [] }),
        });
      }
    }
    if (found.length > 0) {
      const loaded = await found[0]!.load();
      if (found.length > 1) {
        loaded.warnings.push(`several config files in ${dir}; using ${found[0]!.file}, ignoring ${found.slice(1).map((f) => f.file).join(', ')}`);
      }
      return loaded;
    }
    const parent = path.dirname(dir);
    if (dir === stop || parent === dir || !isWithin(parent, stop)) return { config: {}, warnings: [] };
    dir = parent;
  }
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    throw new ConfigError(`invalid JSON: ${(error as Error).message}`, source);
  }
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fsp.stat(p)).isFile();
  } catch {
    return false;
  }
}

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
