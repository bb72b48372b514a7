// Worker thread of the verification's type check (cli/background-typecheck.ts). It
// loads TypeScript and the project's standard library while the CLI loads and the
// engine analyses (the libraries of the configs nearest the given paths first), then
// checks the first pass's changes while the engine's idempotency pass runs: on two
// cores the type check no longer follows the analysis, it overlaps it. Like the CLI, it
// loads the CommonJS build under the compile cache when there is one.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parentPort } from 'node:worker_threads';
import { enableCompileCache } from './compile-cache.js';
import type { TypeCheckWorkerReply, TypeCheckWorkerRequest } from './typecheck-protocol.js';

type TypeCheckModule = typeof import('../codemods/verify/typecheck.js');

enableCompileCache();
const commonJs = fileURLToPath(new URL('../../cjs/codemods/verify/typecheck.js', import.meta.url));
const typecheck: TypeCheckModule = existsSync(commonJs) ? (createRequire(import.meta.url)(commonJs) as TypeCheckModule) : await import('../codemods/verify/typecheck.js');

/** The nearest tsconfig.json/jsconfig.json above each existing path (a guess: the engine names the tree's configs later). */
function nearestConfigs(cwd: string, args: readonly string[]): string[] {
  const found = new Set<string>();
  for (const arg of [cwd, ...args.map((a) => path.resolve(cwd, a))]) {
    if (!existsSync(arg)) continue;
    for (let dir = arg, parent = path.dirname(dir); ; dir = parent, parent = path.dirname(dir)) {
      const config = ['tsconfig.json', 'jsconfig.json'].map((name) => path.join(dir, name)).find((candidate) => existsSync(candidate));
      if (config) {
        found.add(config);
        break;
      }
      if (parent === dir) break;
    }
  }
  return [...found];
}

/** Only a head start: the check reads what it needs anyway. */
function prepare(configs: string[]): void {
  try {
    typecheck.prepareTypeCheck(configs);
  } catch {
    // ignored
  }
}

parentPort!.on('message', (message: TypeCheckWorkerRequest) => {
  if ('guess' in message) return prepare(nearestConfigs(message.guess.cwd, message.guess.args));
  if ('prepare' in message) return prepare(message.prepare);
  let reply: TypeCheckWorkerReply;
  try {
    reply = { raw: typecheck.checkTypes(message.check) };
  } catch (error) {
    reply = { error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
  parentPort!.postMessage(reply);
});
