// Real HTTP on loopback for tests: serve a listener (or a server) on a free port.
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Listening {
  baseUrl: string;
  close(): Promise<void>;
}

/** Starts `server` (or a server for `listener`) on a free loopback port; a server already listening is used as it is. */
export async function listen(serverOrListener: Server | RequestListener): Promise<Listening> {
  const server = typeof serverOrListener === 'function' ? createServer(serverOrListener) : serverOrListener;
  if (!server.listening) {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
  }
  return serverHandle(server);
}

export function serverHandle(server: Server): Listening {
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
