import { existsSync } from "node:fs";
import { relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { DATASETS_ROOT, datasetPath, missingDatasets } from "./datasets.js";

describe("the one data-set root", () => {
  it("is ../shared/datasets beside the repository root, and present", () => {
    const repo = resolve(import.meta.dirname, "..", "..");
    expect(relative(repo, DATASETS_ROOT)).toBe("../shared/datasets");
    expect(existsSync(datasetPath("README.md")), DATASETS_ROOT).toBe(true);
  });

  it("names every missing file", () => {
    expect(missingDatasets(["README.md"])).toBeNull();
    expect(missingDatasets(["README.md", "nope/a.csv", "nope/b.csv"])).toBe(
      `missing under ${DATASETS_ROOT}: nope/a.csv, nope/b.csv`,
    );
  });
});
