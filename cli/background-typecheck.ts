// The verification's type check in a worker thread (cli/typecheck-worker.ts), started
// when the engine first asks (after the tree scan, whose worker has ended by then).
// The engine falls back to checking in process when the worker cannot answer.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { TypeCheckService } from '../codemods/types.js';
import type { RawTypeCheck, TypeCheckRequest } from '../codemods/verify/typecheck.js';
import type { TypeCheckWorkerReply, TypeCheckWorkerRequest } from './typecheck-protocol.js';

export interface BackgroundTypeCheck extends TypeCheckService {
  /** Stops the worker (at the end of the run). */
  close(): void;
}

/** A type checker on the built worker `workerFile`; undefined when there is none (sources run by a TypeScript loader). */
export function typeCheckInWorker(workerFile: URL): BackgroundTypeCheck | undefined {
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
