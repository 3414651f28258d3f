import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { planAndRunStep } from "../common/component/run.js";
import { exitCodeOf, GateRefusedError } from "../common/errors.js";
import { openStorage } from "../common/storage/index.js";
import { scoreComponent, shardRange } from "./spec.js";

describe("shardRange", () => {
  it.each([
    [10, 3],
    [2, 5],
    [7, 7],
    [0, 2],
  ])("covers %i batches in %i contiguous shards exactly once", (batches, count) => {
    const seen: number[] = [];
    for (let s = 0; s < count; s++) {
      const [from, to] = shardRange(batches, s, count);
      for (let b = from; b < to; b++) seen.push(b);
    }
    expect(seen).toEqual(Array.from({ length: batches }, (_, i) => i));
  });
});

describe("the score component without a champion", () => {
  it("fails with exit 3 (no model to score with), before it reads the rows", async () => {
    const dir = await mkdtemp(join(tmpdir(), "score-spec-"));
    try {
      const storage = await openStorage(dir);
      await storage.write("churn.yaml", "id_column: id\n");
      // Not Arrow at all: the champion check comes first, so these bytes are never parsed.
      await storage.write("runs/r-1/rows.arrow", "not arrow");
      const run = planAndRunStep(storage, "r-1", "score", scoreComponent, {
        rows: ["runs/r-1/rows.arrow"],
        config: ["churn.yaml"],
      });
      const error = await run.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GateRefusedError);
      expect(exitCodeOf(error)).toBe(3);
      expect(String(error)).toMatch(/has no champion model to score with: run churn train first/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
