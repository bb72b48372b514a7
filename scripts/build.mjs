// Builds the ESM tree (dist/esm, the CLI included) and the CommonJS tree (dist/cjs)
// that `require('deferred-migrate/shim')` loads. Both from the same sources.
// `--typecheck` also type-checks the tests (tsconfig.test.json, no output). The
// compilers run side by side: each is single-threaded, and `npm test` waits for them.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const projects = ['tsconfig.json', 'tsconfig.cjs.json', ...(process.argv.includes('--typecheck') ? ['tsconfig.test.json'] : [])];
rmSync('dist', { recursive: true, force: true });
const codes = await Promise.all(
  projects.map(
    (project) =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, [tsc, '-p', project], { stdio: 'inherit' });
        child.on('error', (error) => {
          console.error(`tsc -p ${project}: ${error.message}`);
          resolve(1);
        });
        child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
      }),
  ),
);
const failed = projects.filter((_, i) => codes[i] !== 0);
if (failed.length > 0) {
  console.error(`build: tsc failed for ${failed.join(', ')}`);
  process.exit(1);
}
mkdirSync('dist/cjs', { recursive: true });
writeFileSync('dist/cjs/package.json', '{ "type": "commonjs" }\n');
if (existsSync('dist/esm/cli/index.js')) chmodSync('dist/esm/cli/index.js', 0o755);
