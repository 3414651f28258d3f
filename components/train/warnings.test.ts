import { describe, expect, it } from "vitest";
import { fewPositivesWarning } from "./warnings.js";

describe("few positives", () => {
  it.each([
    [49, 1000, "few-positives"],
    [50, 1000, null],
    [60, 4000, "few-positives"], // 1.5%
    [80, 4000, null], // 2%
    [0, 10, "few-positives"],
  ])("%i churners in %i rows -> %s", (positives, rows, code) => {
    expect(fewPositivesWarning(positives, rows)?.code ?? null).toBe(code);
  });

  it("says how many and what to do", () => {
    expect(fewPositivesWarning(12, 900)!.message).toMatch(
      /only 12 churned customers among 900 .*add labelled history/,
    );
  });
});
