// The `deferred-migrate` binary after its entry point (cli/index.ts): wires the real
// engine, streams and environment into runCli and turns its result into the exit code.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline/promises';
import { fileURLToPath } from 'node:url';
import { runScope } from '../codemods/analysis/run-scope.js';
import { docsUrl } from '../codemods/rewrite/context.js';
import { ExitCode } from './exit-codes.js';
import { startScan, type ScanWorker } from './background-scan.js';
import { enableCompileCache } from './compile-cache.js';
import { runCli } from './main.js';
import { defaultDocsBase, ownShimTypes } from './package-files.js';
import { toolInfo } from './version.js';

type Engine = typeof import('../codemods/engine.js');

/**
 * The engine's CommonJS build (dist/cjs), the same sources: Node 20 loads a CommonJS
 * graph faster than ESM (no export lexing of ts-morph, no module linking), and the
 * compile cache applies to it. The ESM build when there is no CommonJS one beside it.
 */
async function loadEngine(): Promise<Engine> {
  const commonJs = fileURLToPath(new URL('../../cjs/codemods/engine.js', import.meta.url));
  if (existsSync(commonJs)) return createRequire(import.meta.url)(commonJs) as Engine;
  return import('../codemods/engine.js');
}

export function main(argv: string[], scanWorker: ScanWorker | undefined): void {
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
      enableCompileCache();
      const { migrate } = await loadEngine();
      return migrate({ ...options, treeScan: scan });
    },
    tool: toolInfo(),
    docsUrl,
    docsBase: defaultDocsBase(),
    shimTypes: ownShimTypes(),
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
      // exitCode, not exit(): pending stdout writes to a pipe must flush first.
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`deferred-migrate: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = ExitCode.InternalError;
    },
  );
}
