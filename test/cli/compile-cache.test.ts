// The CLI's compile cache (the built cli/compile-cache.js) in child processes, since it
// patches the module loader: bytecode is reused, never for an edited module, and only
// from a directory no one else can write to.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUILT = path.join(ROOT, 'dist/esm/cli/compile-cache.js');

let scratch: string;
beforeAll(() => {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run \`npm run build\` (npm test does it first)`);
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

interface ChildResult {
  enabled: boolean;
  detail: string;
  hits: number;
  misses: number;
  value: unknown;
}

/** Enables the cache in a child process, requires `module`, reports the status and the module's value. */
function load(module: string, env: Record<string, string>): ChildResult {
  const script = `
    import { createRequire } from 'node:module';
    const { enableCompileCache } = await import(${JSON.stringify(pathToFileURL(BUILT).href)});
    const status = enableCompileCache();
    const value = createRequire(import.meta.url)(${JSON.stringify(module)});
    console.log(JSON.stringify({ enabled: status.enabled, detail: status.detail, ...status.counts, value }));`;
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  delete childEnv.NODE_DISABLE_COMPILE_CACHE;
  delete childEnv.DEFERRED_MIGRATE_COMPILE_CACHE;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...childEnv, ...env }, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!) as ChildResult;
}

function setup(): { module: string; cache: string } {
  scratch = mkdtempSync(path.join(tmpdir(), 'dm-compile-cache-'));
  const module = path.join(scratch, 'answer.cjs');
  writeFileSync(module, 'module.exports = { answer: 41 + 1, helper: require("node:path").basename(__filename) };\n');
  return { module, cache: path.join(scratch, 'cache') };
}

describe('compile cache', () => {
  it('compiles a module once, then runs it from cached bytecode on the next start', () => {
    const { module, cache } = setup();
    const first = load(module, { DEFERRED_MIGRATE_COMPILE_CACHE: cache });
    expect(first).toMatchObject({ enabled: true, misses: 1, hits: 0, value: { answer: 42, helper: 'answer.cjs' } });
    const second = load(module, { DEFERRED_MIGRATE_COMPILE_CACHE: cache });
    expect(second).toMatchObject({ enabled: true, misses: 0, hits: 1, value: { answer: 42, helper: 'answer.cjs' } });
  });

  it('never runs the bytecode of an edited module, even one of the same length', () => {
    const { module, cache } = setup();
    load(module, { DEFERRED_MIGRATE_COMPILE_CACHE: cache });
    // Same length, different code; a later modification time.
    writeFileSync(module, 'module.exports = { answer: 40 + 3, helper: require("node:path").basename(__filename) };\n');
    const edited = load(module, { DEFERRED_MIGRATE_COMPILE_CACHE: cache });
    expect(edited).toMatchObject({ misses: 1, hits: 0, value: { answer: 43 } });
  });

  it('is off when the environment says so', () => {
    const { module } = setup();
    expect(load(module, { DEFERRED_MIGRATE_COMPILE_CACHE: '0' })).toMatchObject({ enabled: false, value: { answer: 42 } });
    expect(load(module, { NODE_DISABLE_COMPILE_CACHE: '1' })).toMatchObject({ enabled: false, value: { answer: 42 } });
  });

  it('refuses a cache directory others can write to, or one that is a symbolic link', () => {
    const { module, cache } = setup();
    mkdirSync(cache, { mode: 0o777 });
    chmodSync(cache, 0o777);
    const shared = load(module, { DEFERRED_MIGRATE_COMPILE_CACHE: cache });
    expect(shared).toMatchObject({ enabled: false, value: { answer: 42 } });
    expect(shared.detail).toMatch(/not a private directory/);
    expect(readdirSync(cache)).toEqual([]);

    const elsewhere = path.join(scratch, 'elsewhere');
    mkdirSync(elsewhere, { mode: 0o700 });
    const linked = path.join(scratch, 'linked');
    mkdirSync(linked, { mode: 0o700 });
    symlinkSync(elsewhere, path.join(linked, `${process.version}-${process.arch}`));
    const viaLink = load(module, { DEFERRED_MIGRATE_COMPILE_CACHE: linked });
    expect(viaLink).toMatchObject({ enabled: false, value: { answer: 42 } });
    expect(readdirSync(elsewhere)).toEqual([]);
  });
});
