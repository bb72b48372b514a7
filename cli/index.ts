#!/usr/bin/env node
// Entry point of the `deferred-migrate` binary: wires the real engine, streams and
// environment into runCli and turns its result into the process exit code.
import { createInterface } from 'node:readline/promises';
import { migrate } from '../codemods/engine.js';
import { docsUrl } from '../codemods/rewrite/context.js';
import { ExitCode } from './exit-codes.js';
import { runCli } from './main.js';
import { toolInfo } from './version.js';

// `deferred-migrate --dry-run | head` closes the pipe early: stop quietly, keep the exit code.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? ExitCode.Success);
  });
}

runCli(process.argv.slice(2), {
  cwd: process.cwd(),
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  migrate,
  tool: toolInfo(),
  docsUrl,
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
