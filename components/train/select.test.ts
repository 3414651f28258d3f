import { describe, expect, it } from "vitest";
import { capRows } from "./select.js";

describe("capRows (the MLP's cross-validation sample)", () => {
  it("keeps every row when there are few enough", () => {
    expect(capRows(Int32Array.from([5, 1, 9]), 10, 1)).toEqual([5, 1, 9]);
  });
  it("draws a seeded, sorted subset of exactly max rows", () => {
    const rows = Int32Array.from({ length: 1000 }, (_, i) => i * 2);
    const a = capRows(rows, 100, 7);
    expect(a).toHaveLength(100);
    expect(new Set(a).size).toBe(100);
    expect(a.every((r) => r % 2 === 0 && r < 2000)).toBe(true);
    expect([...a].sort((x, y) => x - y)).toEqual(a);
    expect(capRows(rows, 100, 7)).toEqual(a);
    expect(capRows(rows, 100, 8)).not.toEqual(a);
  });
});
