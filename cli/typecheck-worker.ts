// Worker thread of the verification's type check (cli/background-typecheck.ts). It
// loads TypeScript and the project's standard library while the engine analyses, then
// checks the first pass's changes while the engine's idempotency pass runs: on two
// cores the type check no longer follows the analysis, it overlaps it. Like the CLI, it
// loads the CommonJS build under the compile cache when there is one.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parentPort } from 'node:worker_threads';
import { enableCompileCache } from './compile-cache.js';
import type { TypeCheckWorkerReply, TypeCheckWorkerRequest } from './typecheck-protocol.js';

type TypeCheckModule = typeof import('../codemods/verify/typecheck.js');

enableCompileCache();
const commonJs = fileURLToPath(new URL('../../cjs/codemods/verify/typecheck.js', import.meta.url));
const typecheck: TypeCheckModule = existsSync(commonJs) ? (createRequire(import.meta.url)(commonJs) as TypeCheckModule) : await import('../codemods/verify/typecheck.js');

parentPort!.on('message', (message: TypeCheckWorkerRequest) => {
  if ('prepare' in message) {
    // Only a head start: the check reads what it needs anyway.
    try {
      typecheck.prepareTypeCheck(message.prepare);
    } catch {
      // ignored
    }
    return;
  }
  let reply: TypeCheckWorkerReply;
  try {
    reply = { raw: typecheck.checkTypes(message.check) };
  } catch (error) {
    reply = { error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
  parentPort!.postMessage(reply);
});
