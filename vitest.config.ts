import { defineConfig } from "vitest/config";

// Two projects: fast unit tests beside the code (under a minute), and the
// integration suites under test/ that start real services (GCS emulator, ...).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["{cli,components,pipelines,functions,serving}/**/*.test.ts"],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
