// What the main thread and the type-check worker (cli/typecheck-worker.ts) say to
// each other: the configs to load ahead, then the check of the run's changes, answered
// once with its raw result or the reason it could not be made.
import type { RawTypeCheck, TypeCheckRequest } from '../codemods/verify/typecheck.js';

export type TypeCheckWorkerRequest = { prepare: string[] } | { check: TypeCheckRequest };

export type TypeCheckWorkerReply = { raw: RawTypeCheck } | { error: string };
