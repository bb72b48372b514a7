// Runs ops-app.ts as a child process and follows its stdout lines.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const APP = fileURLToPath(new URL('./ops-app.ts', import.meta.url));

export interface OpsApp {
  child: ChildProcessWithoutNullStreams;
  lines: string[];
  stderr(): string;
  send(command: string): void;
  /** Resolves when a line matching `pattern` has been printed (since the start); rejects after `timeoutMs`. */
  waitFor(pattern: RegExp | string, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export async function startOpsApp(dataDir: string, env: Record<string, string> = {}): Promise<OpsApp> {
  const child = spawn(process.execPath, ['--import', 'tsx', APP, dataDir], { env: { ...process.env, ...env }, stdio: 'pipe' });
  const lines: string[] = [];
  let stderr = '';
  let pending = '';
  const waiters = new Set<() => void>();
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop()!;
    lines.push(...parts);
    for (const wake of waiters) wake();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
      for (const wake of waiters) wake();
    }),
  );
  const matches = (line: string, pattern: RegExp | string) => (typeof pattern === 'string' ? line === pattern : pattern.test(line));
  const app: OpsApp = {
    child,
    lines,
    stderr: () => stderr,
    send: (command) => void child.stdin.write(`${command}\n`),
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.find((line) => matches(line, pattern));
          if (found !== undefined) {
            done();
            resolve(found);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`the app exited before printing ${String(pattern)}; stdout: ${lines.join(' | ')}; stderr: ${stderr}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no line ${String(pattern)} within ${timeoutMs} ms; stdout: ${lines.join(' | ')}; stderr: ${stderr}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  await app.waitFor('ready');
  return app;
}
