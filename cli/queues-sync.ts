// `deferred-migrate queues plan|apply queue.yaml`: queue.yaml onto Cloud Tasks.
// `plan` prints what would change (create; update with old -> new values; queues
// the file does not name); `apply` prints the same and does it through
// @google-cloud/tasks. Connection settings are the shim's Cloud Tasks keys
// (DEFERRED_CLOUD_TASKS_*, GOOGLE_APPLICATION_CREDENTIALS...); --project and
// --location win.
import * as path from 'node:path';
import yargs from 'yargs';
import { painter, useColor, type Painter } from '../codemods/report/color.js';
import { CloudTasksConfigError, mergeWithEnv, type CloudTasksConfig } from '../shim/backends/cloud-tasks/config.js';
import { createCloudTasksClient } from '../shim/backends/cloud-tasks/client.js';
import {
  applyPlan,
  planQueues,
  QueueMappingError,
  type CloudTasksQueue,
  type QueueAdminClient,
  type QueuePlan,
  type QueuePlanEntry,
} from '../shim/backends/cloud-tasks/queue-plan.js';
import { loadQueueYaml, QueueYamlError, type QueueConfig } from '../shim/queues/queue-yaml.js';
import type { CliStream } from './main.js';

/** Exit codes of `queues plan` / `queues apply` (also in docs/cli.md). */
export const QueueSyncExit = {
  /** Plan printed; or every change applied (or nothing to change). */
  Success: 0,
  /** Bad flags, missing project/location, unreadable or malformed queue.yaml, or a value Cloud Tasks refuses (rate above 500/s...): nothing applied. */
  UsageError: 2,
  /** Cloud Tasks could not be reached or refused a call; `apply` lists what it did before. */
  CloudTasksError: 7,
  InternalError: 70,
} as const;

const HELP_EPILOGUE = `Connection: the shim's Cloud Tasks settings (docs/cloud-tasks.md): DEFERRED_CLOUD_TASKS_PROJECT
(or GOOGLE_CLOUD_PROJECT), DEFERRED_CLOUD_TASKS_LOCATION, DEFERRED_CLOUD_TASKS_QUEUE_PREFIX /
DEFERRED_CLOUD_TASKS_QUEUES (queue.yaml name -> queue id), DEFERRED_CLOUD_TASKS_ENDPOINT,
GOOGLE_APPLICATION_CREDENTIALS; --project and --location win.

Exit codes:
  0   plan printed; apply: every change made (or nothing to change)
  2   usage or configuration error, malformed queue.yaml, or a value Cloud Tasks
      refuses (rate above 500/s, max_concurrent_requests above 5000): nothing applied
  7   Cloud Tasks unreachable or refused a call (apply lists what it did before)
  70  internal error`;

export interface QueueSyncDeps {
  cwd: string;
  env: Record<string, string | undefined>;
  stdout: CliStream;
  stderr: CliStream;
  /** The admin client (tests may pass their own); default: @google-cloud/tasks from the settings. */
  createClient?: (config: CloudTasksConfig, project: string) => Promise<QueueAdminClient & { close(): Promise<void> }>;
}

interface SyncOptions {
  command: 'plan' | 'apply';
  file: string;
  project?: string;
  location?: string;
  json: boolean;
  color?: boolean;
  timeoutMs: number;
}

/** `argv` starts after `queues` (`plan queue.yaml --project p ...`). */
export async function runQueueSync(argv: string[], deps: QueueSyncDeps): Promise<number> {
  const err = (text: string) => deps.stderr.write(`deferred-migrate: ${text}\n`);
  let options: SyncOptions;
  try {
    const parsed = await parse(argv);
    if (typeof parsed === 'string') {
      deps.stdout.write(`${parsed}\n`);
      return QueueSyncExit.Success;
    }
    options = parsed;
  } catch (error) {
    err((error as Error).message);
    err('Run deferred-migrate queues plan --help for the flags.');
    return QueueSyncExit.UsageError;
  }

  let file: QueueConfig;
  let config: CloudTasksConfig;
  try {
    file = loadQueueYaml(path.resolve(deps.cwd, options.file));
    config = mergeWithEnv({ ...(options.project ? { project: options.project } : {}), ...(options.location ? { location: options.location } : {}) }, deps.env);
    const missing = [!config.project && '--project (or DEFERRED_CLOUD_TASKS_PROJECT, GOOGLE_CLOUD_PROJECT)', !config.location && '--location (or DEFERRED_CLOUD_TASKS_LOCATION)'].filter(Boolean);
    if (missing.length > 0) throw new CloudTasksConfigError(`queues ${options.command} needs ${missing.join(' and ')}.`);
  } catch (error) {
    if (error instanceof QueueYamlError || error instanceof CloudTasksConfigError) {
      err(error.message);
      return QueueSyncExit.UsageError;
    }
    throw error;
  }
  const project = config.project!;
  const location = config.location!;
  const parent = `projects/${project}/locations/${location}`;
  const paint = painter(useColor({ flag: options.color, env: deps.env, isTTY: deps.stdout.isTTY === true && !options.json }));

  let client: (QueueAdminClient & { close(): Promise<void> }) | undefined;
  const applied: string[] = [];
  let plan: QueuePlan | undefined;
  try {
    client = await (deps.createClient ?? defaultClient(options.timeoutMs))(config, project);
    let existing: CloudTasksQueue[];
    try {
      [existing] = await client.listQueues({ parent }, { timeout: options.timeoutMs });
    } catch (error) {
      throw new CloudTasksCallError(`ListQueues ${parent} failed: ${rpcReason(error)}`, { cause: error });
    }
    plan = planQueues(file, existing, { project, location, config });
    if (!options.json) deps.stdout.write(renderPlan(plan, file.source ?? options.file, paint));
    if (options.command === 'apply') {
      await applyPlan(plan, file, client, config, { timeout: options.timeoutMs }, ({ entry }) => {
        applied.push(entry.queueId);
        if (!options.json) deps.stdout.write(`${entry.action === 'create' ? 'Created' : 'Updated'} ${entry.queueId}.\n`);
      }).catch((error: unknown) => {
        throw new CloudTasksCallError((error as Error).message, { cause: error });
      });
      if (!options.json) deps.stdout.write(applied.length > 0 ? `Applied: ${applied.length} queue${applied.length === 1 ? '' : 's'} changed.\n` : 'Nothing to apply.\n');
    }
    if (options.json) deps.stdout.write(`${JSON.stringify({ ...plan, ...(options.command === 'apply' ? { applied } : {}) }, null, 2)}\n`);
    return QueueSyncExit.Success;
  } catch (error) {
    if (error instanceof QueueMappingError) {
      if (options.json) deps.stdout.write(`${JSON.stringify({ project, location, parent, errors: error.problems }, null, 2)}\n`);
      err(`${file.source ?? options.file} cannot be applied to Cloud Tasks; nothing was changed:`);
      error.problems.forEach((problem) => deps.stderr.write(`  ${problem}\n`));
      return QueueSyncExit.UsageError;
    }
    if (error instanceof CloudTasksConfigError) {
      // Credentials or the client package: configuration, before any call.
      err(error.message);
      return QueueSyncExit.UsageError;
    }
    if (error instanceof CloudTasksCallError) {
      if (options.json && plan) deps.stdout.write(`${JSON.stringify({ ...plan, applied, error: error.message }, null, 2)}\n`);
      err(error.message);
      if (options.command === 'apply' && plan) err(applied.length > 0 ? `Applied before the failure: ${applied.join(', ')}.` : 'Nothing was applied.');
      return QueueSyncExit.CloudTasksError;
    }
    throw error;
  } finally {
    await client?.close().catch(() => undefined);
  }
}

class CloudTasksCallError extends Error {}

function defaultClient(timeoutMs: number) {
  return (config: CloudTasksConfig, project: string) =>
    createCloudTasksClient<QueueAdminClient & { close(): Promise<void> }>(config, project, timeoutMs);
}

function rpcReason(error: unknown): string {
  return (error as { details?: string }).details || (error as Error)?.message || String(error);
}

const MARK: Record<QueuePlanEntry['action'], [string, Parameters<Painter>[0]]> = {
  create: ['+', 'green'],
  update: ['~', 'yellow'],
  unchanged: ['=', 'dim'],
  skip: ['!', 'magenta'],
  'not-in-file': ['?', 'cyan'],
};

const VERB: Record<QueuePlanEntry['action'], string> = {
  create: 'create',
  update: 'update',
  unchanged: 'unchanged',
  skip: 'skip',
  'not-in-file': 'not in the file',
};

/** The plan as text: one block per queue, field changes as `old → new`. */
export function renderPlan(plan: QueuePlan, source: string, paint: Painter): string {
  const lines = [`Cloud Tasks queues in ${plan.parent} for ${source}:`, ''];
  const width = Math.max(0, ...plan.entries.flatMap((e) => e.changes.map((c) => c.path.length)));
  for (const entry of plan.entries) {
    const [mark, style] = MARK[entry.action];
    const label = entry.name !== undefined && entry.name !== entry.queueId ? `${entry.queueId} (queue.yaml "${entry.name}")` : entry.queueId;
    lines.push(paint(style, `  ${mark} ${VERB[entry.action]} ${label}`));
    for (const change of entry.changes) {
      const value = change.from !== undefined ? `${change.from} → ${change.to}` : entry.action === 'create' ? change.to : `(unset) → ${change.to}`;
      lines.push(`      ${change.path.padEnd(width)}  ${value}`);
    }
    for (const note of entry.notes) lines.push(paint('dim', `      note: ${note}`));
  }
  for (const note of plan.notes) lines.push(paint('dim', `  note: ${note}`));
  const count = (action: QueuePlanEntry['action']) => plan.entries.filter((e) => e.action === action).length;
  lines.push('', `Plan: ${count('create')} to create, ${count('update')} to update, ${count('unchanged')} unchanged, ${count('skip')} skipped, ${count('not-in-file')} not in the file.`);
  return `${lines.join('\n')}\n`;
}

async function parse(argv: string[]): Promise<SyncOptions | string> {
  const parser = yargs()
    .scriptName('deferred-migrate queues')
    .command('plan <file>', 'Print what applying queue.yaml would change on Cloud Tasks (changes nothing)', (y) => y.epilogue(HELP_EPILOGUE))
    .command('apply <file>', 'Create and update Cloud Tasks queues to match queue.yaml (prints the plan first)', (y) => y.epilogue(HELP_EPILOGUE))
    .demandCommand(1, 'Name a command: plan or apply.')
    .positional('file', { type: 'string', describe: 'The queue.yaml file' })
    .option('project', { type: 'string', describe: 'Google Cloud project id (default: DEFERRED_CLOUD_TASKS_PROJECT, GOOGLE_CLOUD_PROJECT)' })
    .option('location', { type: 'string', describe: 'Cloud Tasks location, e.g. us-central1 (default: DEFERRED_CLOUD_TASKS_LOCATION)' })
    .option('json', { type: 'boolean', describe: 'Print the plan (and what was applied) as JSON on stdout' })
    .option('color', { type: 'boolean', describe: 'Force colour on (--color) or off (--no-color); default: on a TTY unless NO_COLOR' })
    .option('timeout', { type: 'number', default: 30, describe: 'Seconds to wait for credentials, and for each Cloud Tasks call (retries included)' })
    .strict()
    .exitProcess(false)
    .version(false)
    .help()
    .alias('h', 'help')
    .epilogue(HELP_EPILOGUE)
    .wrap(Math.min(120, process.stdout.columns || 120));
  return new Promise((resolve, reject) => {
    parser.parse(argv, {}, (error: Error | undefined, args: Record<string, unknown>, output: string) => {
      if (error) return reject(error);
      if (args.help) return resolve(output);
      const command = (args._ as unknown[])[0];
      if (command !== 'plan' && command !== 'apply') return reject(new Error(`Unknown command ${JSON.stringify(command)}: use plan or apply.`));
      const timeout = Number(args.timeout);
      if (!(timeout > 0)) return reject(new Error('--timeout must be a positive number of seconds.'));
      for (const flag of ['project', 'location'] as const) {
        if (Array.isArray(args[flag])) return reject(new Error(`--${flag} given more than once.`));
        if (args[flag] === '') return reject(new Error(`--${flag} needs a value.`));
      }
      resolve({
        command,
        file: String(args.file),
        project: args.project as string | undefined,
        location: args.location as string | undefined,
        json: args.json === true,
        color: typeof args.color === 'boolean' ? args.color : undefined,
        timeoutMs: timeout * 1000,
      });
    });
  });
}
