// Runs the real CLI (cli/index.ts through tsx, no build needed) in a child
// process, optionally as an unprivileged user (permission tests are meaningless
// as root) or under a file-size limit (writes fail with EFBIG: a full disk).
import { spawn } from 'node:child_process';
import { readdirSync, statSync, watch } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './typecheck.js';

const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const CLI = join(REPO_ROOT, 'cli/index.ts');
export const NOBODY = 65534;

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcessOptions {
  cwd: string;
  /** Run as this uid/gid (needs root; uses setpriv). */
  uid?: number;
  /** RLIMIT_FSIZE in KiB: writes past it fail with EFBIG (SIGXFSZ ignored). */
  fileSizeLimitKb?: number;
  /** SIGKILL the CLI `afterMs` after the first change it makes in `dir` (the write phase has begun). */
  killOnFirstWrite?: { dir: string; afterMs: number };
}

export function runCliProcess(args: string[], options: CliProcessOptions): Promise<CliRun> {
  let command = process.execPath;
  let argv = ['--import', TSX, CLI, ...args];
  if (options.fileSizeLimitKb !== undefined) {
    // An ignored SIGXFSZ is inherited through exec, so the write returns EFBIG instead of killing node.
    argv = ['-c', `trap '' XFSZ; ulimit -f ${options.fileSizeLimitKb}; exec "$0" "$@"`, command, ...argv];
    command = 'bash';
  }
  if (options.uid !== undefined) {
    argv = [`--reuid=${options.uid}`, `--regid=${options.uid}`, '--clear-groups', '--', command, ...argv];
    command = 'setpriv';
  }
  const child = spawn(command, argv, {
    cwd: options.cwd,
    env: { ...process.env, NO_COLOR: '1', HOME: options.cwd },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let timer: NodeJS.Timeout | undefined;
  const watcher = options.killOnFirstWrite && watch(options.killOnFirstWrite.dir);
  if (watcher && options.killOnFirstWrite) {
    const { afterMs } = options.killOnFirstWrite;
    watcher.once('change', () => {
      timer = setTimeout(() => child.kill('SIGKILL'), afterMs);
      watcher.close();
    });
  }
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (watcher) watcher.close();
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Temp files of the atomic writer left anywhere under `dir` (symlinks not followed). */
export function leftoverTempFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (current: string) => {
    let entries;
    try {
      entries = readdirSync(current, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.deferred-migrate.tmp')) found.push(path);
    }
  };
  walk(dir);
  return found;
}

/** The permission bits of a path. */
export function modeOf(path: string): number {
  return statSync(path).mode & 0o777;
}
