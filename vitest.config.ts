import { defineConfig } from 'vitest/config';

// Three tiers (STYLE.md §8). The machine has 2 cores: the tiers run one after the
// other (unit, then integration, then e2e), and the integration/e2e tiers one file
// at a time, so ffmpeg and Chromium never crowd each other out.
export default defineConfig({
  test: {
    globalSetup: ['tests/setup/global.ts'],
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['tests/unit/**/*.test.ts', 'console/web/src/**/*.test.ts'], testTimeout: 10_000, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: {
          name: 'integration', include: ['tests/integration/**/*.test.ts'],
          testTimeout: 60_000, hookTimeout: 60_000, fileParallelism: false, maxWorkers: 1, sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e', include: ['tests/e2e/**/*.test.ts'],
          testTimeout: 90_000, hookTimeout: 180_000, fileParallelism: false, maxWorkers: 1, sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
