import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Example apps import the package by name; tests run them on the shim's sources (no build needed).
  resolve: {
    alias: [{ find: /^deferred-migrate\/shim$/, replacement: fileURLToPath(new URL('./shim/index.ts', import.meta.url)) }],
  },
  test: {
    include: ['test/**/*.test.ts', 'codemods/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', '**/__testfixtures__/**'],
    pool: 'forks',
    // Vitest's default is one fork fewer than the CPUs: a single fork on a 2-core machine.
    // Much of the suite waits on child processes, servers and sockets, so two forks there
    // finish it in about two thirds of the time. A test must not keep its fork from the
    // event loop for long (vitest's worker RPC times out after a fixed 60 s): long
    // promise-only loops yield with setImmediate (codemod-properties, typecheck support).
    poolOptions: { forks: { maxForks: Math.max(2, availableParallelism() - 1), minForks: 1 } },
    setupFiles: ['test/support/event-loop-watch.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
