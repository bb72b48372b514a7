// Command line: yargs definition and the parsed, normalised options.
import yargs, { type Argv } from 'yargs';
import { REPORT_FORMATS, type ReportFormat } from '../codemods/config.js';
import { EXIT_CODE_HELP, UsageError } from './exit-codes.js';

export interface CliOptions {
  command: 'migrate' | 'check';
  /** As given; empty when none (config `paths`, then `.`, apply). */
  paths: string[];
  dryRun: boolean;
  allowDirty?: boolean;
  report?: ReportFormat;
  reportFile?: string;
  legacyModules: string[];
  legacyWebappModules: string[];
  shimModule?: string;
  config?: string;
  color?: boolean;
  progress: boolean;
  quiet: boolean;
  verbose: boolean;
  linkBase?: string;
  docsBase?: string;
  /** undefined: type-check when a tsconfig/jsconfig is found (config `verify`, else auto). */
  verify?: boolean;
  strict?: boolean;
  markers?: boolean;
}

export type ParseOutcome = { kind: 'run'; options: CliOptions } | { kind: 'print'; text: string };

const CONFIG_NOTE = `Configuration: --config <file>, else the nearest deferred-migrate.config.json,
.deferred-migraterc.json or "deferred-migrate" key of package.json between the
working directory and the repository root. Same settings as the flags
(paths, legacyModules, legacyWebappModules, shimModule, allowDirty, report,
reportFile, verify, strict, markers, docsBase); flags win.`;

const COLOR_NOTE = `Colour: --color/--no-color, else FORCE_COLOR (0 disables), else NO_COLOR, else only on a TTY.`;

function sharedOptions(y: Argv): Argv {
  return y
    .positional('paths', { type: 'string', array: true, describe: 'Files or directories to process (default: config "paths", else ".")' })
    .option('report', { choices: REPORT_FORMATS as unknown as string[], describe: 'Print a report to stdout (human output goes to stderr, no diff)', group: 'Reports:' })
    .option('report-file', { type: 'string', describe: 'Write the report to a file instead (format: --report, or .json/.md/.sarif)', group: 'Reports:' })
    .option('link-base', { type: 'string', describe: 'URL prefix of file links in the Markdown report (e.g. a GitHub blob URL)', group: 'Reports:' })
    .option('docs-base', { type: 'string', describe: 'Prefix of the docs links in items and markers, up to "#<code>" (default: the repository URL of the package, else node_modules/deferred-migrate/docs/manual-steps.md)', group: 'Reports:' })
    .option('verify', { type: 'boolean', describe: 'Type-check changed files and their importers before and after, in memory (default: on when a tsconfig.json/jsconfig.json is found); --no-verify skips it', group: 'Verification:' })
    .option('strict', { type: 'boolean', describe: 'Do not write a file whose migration adds a type error (it counts as failed: exit 3)', group: 'Verification:' })
    .option('markers', { type: 'boolean', describe: 'Leave a "// deferred-migrate(<code>)" comment at every manual item (default on); --no-markers turns it off', group: 'Verification:' })
    .option('legacy-module', { type: 'string', describe: 'Also treat this specifier as the legacy deferred module (repeatable)', group: 'Detection:' })
    .option('legacy-webapp-module', { type: 'string', describe: 'Also treat this specifier as the legacy webapp module (repeatable)', group: 'Detection:' })
    .option('shim-module', { type: 'string', describe: 'Specifier the rewritten code imports (default: deferred-migrate/shim)', group: 'Detection:' })
    .option('config', { type: 'string', describe: 'JSON config file (in a package.json: its "deferred-migrate" key)', group: 'Detection:' })
    .option('color', { type: 'boolean', describe: 'Force colour on (--color) or off (--no-color)', group: 'Output:' })
    .option('progress', { type: 'boolean', describe: 'Show progress on stderr even when it is not a TTY (long runs only)', group: 'Output:' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'Print only warnings and errors (reports are still produced)', group: 'Output:' })
    .option('verbose', { type: 'boolean', describe: 'Also list unchanged files, git details and stack traces', group: 'Output:' })
    .conflicts('quiet', 'verbose')
    .epilogue(`${EXIT_CODE_HELP}\n\n${CONFIG_NOTE}\n\n${COLOR_NOTE}`);
}

function buildParser(version: string): Argv {
  return yargs()
    .scriptName('deferred-migrate')
    .command('$0 [paths..]', 'Migrate legacy deferred code to deferred-migrate/shim and write the changes', (y) =>
      sharedOptions(y)
        .option('dry-run', { type: 'boolean', describe: 'Write nothing: print the unified diff, per-file status and the summary', group: 'Mode:' })
        .option('allow-dirty', { type: 'boolean', describe: 'Write even when files under the paths have uncommitted changes', group: 'Mode:' }),
    )
    .command('check [paths..]', 'Write nothing; exit 1 while legacy usages remain, 0 when clean', (y) =>
      sharedOptions(y),
    )
    // Listed for --help only: runCli hands these to cli/ops/command.ts and cli/dashboard.ts before this parser runs.
    .command('queues <command>', 'Queues of a running app: ls, pause, resume, purge (deferred-migrate queues --help)')
    .command('tasks <command>', 'Tasks of a running app: ls, show, retry, delete (deferred-migrate tasks --help)')
    .command('dashboard', 'Serve the task dashboard for the embedded queue on localhost (dashboard --help)')
    .strict()
    .exitProcess(false)
    .version(version)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(120, process.stdout.columns || 120));
}

/** Parses argv (without node and script). Help and version come back as text to print. */
export function parseArgs(argv: string[], version: string): Promise<ParseOutcome> {
  return new Promise((resolve, reject) => {
    buildParser(version).parse(argv, {}, (error: Error | undefined, parsed: Record<string, unknown>, output: string) => {
      if (error) return reject(new UsageError(error.message));
      if (parsed.help || parsed.version) return resolve({ kind: 'print', text: output });
      try {
        resolve({ kind: 'run', options: normalise(parsed) });
      } catch (e) {
        reject(e);
      }
    });
  });
}

function normalise(a: Record<string, unknown>): CliOptions {
  const command = (a._ as unknown[])[0] === 'check' ? 'check' : 'migrate';
  return {
    command,
    paths: strings(a.paths, 'paths'),
    dryRun: command === 'migrate' && a.dryRun === true,
    allowDirty: typeof a.allowDirty === 'boolean' ? a.allowDirty : undefined,
    report: a.report as ReportFormat | undefined,
    reportFile: single(a.reportFile, '--report-file'),
    legacyModules: strings(a.legacyModule, '--legacy-module'),
    legacyWebappModules: strings(a.legacyWebappModule, '--legacy-webapp-module'),
    shimModule: single(a.shimModule, '--shim-module'),
    config: single(a.config, '--config'),
    color: typeof a.color === 'boolean' ? a.color : undefined,
    progress: a.progress === true,
    quiet: a.quiet === true,
    verbose: a.verbose === true,
    linkBase: single(a.linkBase, '--link-base'),
    docsBase: single(a.docsBase, '--docs-base'),
    verify: typeof a.verify === 'boolean' ? a.verify : undefined,
    strict: typeof a.strict === 'boolean' ? a.strict : undefined,
    markers: typeof a.markers === 'boolean' ? a.markers : undefined,
  };
}

function strings(value: unknown, flag: string): string[] {
  if (value === undefined) return [];
  const list = (Array.isArray(value) ? value : [value]).map(String);
  if (list.some((v) => v.trim() === '')) throw new UsageError(`${flag} needs a non-empty value`);
  return list;
}

function single(value: unknown, flag: string): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) throw new UsageError(`${flag} given more than once`);
  const text = String(value);
  if (text.trim() === '') throw new UsageError(`${flag} needs a non-empty value`);
  return text;
}
