// The task endpoint. `new Handler().post(environ)` answers one task request with
// `[body, status, headers]` exactly as Python 3's `deferred.Handler`, and a
// Handler instance is itself a Node request listener `(req, res)`, as the Python
// instance is a WSGI app. It runs a function only when the request proves it
// comes from the queue: the task-name header always, and in production mode
// (SERVER_SOFTWARE not starting with "Devel") the backend's signature too.
//
// `post` checks the request before it calls `runFromRequest`, as the legacy
// TaskHandler did, so a subclass whose `runFromRequest` override does work before
// `super.runFromRequest` never does it for a forged request. `runFromRequest` still
// checks a request it is handed directly; one that `post` checked carries the body
// read there (private to this module), so the signature is verified once.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DeferredEndpoint } from '../adapters/endpoint.js';
import { reportAttemptFailure } from '../operations/attempt-outcome.js';
import { runWithTaskContext, taskContextFromEnviron } from '../runtime/context.js';
import { getRuntime } from '../runtime/runtime.js';
import { run } from '../serialization/envelope.js';
import { PermanentTaskFailure, SingularTaskFailure } from './errors.js';
import type { Environ, HandlerResult } from './types.js';

const TEXT_PLAIN = 'text/plain';
export const XSRF_NO_TASKNAME = "Detected an attempted XSRF attack. The header 'X-AppEngine-Taskname' was not set.";
export const XSRF_NOT_FROM_QUEUE = 'Detected an attempted XSRF attack. This request did not originate from Task Queue.';

function respond(body: string, status: number): HandlerResult {
  return [body, status, { 'Content-Type': TEXT_PLAIN }];
}

// Instances are callable: a class cannot declare a call signature, an interface merged with it can.
export interface Handler {
  (req: IncomingMessage, res: ServerResponse): void;
}

export class Handler {
  constructor() {
    // The instance is a function whose prototype is the (sub)class prototype, so
    // overrides, `super.post(environ)` and subclass fields all work on it.
    const listener = function handler(req: IncomingMessage, res: ServerResponse): void {
      void new DeferredEndpoint(listener as unknown as Handler).serveNode(req, res);
    };
    Object.setPrototypeOf(listener, new.target.prototype);
    return listener as unknown as Handler;
  }

  /** Checks the request, runs the task and maps the outcome to the Task Queue status codes (see docs/shim-api.md). */
  async post(environ: Environ): Promise<HandlerResult> {
    const { logger } = getRuntime();
    try {
      const checked = await checkRequest(environ);
      if (checked.refusal) return checked.refusal;
      checkedBodies.set(environ, checked.body);
      return await this.runFromRequest(environ);
    } catch (error) {
      if (isTaskFailure(error, SingularTaskFailure)) {
        logger.debug('Failure executing task, task retry forced', { task: taskName(environ), error: error.message });
        reportFailure(environ, error, false);
        return respond('SingularTaskFailure', 408);
      }
      if (isTaskFailure(error, PermanentTaskFailure)) {
        logger.error('Permanent failure attempting to execute task', { task: taskName(environ), error });
        reportFailure(environ, error, true);
        return respond('PermanentTaskFailure', 200);
      }
      logger.error('Task failed with an error; it will be retried', { task: taskName(environ), error: asError(error) });
      reportFailure(environ, asError(error), false);
      return respond('Internal Server Error', 500);
    } finally {
      checkedBodies.delete(environ);
    }
  }

  /** Checks the request (unless `post` just did), then runs the payload; throws what the function throws. */
  async runFromRequest(environ: Environ): Promise<HandlerResult> {
    const runtime = getRuntime();
    let body = checkedBodies.get(environ);
    checkedBodies.delete(environ);
    if (body === undefined) {
      const checked = await checkRequest(environ);
      if (checked.refusal) return checked.refusal;
      body = checked.body;
    }
    runtime.logger[runtime.logLevel](appEngineHeaderLine(environ));
    await runWithTaskContext(taskContextFromEnviron(environ), () => run(body));
    return respond('Success', 200);
  }
}

/**
 * Environs `post` has checked, with the body it read. Module-private, so only
 * `post` can vouch for a request; an entry is used once (`runFromRequest` takes it).
 */
const checkedBodies = new WeakMap<Environ, Uint8Array>();

type Checked = { refusal: HandlerResult; body?: undefined } | { refusal?: undefined; body: Uint8Array };

/**
 * The task-name header, the body size and, in production mode, the backend's proof
 * that the queue sent the request. The body read from a stream replaces
 * `wsgi.input`, so an override that passes a copy of the environ on still has it.
 */
async function checkRequest(environ: Environ): Promise<Checked> {
  const runtime = getRuntime();
  const { logger } = runtime;
  // App Engine targets carry X-AppEngine-TaskName; Cloud Tasks HTTP targets X-CloudTasks-TaskName.
  if (taskName(environ) === undefined) {
    logger.error(XSRF_NO_TASKNAME);
    return { refusal: respond(XSRF_NO_TASKNAME, 403) };
  }
  const body = await readBody(environ, runtime.maxBodyBytes);
  if (body === 'too-large') {
    logger.error('Task request body is larger than maxBodyBytes; refusing it', { task: taskName(environ), maxBodyBytes: runtime.maxBodyBytes });
    return { refusal: respond(`Request body exceeds ${runtime.maxBodyBytes} bytes`, 413) };
  }
  if (!(environ['wsgi.input'] instanceof Uint8Array)) environ['wsgi.input'] = body;
  if (isProduction(environ)) {
    const verification = await runtime.backend.verify(environ, body);
    if (!verification.ok) {
      logger.error(XSRF_NOT_FROM_QUEUE, { task: taskName(environ), reason: verification.reason });
      return { refusal: respond(XSRF_NOT_FROM_QUEUE, 403) };
    }
  }
  return { body };
}

// Instances are functions: keep call/apply/bind (light-my-request, http.createServer use them).
Object.setPrototypeOf(Handler.prototype, Function.prototype);

/** As in Python: production unless SERVER_SOFTWARE starts with "Devel" (a missing value is production, not a crash). */
export function isProduction(environ: Environ): boolean {
  const software = environ.SERVER_SOFTWARE;
  return !(typeof software === 'string' && software.startsWith('Devel'));
}

/** `X_APPENGINE_QUEUENAME:default, X_APPENGINE_TASKNAME:task1, ...`, Python's header log line. */
function appEngineHeaderLine(environ: Environ): string {
  return Object.keys(environ)
    .filter((key) => key.toUpperCase().startsWith('HTTP_X_APPENGINE_'))
    .map((key) => `${key.slice(5)}:${String(environ[key])}`)
    .join(', ');
}

function taskName(environ: Environ): string | undefined {
  const name = environ.HTTP_X_APPENGINE_TASKNAME ?? environ.HTTP_X_CLOUDTASKS_TASKNAME;
  return typeof name === 'string' ? name : undefined;
}

/** Leaves the error for the local dispatcher, which records it with the attempt (see attempt-outcome.ts). */
function reportFailure(environ: Environ, error: unknown, permanent: boolean): void {
  const queue = environ.HTTP_X_APPENGINE_QUEUENAME;
  const name = environ.HTTP_X_APPENGINE_TASKNAME;
  if (typeof queue === 'string' && typeof name === 'string') reportAttemptFailure(queue, name, error, permanent);
}

/**
 * The shim's class (from either build), or any Error of that name, as the legacy
 * Node.js runtime matched them: a task module the migration did not reach (outside
 * the run, a vendored copy) still throws the legacy class, and an app may define its
 * own, which the queue would otherwise retry for ever instead of dropping.
 */
function isTaskFailure(error: unknown, type: typeof PermanentTaskFailure | typeof SingularTaskFailure): error is Error {
  return error instanceof type || (error instanceof Error && error.name === type.name);
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(`non-Error thrown: ${String(value)}`);
}

/**
 * The request body: CONTENT_LENGTH bytes when it is given, else the whole input
 * (Python read 0 bytes then and silently dropped the task). 'too-large' when it
 * exceeds `maxBytes`; an input that ends early is an error (500, retried).
 */
export async function readBody(environ: Environ, maxBytes: number): Promise<Uint8Array | 'too-large'> {
  const declared = parseContentLength(environ.CONTENT_LENGTH);
  if (declared !== undefined && declared > maxBytes) return 'too-large';
  const input = environ['wsgi.input'];
  if (input === undefined || input === null) {
    if (declared) throw new Error(`CONTENT_LENGTH is ${declared} but the request has no wsgi.input`);
    return new Uint8Array(0);
  }
  const limit = declared ?? maxBytes;
  if (input instanceof Uint8Array) {
    if (declared === undefined && input.byteLength > maxBytes) return 'too-large';
    if (input.byteLength < limit && declared !== undefined) {
      throw new Error(`the request body has ${input.byteLength} bytes, CONTENT_LENGTH says ${declared}`);
    }
    return input.subarray(0, limit);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  // Iterated by hand and left unfinished on purpose: returning the iterator
  // would destroy a Node request, and with it the socket the answer goes out on.
  const iterator = (input as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]();
  while (size < limit || declared === undefined) {
    const step = await iterator.next();
    if (step.done) break;
    const chunk = typeof step.value === 'string' ? Buffer.from(step.value) : step.value;
    chunks.push(chunk);
    size += chunk.byteLength;
    if (declared === undefined && size > maxBytes) return 'too-large';
  }
  if (declared !== undefined && size < declared) {
    throw new Error(`the request body ended after ${size} bytes, CONTENT_LENGTH says ${declared}`);
  }
  return Buffer.concat(chunks).subarray(0, limit);
}

function parseContentLength(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}
