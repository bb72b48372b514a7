// The verification's type check in a worker thread (cli/typecheck-worker.ts). The CLI
// starts it with the scan worker, before the rest of the CLI loads, for a command line
// that may verify: loading TypeScript and parsing the standard library take longer
// than the engine's analysis, and the check waits for them. The engine falls back to
// checking in process when the worker cannot answer.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { TypeCheckService } from '../codemods/types.js';
import { mayMigrate } from './background-scan.js';
import type { RawTypeCheck, TypeCheckRequest } from '../codemods/verify/typecheck.js';
import type { TypeCheckWorkerReply, TypeCheckWorkerRequest } from './typecheck-protocol.js';

export interface BackgroundTypeCheck extends TypeCheckService {
  /** Stops the worker (at the end of the run). */
  close(): void;
}

/**
 * Boots the type-check worker for a command line that may migrate with verification,
 * and has it prepare the configs nearest the paths it names; undefined otherwise.
 */
export function prestartTypeCheckWorker(argv: readonly string[], workerFile: URL, cwd: string): BackgroundTypeCheck | undefined {
  if (!mayMigrate(argv) || argv.some((arg) => arg === '--no-verify' || arg === '--verify=false')) return undefined;
  const checker = typeCheckInWorker(workerFile);
  checker?.guess(cwd, argv.filter((arg) => !arg.startsWith('-')));
  return checker;
}

/** A type checker on the built worker `workerFile` (started at its first use); undefined when there is none (sources run by a TypeScript loader). */
export function typeCheckInWorker(workerFile: URL): (BackgroundTypeCheck & { guess(cwd: string, args: string[]): void }) | undefined {
  if (!existsSync(fileURLToPath(workerFile))) return undefined;
  let worker: Worker | undefined;
  let failed: Error | undefined;
  const replies: Array<(reply: TypeCheckWorkerReply) => void> = [];
  const ensure = (): Worker | undefined => {
    if (worker || failed) return worker;
    try {
      worker = new Worker(workerFile);
    } catch (error) {
      failed = error as Error;
      return undefined;
    }
    // Loading ahead must not keep a run that ends early alive; a pending check refs it.
    worker.unref();
    worker.on('message', (reply: TypeCheckWorkerReply) => replies.shift()?.(reply));
    const end = (reason: string): void => {
      failed ??= new Error(reason);
      for (const reply of replies.splice(0)) reply({ error: reason });
    };
    worker.on('error', (error) => end(`the type-check worker failed: ${error.message}`));
    worker.on('exit', (code) => end(`the type-check worker exited (${code})`));
    return worker;
  };
  const post = (message: TypeCheckWorkerRequest): boolean => {
    const target = ensure();
    if (!target) return false;
    target.postMessage(message);
    return true;
  };
  return {
    guess(cwd, args) {
      post({ guess: { cwd, args } });
    },
    prepare(configPaths) {
      post({ prepare: configPaths });
    },
    check(request: TypeCheckRequest): Promise<RawTypeCheck> {
      return new Promise((resolve, reject) => {
        if (!post({ check: request })) return reject(failed ?? new Error('no type-check worker'));
        worker!.ref();
        replies.push((reply) => {
          worker?.unref();
          if ('raw' in reply) resolve(reply.raw);
          else reject(new Error(reply.error));
        });
      });
    },
    close() {
      worker?.terminate().catch(() => undefined);
    },
  };
}
