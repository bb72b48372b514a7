// Starts target-app.ts in a child process and talks to it over loopback: plain
// requests (node:http), raw bytes on a socket (for what http clients refuse to
// send), and the app's /__stats.
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { TargetAppConfig, TargetStats } from './target-app.js';

const APP = fileURLToPath(new URL('./target-app.ts', import.meta.url));

export interface HttpAnswer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface TargetProcess {
  ports: { express: number; node: number };
  child: ChildProcess;
  stderr(): string;
  alive(): boolean;
  /** `upTo`: numeric probe ids 0..upTo-1 to account for. */
  stats(upTo?: number): Promise<TargetStats>;
  request(port: number, method: string, path: string, headers?: Record<string, string>, body?: Uint8Array | string): Promise<HttpAnswer>;
  /** Writes `chunks` to a fresh socket (awaiting `pause(i)` between them) and returns everything the server sent until it closed. */
  raw(port: number, chunks: Array<string | Uint8Array>, options?: { pause?: (index: number) => Promise<void>; endAfterWrite?: boolean; timeoutMs?: number }): Promise<string>;
  stop(): Promise<void>;
}

export async function startTarget(config: TargetAppConfig, nodeFlags: string[] = []): Promise<TargetProcess> {
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', APP, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const ports = await new Promise<{ express: number; node: number }>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const newline = out.indexOf('\n');
      if (newline >= 0) resolve(JSON.parse(out.slice(0, newline)) as { express: number; node: number });
    });
    child.once('exit', (code, signal) => reject(new Error(`target app exited (${code ?? signal}) before listening:\n${stderr}`)));
  });

  const request: TargetProcess['request'] = (port, method, path, headers = {}, body) =>
    new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });

  const raw: TargetProcess['raw'] = (port, chunks, options = {}) =>
    new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      const received: Buffer[] = [];
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(Buffer.concat(received).toString('latin1'));
      }, options.timeoutMs ?? 10_000);
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      socket.on('error', (error: NodeJS.ErrnoException) => {
        // The server may reset a connection it refused; what it sent first still counts.
        if (error.code === 'ECONNRESET' || error.code === 'EPIPE') return;
        clearTimeout(timer);
        reject(error);
      });
      socket.on('close', () => {
        clearTimeout(timer);
        resolve(Buffer.concat(received).toString('latin1'));
      });
      socket.once('connect', async () => {
        for (const [index, chunk] of chunks.entries()) {
          // Stop once the server has answered: writing on would make its close a reset, which can swallow the answer.
          if (socket.destroyed || received.length > 0) return;
          socket.write(chunk);
          if (options.pause) await options.pause(index);
        }
        if (options.endAfterWrite) socket.end();
      });
    });

  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    ports,
    child,
    stderr: () => stderr,
    alive,
    async stats(upTo = 0) {
      const answer = await request(ports.express, 'GET', `/__stats?upTo=${upTo}`);
      if (answer.status !== 200) throw new Error(`/__stats answered ${answer.status}: ${answer.body}`);
      return JSON.parse(answer.body) as TargetStats;
    },
    request,
    raw,
    async stop() {
      if (!alive()) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The status code of the first response in raw socket output ('' when the server sent nothing). */
export function rawStatus(output: string): string {
  return /^HTTP\/1\.1 (\d{3})/.exec(output)?.[1] ?? '';
}
