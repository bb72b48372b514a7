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
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
