// Child process of the codemod benchmark: jscodeshift's own Runner (worker processes,
// chunks of 50 files) with the tsx parser and a no-op transform, dry, over one tree.
// Prints its result object as JSON on stdout.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const Runner = require('jscodeshift/src/Runner.js');
const transform = fileURLToPath(new URL('./noop-transform.cjs', import.meta.url));
const result = await Runner.run(transform, [process.argv[2]], {
  parser: 'tsx',
  extensions: 'ts,tsx,js,jsx,mts,cts,mjs,cjs',
  dry: true,
  silent: true,
  babel: false,
  verbose: 0,
  failOnError: false,
});
process.stdout.write(JSON.stringify({ ok: result.ok, nochange: result.nochange, skip: result.skip, error: result.error, timeElapsed: result.timeElapsed }));
