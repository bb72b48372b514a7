// Runs the real CLI (cli/index.ts through tsx, no build needed) in a child
// process, optionally bound by permission bits (permission tests are meaningless
// as root) or under a file-size limit (writes fail with EFBIG: a full disk).
import { spawn } from 'node:child_process';
import { readdirSync, statSync, watch } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './typecheck.js';

const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const CLI = join(REPO_ROOT, 'cli/index.ts');

/** Who the child runs as in a permission test: see `boundByPermissions`. */
export interface Identity {
  uid: number;
  gid: number;
}

/**
 * The identity a permission test runs the CLI as, so that permission bits bind
 * it: the owner of the checkout, who can reach the CLI's sources and
 * node_modules wherever the checkout lives (another user, such as nobody, cannot
 * when it sits in a directory only its owner reads, e.g. one made by
 * `mktemp -d`). When that owner is root, the child also loses the capabilities
 * that let root ignore permission bits (see `runCliProcess`). Undefined when the
 * tests do not run as root: the current user is bound by permission bits already.
 */
export function boundByPermissions(): Identity | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const { uid, gid } = statSync(REPO_ROOT);
  return { uid, gid };
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcessOptions {
  cwd: string;
  /** Run as this user and group, without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (needs root; uses setpriv). */
  as?: Identity;
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
  if (options.as !== undefined) {
    // Dropped from the bounding set, the two capabilities are gone after exec even for uid 0.
    const { uid, gid } = options.as;
    argv = [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-dac_override,-dac_read_search', '--', command, ...argv];
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
