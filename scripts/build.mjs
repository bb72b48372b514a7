// Builds the ESM tree (dist/esm, the CLI included) and the CommonJS tree (dist/cjs)
// that `require('deferred-migrate/shim')` loads. Both from the same sources.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
rmSync('dist', { recursive: true, force: true });
for (const project of ['tsconfig.json', 'tsconfig.cjs.json']) {
  execFileSync(process.execPath, [tsc, '-p', project], { stdio: 'inherit' });
}
mkdirSync('dist/cjs', { recursive: true });
writeFileSync('dist/cjs/package.json', '{ "type": "commonjs" }\n');
if (existsSync('dist/esm/cli/index.js')) chmodSync('dist/esm/cli/index.js', 0o755);
