// Runs crash-app.ts as a child process (shared by the crash test and the
// reliability fault suite, whose arguments and output lines it depends on).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CRASH_APP = fileURLToPath(new URL('./crash-app.ts', import.meta.url));

export interface CrashAppRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Every complete stdout line, in order. */
  stdout: string[];
  stderr: string;
}

export interface CrashAppArgs {
  dataDir: string;
  results: string;
  tasks: number;
  clockOffsetMs: number;
  /** The app SIGKILLs itself inside that task run. */
  selfKillAfterRuns?: number;
  /** The app SIGKILLs itself once the task of that index is enqueued. */
  selfKillAfterEnqueued?: number;
}

/** One crash-app process; `onLine` sees each stdout line as it arrives and may SIGKILL the process through `kill`. */
export function runCrashApp(args: CrashAppArgs, onLine: (line: string, kill: () => void) => void = () => {}): Promise<CrashAppRun> {
  const argv = ['--import', 'tsx', CRASH_APP, args.dataDir, args.results, String(args.tasks), String(args.clockOffsetMs)];
  if (args.selfKillAfterRuns !== undefined || args.selfKillAfterEnqueued !== undefined) {
    argv.push(String(args.selfKillAfterRuns ?? 0), String(args.selfKillAfterEnqueued ?? -1));
  }
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const stdout: string[] = [];
  let stderr = '';
  let pending = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      stdout.push(line);
      onLine(line, kill);
    }
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
