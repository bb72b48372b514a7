// The CLI run: options and config, git guard, engine, write phase, output, exit code.
// Everything outside (streams, env, engine, file system) comes in through `CliDeps`
// so tests can drive it in process; `index.ts` wires the real ones.
import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { isWithin } from '../codemods/analysis/discover.js';
import { ConfigError, findConfig, loadConfigFile, type FileConfig, type ReportFormat } from '../codemods/config.js';
import { gitTopLevel, gitTreeState, writeFileAtomic, type GitStatusEntry, type WriteFs } from '../codemods/io.js';
import { painter, useColor } from '../codemods/report/color.js';
import { fileDiff } from '../codemods/report/diff.js';
import { renderJson } from '../codemods/report/json.js';
import { renderMarkdown } from '../codemods/report/markdown.js';
import { allItems, hasChanges, isManual, notableFiles, type RunMode, type RunReport } from '../codemods/report/run-report.js';
import { renderSarif } from '../codemods/report/sarif.js';
import { itemLines, remainingUsageLines, statusLines, summaryLine } from '../codemods/report/summary.js';
import { docsUrl } from '../codemods/rewrite/context.js';
import type { MigrateOptions, MigrationResult, ReasonCode, ReportItem } from '../codemods/types.js';
import { applyChanges, WRITE_RULE } from './apply.js';
import { appDirectoryOf, DATA_DIR_ENTRY, ignoreDataDirectories } from './gitignore.js';
import { ExitCode, UsageError } from './exit-codes.js';
import { parseArgs, type CliOptions } from './options.js';
import { createProgress } from './progress.js';
import type { ToolInfo } from './package-files.js';

export interface CliStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface CliDeps {
  cwd: string;
  env: Record<string, string | undefined>;
  stdout: CliStream;
  stderr: CliStream;
  migrate: (options: MigrateOptions) => Promise<MigrationResult>;
  tool: ToolInfo;
  docsUrl: (code: ReasonCode) => string;
  /** Default prefix of docs links (`--docs-base` overrides); the engine's default without it. */
  docsBase?: string;
  /** The running package's shim types, for projects that do not resolve `deferred-migrate/shim` yet. */
  shimTypes?: string;
  /** File-system operations of the write phase (tests inject failures). */
  writeFs?: WriteFs;
  /** `queues purge`: whether stdin is a terminal, and how to ask on it. */
  stdinIsTTY?: boolean;
  confirm?: (question: string) => Promise<boolean>;
}

const MAX_LISTED_GIT_ENTRIES = 20;

/** Commands of the queue operator (cli/ops/command.ts). */
const OPS_COMMANDS: readonly string[] = ['queues', 'tasks'];

// The subcommands are imported when run: a migration never loads the queue runtime
// (SQLite, gRPC), and the dashboard never loads the codemod's TypeScript toolchain.
export async function runCli(argv: string[], deps: CliDeps): Promise<number> {
  // queue.yaml onto Cloud Tasks: its own flags and exit codes (cli/queues-sync.ts).
  if (argv[0] === 'queues' && (argv[1] === 'plan' || argv[1] === 'apply')) return (await import('./queues-sync.js')).runQueueSync(argv.slice(1), deps);
  if (OPS_COMMANDS.includes(argv[0] ?? '')) {
    const { runOpsCli } = await import('./ops/command.js');
    return runOpsCli(argv, { ...deps, stdinIsTTY: deps.stdinIsTTY === true, confirm: deps.confirm ?? (async () => false) }, deps.tool.version);
  }
  const err = (text: string) => deps.stderr.write(`${text}\n`);
  let verbose = argv.includes('--verbose');
  try {
    if (argv[0] === 'dashboard') return await (await import('./dashboard.js')).runDashboardCommand(argv.slice(1), deps);
    const parsed = await parseArgs(argv, deps.tool.version);
    if (parsed.kind === 'print') {
      deps.stdout.write(`${parsed.text}\n`);
      return ExitCode.Success;
    }
    verbose = parsed.options.verbose;
    return await run(parsed.options, deps);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      err(`deferred-migrate: ${error.message}`);
      if (error instanceof UsageError) err('Run deferred-migrate --help for the flags.');
      return ExitCode.UsageError;
    }
    err(`deferred-migrate: internal error: ${error instanceof Error ? error.message : String(error)}`);
    if (verbose && error instanceof Error && error.stack) err(error.stack);
    else err('Run again with --verbose for the stack trace, and please report it.');
    return ExitCode.InternalError;
  }
}

interface Settings {
  mode: RunMode;
  paths: string[];
  allowDirty: boolean;
  report?: ReportFormat;
  reportFile?: string;
  migrateOptions: Omit<MigrateOptions, 'onProgress'>;
}

async function run(options: CliOptions, deps: CliDeps): Promise<number> {
  const warn = (text: string) => {
    if (!options.quiet) deps.stderr.write(`deferred-migrate: warning: ${text}\n`);
  };
  const cwd = path.resolve(deps.cwd);
  const { root, gitRoot, configFrom } = await runRoot(cwd, options.paths.map((p) => path.resolve(cwd, p)));
  const loaded = options.config ? await loadConfigFile(path.resolve(cwd, options.config)) : await findConfig(configFrom, root);
  loaded.warnings.forEach(warn);
  if (options.verbose && loaded.source) deps.stderr.write(`deferred-migrate: config from ${loaded.source}\n`);
  const settings = resolveSettings(options, loaded.config, cwd, root, deps.docsBase);

  const reportToStdout = settings.report !== undefined && settings.reportFile === undefined;
  // stdout stays machine-readable when it carries the report.
  const human: CliStream = reportToStdout ? deps.stderr : deps.stdout;
  const color = useColor({ flag: options.color, env: deps.env, isTTY: human.isTTY === true });
  const say = (text: string) => {
    if (!options.quiet) human.write(`${text}\n`);
  };

  let untracked: GitStatusEntry[] = [];
  if (settings.mode === 'write') {
    const guard = await guardGitTree(settings, options, deps, warn);
    if (guard.exitCode !== undefined) return guard.exitCode;
    untracked = guard.untracked;
  }

  const showProgress = !options.quiet && (options.progress || deps.stderr.isTTY === true);
  const progress = showProgress ? createProgress({ stream: deps.stderr, inPlace: deps.stderr.isTTY === true }) : undefined;
  const started = performance.now();
  let result: MigrationResult;
  try {
    result = await deps.migrate({
      ...settings.migrateOptions,
      ...(deps.shimTypes ? { shimTypes: deps.shimTypes } : {}),
      onProgress: progress ? (done, total) => progress.update(done, total) : undefined,
      ...(progress ? { onPhase: (text: string) => progress.phase(text) } : {}),
    });
  } finally {
    progress?.finish();
  }
  result = countUnlistedAsUnchanged(result);

  let written: string[] = [];
  const docsUrlOf = settings.migrateOptions.docsBase !== undefined ? (code: ReasonCode) => docsUrl(code, settings.migrateOptions.docsBase) : deps.docsUrl;
  if (settings.mode === 'write') {
    const applied = await applyChanges(result, { fs: deps.writeFs, docsUrl: docsUrlOf });
    result = applied.result;
    written = applied.written;
    warnUntrackedWrites(written, untracked, warn);
    if (written.length > 0 && gitRoot !== undefined) result = await keepDataDirOutOfGit(result, written, gitRoot, deps, docsUrlOf, warn);
  }
  // The summary's speed covers the whole run as the user waited for it.
  result = { ...result, durationMs: Math.max(result.durationMs, performance.now() - started) };
  const report: RunReport = { tool: deps.tool, mode: settings.mode, result };

  if (settings.mode === 'dry-run') {
    const diffTarget = reportToStdout ? (options.verbose ? deps.stderr : undefined) : deps.stdout;
    if (diffTarget && !options.quiet) {
      const diffColor = useColor({ flag: options.color, env: deps.env, isTTY: diffTarget.isTTY === true });
      for (const f of notableFiles(result)) {
        if (f.status !== 'failed' && hasChanges(f)) diffTarget.write(fileDiff(f.file, f.original, f.updated!, { color: diffColor }));
      }
    }
  }

  const lines = settings.mode === 'check' ? remainingUsageLines(result, painter(color)) : statusLines(settings.mode, result, { color, verbose: options.verbose });
  lines.forEach(say);
  const items = allItems(result);
  const manual = items.filter(isManual);
  const notes = items.filter((i) => !isManual(i));
  if (manual.length > 0) {
    say(`\nManual steps (${manual.length}; each line links its docs):`);
    itemLines(manual, { color }).forEach((l) => say(`  ${l}`));
  }
  if (notes.length > 0 && options.verbose) {
    say(`\nNotes (${notes.length}):`);
    itemLines(notes, { color }).forEach((l) => say(`  ${l}`));
  } else if (notes.length > 0) say(`(${notes.length} note${notes.length === 1 ? '' : 's'} on what was done: --verbose or a report lists them)`);
  if (options.quiet) {
    for (const item of items.filter((i) => i.severity === 'error')) deps.stderr.write(`deferred-migrate: ${item.file}:${item.line}:${item.column} ${item.code}: ${item.message}\n`);
  }
  say(summaryLine(result, { color }));

  const remaining = result.files.some((f) => f.status !== 'failed' && hasChanges(f)) || manual.length > 0;
  if (settings.mode === 'check') say(remaining ? 'Legacy usages remain.' : 'No legacy usages remain.');
  else if (settings.mode === 'write' && written.length > 0) say(`Wrote ${written.length} file${written.length === 1 ? '' : 's'}.`);
  else if (settings.mode === 'dry-run') say('Dry run: nothing was written.');

  let reportFailed = false;
  if (settings.report !== undefined) {
    const text = renderReport(settings.report, report, options.linkBase);
    if (settings.reportFile === undefined) deps.stdout.write(text);
    else {
      await mkdir(path.dirname(settings.reportFile), { recursive: true }).catch(() => undefined); // the write reports the failure
      const outcome = await writeFileAtomic(settings.reportFile, text, { fs: deps.writeFs });
      if (!outcome.ok) {
        deps.stderr.write(`deferred-migrate: could not write the report to ${settings.reportFile}: ${outcome.message}\n`);
        reportFailed = true;
      } else say(`Report written to ${path.relative(cwd, settings.reportFile) || settings.reportFile}.`);
    }
  }

  if (result.summary.failed > 0 || reportFailed) return ExitCode.FileFailures;
  if (settings.mode === 'check' && remaining) return ExitCode.LegacyUsagesRemain;
  return ExitCode.Success;
}

/**
 * The engine lists candidate files only; every other scanned file is unchanged too, and
 * the summary line must add up to the files scanned.
 */
function countUnlistedAsUnchanged(result: MigrationResult): MigrationResult {
  const s = result.summary;
  const unchanged = Math.max(s.unchanged, s.scanned - s.migrated - s.manual - s.failed);
  return unchanged === s.unchanged ? result : { ...result, summary: { ...s, unchanged } };
}

/**
 * The run's root: the work tree (or directory) of the current directory, unless the
 * given paths lie outside it (`deferred-migrate ../other-repo/src`): then the work tree
 * they share, else the directory they share. The root bounds the config search, the
 * type check's tsconfig search and the .gitignore updates, so it must hold the paths.
 */
async function runRoot(cwd: string, given: string[]): Promise<{ root: string; gitRoot: string | undefined; configFrom: string }> {
  const gitRoot = await gitTopLevel(cwd);
  const root = gitRoot ?? cwd;
  if (given.every((p) => isWithin(p, root))) return { root, gitRoot, configFrom: cwd };
  const dirs = given.map((p) => (existsSync(p) && !statSync(p).isDirectory() ? path.dirname(p) : p));
  let shared = dirs[0]!;
  while (!dirs.every((d) => isWithin(d, shared))) shared = path.dirname(shared);
  const tops = await Promise.all(dirs.filter((d) => existsSync(d)).map((d) => gitTopLevel(d)));
  const top = tops.length > 0 && tops.every((t) => t !== undefined && t === tops[0]) ? tops[0] : undefined;
  return top !== undefined ? { root: top, gitRoot: top, configFrom: shared } : { root: shared, gitRoot: undefined, configFrom: shared };
}

function resolveSettings(options: CliOptions, config: FileConfig, cwd: string, root: string, defaultDocsBase: string | undefined): Settings {
  const paths = options.paths.length > 0 ? options.paths.map((p) => path.resolve(cwd, p)) : (config.paths ?? [cwd]);
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length > 0) throw new UsageError(`path${missing.length > 1 ? 's' : ''} not found: ${missing.map((p) => path.relative(cwd, p) || p).join(', ')}`);

  const reportFile = options.reportFile !== undefined ? path.resolve(cwd, options.reportFile) : options.report !== undefined ? undefined : config.reportFile;
  let report = options.report ?? (options.reportFile !== undefined ? undefined : config.report);
  if (reportFile !== undefined && report === undefined) {
    report = formatFromExtension(reportFile);
    if (report === undefined) throw new UsageError(`cannot tell the report format of ${reportFile}: pass --report json|markdown|sarif or use .json, .md or .sarif`);
  }

  const mode: RunMode = options.command === 'check' ? 'check' : options.dryRun ? 'dry-run' : 'write';
  const legacyModules = [...(config.legacyModules ?? []), ...options.legacyModules];
  const legacyWebappModules = [...(config.legacyWebappModules ?? []), ...options.legacyWebappModules];
  const shimModule = options.shimModule ?? config.shimModule;
  const verify = options.verify ?? config.verify;
  const strict = options.strict ?? config.strict;
  const markers = options.markers ?? config.markers;
  const docsBase = options.docsBase ?? config.docsBase ?? defaultDocsBase;
  return {
    mode,
    paths,
    allowDirty: options.allowDirty ?? config.allowDirty ?? false,
    report,
    reportFile,
    migrateOptions: {
      paths,
      root,
      ...(legacyModules.length > 0 ? { legacyModules } : {}),
      ...(legacyWebappModules.length > 0 ? { legacyWebappModules } : {}),
      ...(shimModule !== undefined ? { shimModule } : {}),
      ...(verify !== undefined ? { verify } : {}),
      ...(strict !== undefined ? { strict } : {}),
      ...(markers !== undefined ? { markers } : {}),
      ...(docsBase !== undefined ? { docsBase } : {}),
    },
  };
}

function formatFromExtension(file: string): ReportFormat | undefined {
  const lower = file.toLowerCase();
  if (lower.endsWith('.sarif') || lower.endsWith('.sarif.json')) return 'sarif';
  if (lower.endsWith('.json')) return 'json';
  if (lower.endsWith('.md') || lower.endsWith('.markdown')) return 'markdown';
  return undefined;
}

function renderReport(format: ReportFormat, report: RunReport, linkBase: string | undefined): string {
  switch (format) {
    case 'json':
      return renderJson(report);
    case 'markdown':
      return renderMarkdown(report, linkBase !== undefined ? { linkBase } : {});
    case 'sarif':
      return renderSarif(report);
  }
}

/** `exitCode` set when the run must stop; `untracked` files under the paths otherwise. */
async function guardGitTree(
  settings: Settings,
  options: CliOptions,
  deps: CliDeps,
  warn: (text: string) => void,
): Promise<{ exitCode?: number; untracked: GitStatusEntry[] }> {
  const state = await gitTreeState(settings.paths);
  const proceed = { untracked: state.untracked };
  if (!state.isRepo) {
    warn('not a git repository: writing without the dirty-tree check (changes cannot be undone with git)');
    return proceed;
  }
  if (state.outside.length > 0) warn(`outside any git work tree, written without the dirty-tree check: ${state.outside.join(', ')}`);
  if (state.dirty.length === 0) return proceed;
  if (settings.allowDirty) {
    warn(`${state.dirty.length} file${state.dirty.length === 1 ? '' : 's'} with uncommitted changes under the paths; --allow-dirty given, the migration's changes will mix with them`);
    return proceed;
  }
  const cwd = path.resolve(deps.cwd);
  const listed = state.dirty.slice(0, options.verbose ? undefined : MAX_LISTED_GIT_ENTRIES).map((e) => `  ${e.code} ${path.relative(cwd, e.path)}`);
  const more = state.dirty.length - listed.length;
  deps.stderr.write(
    [
      `deferred-migrate: refusing to write: ${state.dirty.length} file${state.dirty.length === 1 ? '' : 's'} under the given paths ha${state.dirty.length === 1 ? 's' : 've'} uncommitted changes:`,
      ...listed,
      ...(more > 0 ? [`  … and ${more} more`] : []),
      'Commit or stash them first so the migration is one reviewable diff, or pass --allow-dirty (--dry-run writes nothing and needs neither).',
      '',
    ].join('\n'),
  );
  return { exitCode: ExitCode.DirtyTree, untracked: state.untracked };
}

/** `.deferred/` into the app's .gitignore; a note item on the .gitignore says so. */
async function keepDataDirOutOfGit(
  result: MigrationResult,
  written: string[],
  gitRoot: string,
  deps: CliDeps,
  docsUrlOf: (code: ReasonCode) => string,
  warn: (text: string) => void,
): Promise<MigrationResult> {
  const { updates, errors } = await ignoreDataDirectories(written, gitRoot, deps.writeFs);
  errors.forEach((e) => warn(`could not add ${DATA_DIR_ENTRY} to a .gitignore: ${e}`));
  if (updates.length === 0) return result;
  const files = [...result.files];
  for (const update of updates) {
    const rel = path.relative(result.root, update.file).split(path.sep).join('/');
    const item: ReportItem = {
      file: rel,
      line: update.line,
      column: 1,
      code: 'data-dir-gitignore',
      severity: 'note',
      message: `${update.created ? 'Created this .gitignore with' : 'Added'} ${DATA_DIR_ENTRY}: the migrated app keeps its task queue there when it runs, which must not be committed.`,
      rule: WRITE_RULE,
      docsUrl: docsUrlOf('data-dir-gitignore'),
    };
    // The note rides on the first written file of that app (reports list items per file).
    const owner = files.findIndex((f) => written.includes(f.absPath) && appDirectoryOf(f.absPath, gitRoot) === path.dirname(update.file));
    const index = owner >= 0 ? owner : files.findIndex((f) => written.includes(f.absPath));
    if (index >= 0) files[index] = { ...files[index]!, items: [...files[index]!.items, item] };
  }
  return { ...result, files };
}

/** A write to an untracked file cannot be undone with git: say so. */
function warnUntrackedWrites(written: string[], untrackedEntries: GitStatusEntry[], warn: (text: string) => void): void {
  const untracked = new Set(untrackedEntries.map((e) => e.path));
  const hits = written.filter((p) => untracked.has(p));
  if (hits.length > 0) warn(`wrote ${hits.length} file${hits.length === 1 ? '' : 's'} not tracked by git (no copy to go back to): ${hits.join(', ')}`);
}
