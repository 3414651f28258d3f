import { describe, expect, it } from "vitest";
import { shardRange } from "./spec.js";

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
