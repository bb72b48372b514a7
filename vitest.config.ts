import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'codemods/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', '**/__testfixtures__/**'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
