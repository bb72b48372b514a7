// Fastify instances. Fastify parses bodies itself, so the adapter works with hooks:
// - `onRequest` answers the deferred path before Fastify reads the body (the raw
//   request stream goes to the Handler untouched);
// - `preParsing` keeps a copy of the raw bytes of task requests (those carrying
//   `X-AppEngine-TaskName`) so that `environFrom(request)` in a custom-URL route
//   hands the exact signed bytes to the Handler whatever parser ran;
// - an `application/octet-stream` parser returning the Buffer, if the app has
//   none (nor a catch-all), so task requests reach custom-URL routes at all
//   (Fastify answers 415 to content types it cannot parse).
// Hooks can only be added before the instance is ready: wrap right after creating it.
// In-process deliveries wait until the instance is ready (listen(), ready() or a
// first inject()): injecting earlier would make Fastify start before the app has
// registered its routes.
import { Transform, type TransformCallback } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DeferredEndpoint } from './endpoint.js';
import { RAW_BODY } from './environ.js';
import { wrapInPlace } from './node.js';

interface FastifyRequestLike {
  raw: IncomingMessage;
  headers: Record<string, string | string[] | undefined>;
  routeOptions?: { bodyLimit?: number };
}

interface FastifyReplyLike {
  raw: ServerResponse;
  hijack(): unknown;
}

type Done = (error?: Error | null, value?: unknown) => void;

export interface FastifyLikeApp {
  addHook(name: string, hook: (...args: never[]) => unknown): unknown;
  addContentTypeParser(...args: never[]): unknown;
  hasContentTypeParser(contentType: string): boolean;
  inject(options: object): Promise<{ statusCode: number; payload: string }>;
  ready(): unknown;
  route(...args: never[]): unknown;
  initialConfig?: { bodyLimit?: number };
}

export function isFastifyLikeApp(app: unknown): app is FastifyLikeApp {
  if (typeof app !== 'object' || app === null) return false;
  const candidate = app as Record<string, unknown>;
  return ['addHook', 'addContentTypeParser', 'hasContentTypeParser', 'inject', 'ready', 'route'].every(
    (name) => typeof candidate[name] === 'function',
  );
}

const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** Passes the payload through and keeps a copy, up to `limit` bytes (Fastify rejects more anyway). */
class RawBodyRecorder extends Transform {
  private readonly chunks: Buffer[] = [];
  private length = 0;
  constructor(
    private readonly req: IncomingMessage,
    private readonly limit: number,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.length += chunk.length;
    if (this.length <= this.limit) this.chunks.push(chunk);
    callback(null, chunk);
  }
  override _flush(callback: TransformCallback): void {
    if (this.length <= this.limit) {
      (this.req as unknown as Record<symbol, unknown>)[RAW_BODY] = Buffer.concat(this.chunks, this.length);
    }
    callback();
  }
}

export interface WrappedFastify<T> {
  app: T;
  /** Resolves when the instance is ready (its `onReady` hooks ran). */
  ready: Promise<void>;
}

export function wrapFastifyApp<T extends FastifyLikeApp>(app: T, endpoint: DeferredEndpoint): WrappedFastify<T> {
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const onRequest = (request: FastifyRequestLike, reply: FastifyReplyLike, done: Done) => {
    if (!endpoint.claims(request.raw.url)) return done();
    // The endpoint writes the Node response; Fastify must not send one too.
    reply.hijack();
    void endpoint.serveNode(request.raw, reply.raw);
  };
  const preParsing = (request: FastifyRequestLike, _reply: unknown, payload: NodeJS.ReadableStream, done: Done) => {
    if (request.headers['x-appengine-taskname'] === undefined) return done(null, payload);
    const limit = request.routeOptions?.bodyLimit ?? app.initialConfig?.bodyLimit ?? DEFAULT_BODY_LIMIT;
    const recorder = new RawBodyRecorder(request.raw, limit);
    payload.on('error', (error) => recorder.destroy(error));
    done(null, payload.pipe(recorder));
  };
  wrapInPlace(app, endpoint, () => {
    try {
      app.addHook('onRequest', onRequest as never);
      app.addHook('preParsing', preParsing as never);
      app.addHook('onReady', ((done: Done) => {
        markReady();
        done();
      }) as never);
      if (!app.hasContentTypeParser('application/octet-stream') && !app.hasContentTypeParser('*')) {
        app.addContentTypeParser(
          'application/octet-stream' as never,
          { parseAs: 'buffer' } as never,
          ((_request: unknown, body: Buffer, parsed: Done) => parsed(null, body)) as never,
        );
      }
    } catch (error) {
      throw new Error(
        'wrapApp: cannot add hooks to this Fastify instance, most likely because it is already ready or ' +
          'listening. Call wrapApp(fastify(), { useDeferred: true }) before ready(), listen() or inject()',
        { cause: error },
      );
    }
  });
  return { app, ready };
}
