import { describe, expect, it } from "vitest";
import { scoreDriftWarning } from "./warnings.js";

describe("score drift warning", () => {
  it.each([
    [0.3, 0.25, "score-drift"],
    [0.25, 0.25, null],
    [0.1, 0.25, null],
    [null, 0.25, null],
    [0.9, null, null],
  ])("PSI %s with max_psi %s -> %s", (psi, max, code) => {
    expect(scoreDriftWarning(psi, max)?.code ?? null).toBe(code);
  });
});
