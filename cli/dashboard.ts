// `deferred-migrate dashboard [--port] [--host] [--data-dir]`: the task dashboard
// served standalone for the embedded queue file, for a developer or an operator
// on the machine. It binds to loopback by default, where it is open to this
// machine's clients (socket address checked, Host checked against rebinding);
// another --host needs DEFERRED_DASHBOARD_TOKEN (never a flag: flags show in `ps`).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import yargs from 'yargs';
import { Dashboard, DEFAULT_DASHBOARD_PATH } from '../shim/dashboard/dashboard.js';
import { serveDashboardNode } from '../shim/dashboard/http.js';
import { DASHBOARD_TOKEN_ENV } from '../shim/dashboard/mount.js';
import { isLoopbackAddress } from '../shim/dashboard/security.js';
import { QueueFileError } from '../shim/backends/local/sqlite-store.js';
import type { QueueOperations } from '../shim/operations/types.js';
import { loadQueueYaml, QueueYamlError } from '../shim/queues/queue-yaml.js';
import { resolveQueues } from '../shim/runtime/runtime.js';
import { ExitCode, UsageError } from './exit-codes.js';
import type { CliDeps } from './main.js';
import { OPERATIONS_BACKENDS, OperationsTargetMissing } from './ops/backends.js';

export interface DashboardCommandOptions {
  port: number;
  host: string;
  dataDir: string;
  /** --queue-yaml, as given (else DEFERRED_QUEUES, else queue.yaml beside app.yaml). */
  queueYaml?: string;
  token?: string;
}

export interface RunningDashboard {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Opens the queue file's operations: the same ones the `queues`/`tasks` commands use. */
export type OpenOperations = (dataDir: string) => QueueOperations | Promise<QueueOperations>;

/** The embedded queue file's operations, opened as the `queues` / `tasks` commands open them. */
function embeddedOperations(options: DashboardCommandOptions, deps: CliDeps): OpenOperations {
  return (dataDir) =>
    OPERATIONS_BACKENDS.embedded!({
      cwd: deps.cwd,
      env: deps.env,
      dataDir,
      queues: options.queueYaml !== undefined ? loadQueueYaml(resolve(deps.cwd, options.queueYaml)) : resolveQueues(deps.env.DEFERRED_QUEUES || undefined, deps.cwd),
    });
}

const DASHBOARD_HELP = `Serves the task dashboard for the embedded queue file (the app may be running).
Open to this machine only unless ${DASHBOARD_TOKEN_ENV} is set; a --host other than
loopback requires it. Stop it with Ctrl-C. See docs/dashboard.md.`;

export async function parseDashboardArgs(argv: string[], env: Record<string, string | undefined>, cwd: string, version: string): Promise<DashboardCommandOptions | { print: string }> {
  const parser = yargs()
    .scriptName('deferred-migrate dashboard')
    .usage(`$0 [--port N] [--host H] [--data-dir DIR]\n\n${DASHBOARD_HELP}`)
    .option('port', { type: 'number', default: 8089, describe: 'Port to listen on (0: any free port)' })
    .option('host', { type: 'string', default: '127.0.0.1', describe: 'Address to bind; not loopback: needs DEFERRED_DASHBOARD_TOKEN' })
    .option('data-dir', { type: 'string', describe: 'Directory of the embedded queue (default: DEFERRED_DATA_DIR, else .deferred)' })
    .option('queue-yaml', { type: 'string', describe: 'queue.yaml whose limits to show (default: DEFERRED_QUEUES, else queue.yaml beside app.yaml)' })
    .strict()
    .exitProcess(false)
    .version(version)
    .help()
    .alias('h', 'help');
  const parsed = await new Promise<{ args: Record<string, unknown>; output: string }>((done, fail) =>
    parser.parse(argv, {}, (error: Error | undefined, args: Record<string, unknown>, output: string) => (error ? fail(new UsageError(error.message)) : done({ args, output }))),
  );
  if (parsed.args.help || parsed.args.version) return { print: parsed.output };
  const port = parsed.args.port as number;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be an integer from 0 to 65535, got ${String(parsed.args.port)}`);
  const host = String(parsed.args.host);
  const token = env[DASHBOARD_TOKEN_ENV] || undefined;
  const loopback = isLoopbackAddress(host) || host === 'localhost';
  if (!loopback && token === undefined) {
    throw new UsageError(`--host ${host} would open the dashboard to the network: set ${DASHBOARD_TOKEN_ENV} (16 characters or more) first`);
  }
  if (token !== undefined && token.length < 16) throw new UsageError(`${DASHBOARD_TOKEN_ENV} must be at least 16 characters`);
  const dataDir = resolve(cwd, (parsed.args.dataDir as string | undefined) ?? env.DEFERRED_DATA_DIR ?? '.deferred');
  const queueYaml = parsed.args.queueYaml as string | undefined;
  return { port, host, dataDir, ...(queueYaml !== undefined && { queueYaml }), ...(token !== undefined && { token }) };
}

export async function startDashboardServer(
  options: DashboardCommandOptions,
  openOperations: OpenOperations,
  report: (text: string) => void = (text) => process.stderr.write(`${text}\n`),
): Promise<RunningDashboard> {
  const operations = await openOperations(options.dataDir);
  const dashboard = new Dashboard({
    path: DEFAULT_DASHBOARD_PATH,
    policy: { ...(options.token !== undefined && { token: options.token }), openOnLoopback: true },
    operations: () => operations,
    now: Date.now,
    onError: (error) => report(`deferred-migrate dashboard: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`),
  });
  const server = createServer((req, res) => {
    if (dashboard.isUnderPath(req.url)) return void serveDashboardNode(dashboard, req, res);
    res.writeHead(302, { Location: `${DEFAULT_DASHBOARD_PATH}/` }).end();
  });
  try {
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(options.port, options.host, () => done());
    });
  } catch (error) {
    await operations.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}${DEFAULT_DASHBOARD_PATH}/`,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      await operations.close();
    },
  };
}

/** The subcommand: serves until SIGINT/SIGTERM, then closes the queue file. */
export async function runDashboardCommand(argv: string[], deps: CliDeps): Promise<number> {
  const options = await parseDashboardArgs(argv, deps.env, deps.cwd, deps.tool.version);
  if ('print' in options) {
    deps.stdout.write(`${options.print}\n`);
    return ExitCode.Success;
  }
  let running: RunningDashboard;
  try {
    running = await startDashboardServer(options, embeddedOperations(options, deps), (text) => deps.stderr.write(`${text}\n`));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new UsageError(`cannot listen on ${options.host}:${options.port} (${code})`);
    }
    if (error instanceof QueueYamlError) throw new UsageError(error.message);
    // The same exit codes as `queues` / `tasks`.
    if (error instanceof OperationsTargetMissing || error instanceof QueueFileError) {
      deps.stderr.write(`deferred-migrate: ${error.message}\n`);
      return error instanceof OperationsTargetMissing ? ExitCode.NotFound : ExitCode.QueueUnavailable;
    }
    throw error;
  }
  deps.stdout.write(`Dashboard for ${options.dataDir}: ${running.url}\n`);
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await running.close();
  return ExitCode.Success;
}
