import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // CLI tests start the built binary in child processes; a shared 2-core machine can be slow.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
