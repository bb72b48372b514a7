// In-process HTTP: one request to a Node request listener through Node's own HTTP
// server and client, joined by a pair of in-memory streams instead of a socket.
//
// Why not a mock request (light-my-request): the app then sees request and response
// objects of other classes than its real traffic, and on Node 20 that cost an Express
// app about 4% CPU on every later ordinary request once a single task had been
// delivered (its hot functions go polymorphic); light-my-request also rewires the
// prototypes of Express's shared request and response objects when handed an Express
// app itself. Here the app gets a real `http.IncomingMessage` and
// `http.ServerResponse`, parsed and written by Node as on the wire.
import { createServer, request as httpRequest, type IncomingMessage, type RequestListener } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

export interface InProcessRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Uint8Array;
  /** What `req.socket.remoteAddress` says on the app's side. */
  remoteAddress: string;
}

export interface InProcessResponse {
  status: number;
  body: string;
}

/** One end of an in-memory connection: what is written to one end is read from the other. */
class PipeEnd extends Duplex {
  peer: PipeEnd | undefined;

  constructor(
    readonly remoteAddress: string,
    readonly remotePort: number,
  ) {
    super();
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.peer?.push(chunk);
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.peer?.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    this.peer = undefined;
    if (peer && !peer.destroyed) peer.destroy();
    callback(error);
  }

  // The socket methods Node's HTTP server and client call; nothing to tune in memory.
  setTimeout(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}

function pipePair(remoteAddress: string): { client: PipeEnd; server: PipeEnd } {
  const client = new PipeEnd('127.0.0.1', 80);
  const server = new PipeEnd(remoteAddress, 0);
  client.peer = server;
  server.peer = client;
  return { client, server };
}

/**
 * Sends `request` to `listener` and resolves with the response once it has ended.
 * Rejects when the listener throws, its returned promise rejects, or the response is
 * cut off; nothing is left running either way.
 */
export function requestInProcess(listener: RequestListener, request: InProcessRequest): Promise<InProcessResponse> {
  return new Promise((resolve, reject) => {
    const ends = pipePair(request.remoteAddress);
    const fail = (error: unknown) => {
      reject(error instanceof Error ? error : new Error(String(error)));
      ends.client.destroy();
    };
    const server = createServer((req, res) => {
      try {
        const result = (listener as (...args: unknown[]) => unknown)(req, res);
        if (result instanceof Promise) result.catch(fail);
      } catch (error) {
        fail(error);
      }
    });
    server.on('clientError', (error: Error) => fail(error));
    server.emit('connection', ends.server);

    const { body } = request;
    let outgoing: ReturnType<typeof httpRequest>;
    try {
      outgoing = httpRequest(
        {
          method: request.method,
          path: request.url,
          headers: { ...request.headers, 'content-length': String(body.byteLength), connection: 'close' },
          createConnection: () => ends.client as unknown as Socket,
        },
        (response: IncomingMessage) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', fail);
          response.on('end', () => {
            resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
            ends.client.destroy();
          });
        },
      );
    } catch (error) {
      // A header value or path Node refuses to send (e.g. a newline in a task header).
      fail(error);
      return;
    }
    outgoing.on('error', fail);
    outgoing.end(body);
  });
}
