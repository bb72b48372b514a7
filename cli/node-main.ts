// The `deferred-migrate` binary after its entry point (cli/index.ts): wires the real
// engine, streams and environment into runCli and turns its result into the exit code.
import { createInterface } from 'node:readline/promises';
import { runScope } from '../codemods/analysis/run-scope.js';
import { docsUrl } from '../codemods/rewrite/context.js';
import { ExitCode } from './exit-codes.js';
import { startScan, type ScanWorker } from './background-scan.js';
import { runCli } from './main.js';
import { defaultDocsBase, ownShimTypes, toolInfo } from './package-files.js';

/** `cliDir`: the directory of the entry point (dist/esm/cli), where the package's files are found from. */
export function main(argv: string[], scanWorker: ScanWorker | undefined, cliDir: string): void {
  // `deferred-migrate --dry-run | head` closes the pipe early: stop quietly, keep the exit code.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      process.exit(process.exitCode ?? ExitCode.Success);
    });
  }

  runCli(argv, {
    cwd: process.cwd(),
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    // The tree scan starts in the worker thread first, then the engine (ts-morph and
    // TypeScript) loads while it runs, then this thread joins the scan.
    async migrate(options) {
      const scan = startScan(scanWorker, runScope(options));
      // The CommonJS engine when this module is the CommonJS build (as the entry point
      // loads it), under the compile cache the entry point turned on.
      const { migrate } = await import('../codemods/engine.js');
      return migrate({ ...options, treeScan: scan });
    },
    tool: toolInfo(cliDir),
    docsUrl,
    docsBase: defaultDocsBase(cliDir),
    shimTypes: ownShimTypes(cliDir),
    stdinIsTTY: process.stdin.isTTY === true,
    async confirm(question) {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return /^y(es)?$/i.test((await rl.question(question)).trim());
      } finally {
        rl.close();
      }
    },
  }).then(
    (code) => {
      process.exitCode = code;
      // A migration has nothing left to wait for once its output is out, only the scan
      // worker's teardown (tens of ms): exit when stdout and stderr have flushed (writes
      // to a pipe are asynchronous, and exit() alone could cut them).
      if (scanWorker) process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
    },
    (error: unknown) => {
      process.stderr.write(`deferred-migrate: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = ExitCode.InternalError;
    },
  );
}
