// Test runner settings: unit tests sit beside the code, end-to-end tests under test/. Files run one
// at a time: the lab's build servers and dockerds are heavy and the machine has two cores.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
