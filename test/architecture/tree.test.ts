import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { checkImportGraph } from "./import-graph.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

// DESIGN's "(rule)" row, checked in CI: the repository's own import graph has no violations.
// `npx tsx test/architecture/import-graph.ts` prints the same list grouped by rule.
it("the repository's import graph follows DESIGN's rule", () => {
  expect(checkImportGraph(ROOT).map((v) => `${v.file}:${v.line}: ${v.message}`)).toEqual([]);
});
