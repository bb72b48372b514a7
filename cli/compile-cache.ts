// A V8 code cache for the CommonJS modules the CLI loads (the engine and its bundled
// TypeScript, about 13 MB of JavaScript): compiling them is most of the CLI's start-up.
// Node 22.1+ has this built in (module.enableCompileCache); on Node 20 the same idea is
// done here, for CommonJS only: each module is compiled through vm.Script with the
// bytecode V8 produced on an earlier run. A cache entry is keyed by the module's path,
// length, modification time and inode, so an edited module is not run from stale
// bytecode (V8 also rejects bytecode whose source length differs), and
// the cache directory must belong to the user and be writable by nobody else (bytecode
// is code). Off with DEFERRED_MIGRATE_COMPILE_CACHE=0 (or NODE_DISABLE_COMPILE_CACHE=1).
import { hash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Script, constants as vmConstants } from 'node:vm';

interface CjsModule {
  exports: unknown;
  require(id: string): unknown;
}

interface ModuleInternals {
  prototype: { _compile(this: CjsModule, content: string, filename: string): unknown };
  wrap(content: string): string;
  _resolveFilename(request: string, parent: CjsModule, isMain: boolean, options?: unknown): string;
  _extensions: unknown;
  _cache: unknown;
}

export interface CompileCacheStatus {
  enabled: boolean;
  /** Why it is off, or where it lives. */
  detail: string;
  /** Modules compiled from cached bytecode, and compiled afresh (their bytecode is written at exit). */
  counts: { hits: number; misses: number };
}

/** The cache directory: DEFERRED_MIGRATE_COMPILE_CACHE when it names one, else one per user under the temp dir. */
function cacheDirectory(env: NodeJS.ProcessEnv): string {
  const configured = env.DEFERRED_MIGRATE_COMPILE_CACHE;
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  const base = configured && configured !== '1' ? path.resolve(configured) : path.join(tmpdir(), `deferred-migrate-compile-cache-${uid}`);
  return path.join(base, `${process.version}-${process.arch}`);
}

/** A directory of this user's that no one else can write to (checked for it and its parent). */
function isPrivate(dir: string): boolean {
  const stat = lstatSync(dir);
  if (!stat.isDirectory()) return false; // a symbolic link planted by someone else is refused
  if (typeof process.getuid === 'function' && stat.uid !== process.getuid()) return false;
  return (stat.mode & 0o022) === 0;
}

function off(detail: string): CompileCacheStatus {
  return { enabled: false, detail, counts: { hits: 0, misses: 0 } };
}

let installed: CompileCacheStatus | undefined;

/** Turns the cache on for the modules loaded from now on (once per process). */
export function enableCompileCache(env: NodeJS.ProcessEnv = process.env): CompileCacheStatus {
  if (installed) return installed;
  if (env.DEFERRED_MIGRATE_COMPILE_CACHE === '0' || env.NODE_DISABLE_COMPILE_CACHE === '1') return off('disabled by the environment');
  const dir = cacheDirectory(env);
  const builtIn = (Module as unknown as { enableCompileCache?: (dir: string) => unknown }).enableCompileCache;
  if (typeof builtIn === 'function') {
    builtIn(dir);
    installed = { enabled: true, detail: `${dir} (Node's own compile cache)`, counts: { hits: 0, misses: 0 } };
    return installed;
  }
  try {
    // The parent first: a directory someone else can write to gets nothing created in it.
    mkdirSync(path.dirname(dir), { recursive: true, mode: 0o700 });
    if (!isPrivate(path.dirname(dir))) return off(`${path.dirname(dir)} is not a private directory of this user`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!isPrivate(dir)) return off(`${dir} is not a private directory of this user`);
  } catch (error) {
    return off(`${dir}: ${(error as Error).message}`);
  }
  installed = { enabled: true, detail: dir, counts: { hits: 0, misses: 0 } };
  installHook(dir, installed.counts);
  return installed;
}

function installHook(dir: string, counts: CompileCacheStatus['counts']): void {
  const internals = Module as unknown as ModuleInternals;
  const original = internals.prototype._compile;
  const pending: Array<{ file: string; script: Script }> = [];

  internals.prototype._compile = function compileWithCache(this: CjsModule, content: string, filename: string): unknown {
    let key: string;
    try {
      const stat = statSync(filename);
      // Length, modification time (ns) and inode: hashing 13 MB of text would cost more than the cache saves.
      key = hash('sha1', `${filename}\0${content.length}\0${stat.size}\0${stat.mtimeMs}\0${stat.ino}`);
    } catch {
      return original.call(this, content, filename);
    }
    const file = path.join(dir, key);
    let cachedData: Buffer | undefined;
    try {
      cachedData = readFileSync(file);
    } catch {
      cachedData = undefined;
    }
    let script: Script;
    try {
      script = new Script(internals.wrap(content), {
        filename,
        ...(cachedData ? { cachedData } : {}),
        ...(vmConstants?.USE_MAIN_CONTEXT_DEFAULT_LOADER ? { importModuleDynamically: vmConstants.USE_MAIN_CONTEXT_DEFAULT_LOADER } : {}),
      });
    } catch {
      // Whatever Script refuses, Node's own compiler reports the same way it always does.
      return original.call(this, content, filename);
    }
    if (cachedData === undefined || script.cachedDataRejected === true) {
      counts.misses++;
      pending.push({ file, script });
    } else {
      counts.hits++;
    }
    const wrapper = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
    const mod = this;
    const require = Object.assign((id: string) => mod.require(id), {
      resolve: Object.assign((request: string, options?: unknown) => internals._resolveFilename(request, mod, false, options), {
        paths: (request: string) => (Module as unknown as { _resolveLookupPaths(r: string, m: CjsModule): string[] | null })._resolveLookupPaths(request, mod),
      }),
      main: (process as unknown as { mainModule?: unknown }).mainModule,
      extensions: internals._extensions,
      cache: internals._cache,
    });
    return wrapper.call(mod.exports, mod.exports, require, mod, filename, path.dirname(filename));
  };

  // Written at exit, so the functions compiled while the run used them are included.
  process.once('exit', () => {
    for (const { file, script } of pending) {
      try {
        const temporary = `${file}.${process.pid}.tmp`;
        writeFileSync(temporary, script.createCachedData(), { mode: 0o600 });
        renameSync(temporary, file);
      } catch {
        // A cache that cannot be written only costs the next run its head start.
      }
    }
  });
}
