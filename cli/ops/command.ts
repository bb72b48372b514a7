// `deferred-migrate queues ...` and `deferred-migrate tasks ...`: see and act on
// the tasks of a running app (docs/operations.md). Works on the embedded queue
// file beside the app, or on another backend through --backend.
import { resolve } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { painter, useColor } from '../../codemods/report/color.js';
import { CloudTasksUnavailableError } from '../../shim/backends/cloud-tasks/backend.js';
import { CloudTasksConfigError } from '../../shim/backends/cloud-tasks/config.js';
import { QueueFileError } from '../../shim/backends/local/sqlite-store.js';
import { TASK_STATES, TaskNotFoundError, TaskStateError, type QueueOperations, type TaskState } from '../../shim/operations/types.js';
import { loadQueueYaml, QueueYamlError } from '../../shim/queues/queue-yaml.js';
import { resolveQueues } from '../../shim/runtime/runtime.js';
import { encodeValue } from '../../shim/serialization/codec.js';
import { ExitCode, OPS_EXIT_CODE_HELP, UsageError } from '../exit-codes.js';
import { OPERATIONS_BACKENDS, OperationsTargetMissing } from './backends.js';
import { queuesTable, taskDetails, tasksTable } from './render.js';

export interface OpsStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface OpsDeps {
  cwd: string;
  env: Record<string, string | undefined>;
  stdout: OpsStream;
  stderr: OpsStream;
  /** Whether stdin is a terminal one can ask a question on. */
  stdinIsTTY: boolean;
  /** Asks a yes/no question on the terminal. */
  confirm: (question: string) => Promise<boolean>;
}

interface Parsed {
  group: 'queues' | 'tasks';
  action: string;
  queue?: string;
  name?: string;
  state?: TaskState;
  limit?: number;
  allFailed: boolean;
  yes: boolean;
  json: boolean;
  dataDir?: string;
  backend: string;
  queueYaml?: string;
  color?: boolean;
}

type ParseOutcome = { kind: 'run'; parsed: Parsed } | { kind: 'print'; text: string };

const SHARED_NOTE = `The embedded backend works on the queue file of a running app: SQLite in WAL
mode lets the app and this command read at once, and every change is one short
transaction (the app's writes wait at most a few milliseconds for it).`;

function common(y: Argv): Argv {
  return y
    .option('json', { type: 'boolean', describe: 'Print JSON (for scripts) instead of a table', group: 'Output:' })
    .option('color', { type: 'boolean', describe: 'Force colour on (--color) or off (--no-color); default: on a TTY unless NO_COLOR', group: 'Output:' })
    .option('backend', {
      type: 'string',
      choices: Object.keys(OPERATIONS_BACKENDS),
      describe: 'Queue backend to work on (default: DEFERRED_BACKEND, else embedded)',
      group: 'Queue:',
    })
    .option('data-dir', { type: 'string', describe: "Directory of the embedded queue file (default: DEFERRED_DATA_DIR, else .deferred, as the shim)", group: 'Queue:' })
    .option('queue-yaml', { type: 'string', describe: 'queue.yaml whose limits to show (default: DEFERRED_QUEUES, else queue.yaml beside app.yaml)', group: 'Queue:' })
    .epilogue(`${OPS_EXIT_CODE_HELP}\n\n${SHARED_NOTE}`);
}

function buildParser(version: string): Argv {
  const queueOption = { type: 'string', describe: 'Queue of the task (needed when several queues have a task of that name)' } as const;
  return yargs()
    .scriptName('deferred-migrate')
    .command('queues', 'See and act on queues', (y) =>
      common(y)
        .command('ls', 'Per queue: tasks per state, age of the oldest due task, paused or not, the limits in force', (c) => c)
        .command('pause <queue>', 'Stop delivering the queue\'s tasks (enqueueing goes on); running apps notice within a second', (c) =>
          c.positional('queue', { type: 'string', demandOption: true }),
        )
        .command('resume <queue>', 'Deliver the queue\'s tasks again', (c) => c.positional('queue', { type: 'string', demandOption: true }))
        .command('purge <queue>', 'Delete the queue\'s pending, retrying and failed tasks (asks first)', (c) =>
          c
            .positional('queue', { type: 'string', demandOption: true })
            .option('yes', { alias: 'y', type: 'boolean', describe: 'Do not ask for confirmation (needed when stdin is not a terminal)' }),
        )
        // Listed for --help only: runCli hands these to cli/queues-sync.ts before this parser runs.
        .command('plan <file>', 'Print what applying queue.yaml would change on Cloud Tasks (see queues plan --help)', (c) => c)
        .command('apply <file>', 'Create and update Cloud Tasks queues to match queue.yaml (see queues apply --help)', (c) => c)
        .demandCommand(1, 'Name a queues command: ls, pause, resume or purge'),
    )
    .command('tasks', 'See and act on tasks', (y) =>
      common(y)
        .command('ls', 'List tasks: name, queue, state, function, eta, attempts, last error', (c) =>
          c
            .option('queue', { type: 'string', describe: 'Only this queue' })
            .option('state', { type: 'string', choices: TASK_STATES as unknown as string[], describe: 'Only tasks in this state' })
            .option('limit', { type: 'number', default: 50, describe: 'At most this many tasks' }),
        )
        .command('show <name>', 'Everything about a task, its arguments decoded (Dates, Maps, bytes as such) and its failed attempts', (c) =>
          c.positional('name', { type: 'string', demandOption: true }).option('queue', queueOption),
        )
        .command('retry [name]', 'Run a failed (or waiting) task now; --all-failed for every failed task', (c) =>
          c
            .positional('name', { type: 'string' })
            .option('all-failed', { type: 'boolean', describe: 'Retry every failed task (of --queue, if given)' })
            .option('queue', queueOption),
        )
        .command('delete <name>', 'Delete a task that is not running now', (c) => c.positional('name', { type: 'string', demandOption: true }).option('queue', queueOption))
        .demandCommand(1, 'Name a tasks command: ls, show, retry or delete'),
    )
    .strict()
    .exitProcess(false)
    .version(version)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(120, process.stdout.columns || 120));
}

function parse(argv: string[], version: string): Promise<ParseOutcome> {
  return new Promise((resolve, reject) => {
    buildParser(version).parse(argv, {}, (error: Error | undefined, a: Record<string, unknown>, output: string) => {
      if (error) return reject(new UsageError(error.message));
      if (a.help || a.version) return resolve({ kind: 'print', text: output });
      const [group, action] = (a._ as unknown[]).map(String) as ['queues' | 'tasks', string];
      const parsed: Parsed = {
        group,
        action,
        allFailed: a.allFailed === true,
        yes: a.yes === true,
        json: a.json === true,
        backend: typeof a.backend === 'string' ? a.backend : 'embedded',
      };
      for (const key of ['queue', 'name', 'dataDir', 'queueYaml'] as const) {
        const value = a[key];
        if (value === undefined) continue;
        if (Array.isArray(value)) return reject(new UsageError(`--${key} given more than once`));
        if (String(value).trim() === '') return reject(new UsageError(`${key} needs a non-empty value`));
        parsed[key] = String(value);
      }
      if (a.state !== undefined) parsed.state = a.state as TaskState;
      if (a.limit !== undefined) {
        const limit = Number(a.limit);
        if (!Number.isInteger(limit) || limit < 1) return reject(new UsageError(`--limit must be a positive integer, got ${String(a.limit)}`));
        parsed.limit = limit;
      }
      if (typeof a.color === 'boolean') parsed.color = a.color;
      if (group === 'tasks' && action === 'retry' && (parsed.name === undefined) === !parsed.allFailed) {
        return reject(new UsageError('tasks retry needs a task name or --all-failed (not both)'));
      }
      resolve({ kind: 'run', parsed });
    });
  });
}

/** Runs a `queues` / `tasks` command line; resolves to the exit code. */
export async function runOpsCli(argv: string[], deps: OpsDeps, version: string): Promise<number> {
  const err = (text: string) => deps.stderr.write(`deferred-migrate: ${text}\n`);
  let outcome: ParseOutcome;
  try {
    outcome = await parse(argv, version);
  } catch (error) {
    err((error as Error).message);
    err(`Run deferred-migrate ${argv[0]} --help for the commands and flags.`);
    return ExitCode.UsageError;
  }
  if (outcome.kind === 'print') {
    deps.stdout.write(`${outcome.text}\n`);
    return ExitCode.Success;
  }
  const options = outcome.parsed;
  if (argv.every((arg) => arg !== '--backend' && !arg.startsWith('--backend='))) options.backend = deps.env.DEFERRED_BACKEND || 'embedded';
  if (!(options.backend in OPERATIONS_BACKENDS)) {
    err(`--backend ${options.backend} has no queues/tasks commands; use ${Object.keys(OPERATIONS_BACKENDS).join(' or ')}`);
    return ExitCode.UsageError;
  }
  let ops: QueueOperations | undefined;
  try {
    const queues = options.queueYaml !== undefined ? loadQueueYaml(resolve(deps.cwd, options.queueYaml)) : resolveQueues(deps.env.DEFERRED_QUEUES || undefined, deps.cwd);
    ops = await OPERATIONS_BACKENDS[options.backend]!({
      cwd: deps.cwd,
      env: deps.env,
      dataDir: options.dataDir ?? (deps.env.DEFERRED_DATA_DIR || '.deferred'),
      queues,
    });
    return await execute(options, ops, deps);
  } catch (error) {
    if (error instanceof UsageError || error instanceof QueueYamlError) {
      err(error.message);
      return ExitCode.UsageError;
    }
    if (error instanceof TaskNotFoundError || error instanceof OperationsTargetMissing) {
      err(error.message);
      return ExitCode.NotFound;
    }
    if (error instanceof TaskStateError) {
      err(error.message);
      return ExitCode.WrongState;
    }
    // Cloud Tasks: an unknown queue, or settings/credentials missing (5); the service unreachable or refusing (7).
    if (error instanceof CloudTasksConfigError) {
      err(error.message);
      return ExitCode.NotFound;
    }
    if (error instanceof QueueFileError || error instanceof CloudTasksUnavailableError) {
      err(error.message);
      return ExitCode.QueueUnavailable;
    }
    err(`internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return ExitCode.InternalError;
  } finally {
    await ops?.close();
  }
}

async function execute(options: Parsed, ops: QueueOperations, deps: OpsDeps): Promise<number> {
  const color = !options.json && useColor({ flag: options.color, env: deps.env, isTTY: deps.stdout.isTTY === true });
  const paint = painter(color);
  const print = (text: string) => deps.stdout.write(`${text}\n`);
  const json = (value: unknown) => print(JSON.stringify(value, null, 2));
  const done = (what: string, value: Record<string, unknown>) => {
    if (options.json) json(value);
    else print(what);
    return ExitCode.Success;
  };
  const queue = options.queue!;
  const name = options.name!;
  switch (`${options.group} ${options.action}`) {
    case 'queues ls': {
      const queues = await ops.listQueues();
      if (options.json) json(queues);
      else print(queuesTable(queues, paint));
      return ExitCode.Success;
    }
    case 'queues pause':
      await ops.pauseQueue(queue);
      return done(`Paused queue ${queue}: running apps stop delivering its tasks within a second.`, { queue, paused: true });
    case 'queues resume':
      await ops.resumeQueue(queue);
      return done(`Resumed queue ${queue}.`, { queue, paused: false });
    case 'queues purge': {
      if (!options.yes) {
        if (!deps.stdinIsTTY) {
          throw new UsageError(`queues purge deletes tasks for good: pass --yes to confirm (stdin is not a terminal to ask on)`);
        }
        const summary = (await ops.listQueues()).find((q) => q.name === queue);
        const count = summary ? summary.counts.pending + summary.counts.retry + summary.counts.failed : 0;
        if (!(await deps.confirm(`Delete the ${count} pending, retrying and failed task(s) of queue ${queue}? [y/N] `))) {
          deps.stderr.write('deferred-migrate: nothing purged.\n');
          return ExitCode.Declined;
        }
      }
      const purged = await ops.purgeQueue(queue);
      return done(`Purged ${purged} task(s) from queue ${queue}.`, { queue, purged });
    }
    case 'tasks ls': {
      const page = await ops.listTasks({
        ...(options.queue !== undefined && { queue: options.queue }),
        ...(options.state !== undefined && { state: options.state }),
        limit: options.limit ?? 50,
      });
      if (options.json) json(page);
      else {
        print(tasksTable(page.tasks, paint));
        if (page.nextCursor !== undefined) print(paint('dim', `(more tasks: raise --limit, or narrow with --queue / --state)`));
      }
      return ExitCode.Success;
    }
    case 'tasks show': {
      const task = await ops.getTask(name, options.queue);
      if (options.json) {
        // Arguments in the codec's tagged JSON ({"$t":"date","v":...}): lossless for scripts.
        const { args, ...rest } = task;
        json({ ...rest, ...(args !== undefined && { args: args.map((arg, i) => encodeValue(arg, `argument ${i + 1}`)) }) });
      } else print(taskDetails(task, paint, color));
      return ExitCode.Success;
    }
    case 'tasks retry': {
      if (options.allFailed) {
        const retried = await ops.retryAllFailed(options.queue);
        return done(`Retrying ${retried} failed task(s)${options.queue === undefined ? '' : ` of queue ${options.queue}`} now.`, { retried });
      }
      await ops.retryTask(name, options.queue);
      return done(`Task ${name} is due now; the app runs it within a second.`, { retried: 1, name });
    }
    case 'tasks delete':
      await ops.deleteTask(name, options.queue);
      return done(`Deleted task ${name}.`, { deleted: name });
    default:
      throw new UsageError(`unknown command ${options.group} ${options.action}`);
  }
}
