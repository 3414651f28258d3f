import { describe, expect, it } from "vitest";
import { chooseComparison, MIN_COMPARE_POSITIVES } from "./contest.js";

const fresh = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("chooseComparison", () => {
  it.each([
    ["enough rows and churners", 200, 30, "fresh-rows"],
    ["one row short", 199, 60, "cv-refit"],
    ["enough rows, too few churners", 500, MIN_COMPARE_POSITIVES - 1, "cv-refit"],
  ] as const)("%s -> %s", (_what, rows, positives, basis) => {
    const choice = chooseComparison({ kind: "set", fresh: fresh(rows), positives }, 200);
    expect(choice.basis).toBe(basis);
    expect(choice.why).toContain(`${rows} held-out customers (${positives} churned)`);
  });

  it("uses cross-validation without a usable set, and says why", () => {
    expect(chooseComparison({ kind: "generated-ids" }, 200).why).toMatch(/generate_id/);
    expect(chooseComparison({ kind: "no-set" }, 200).basis).toBe("cv-refit");
    expect(chooseComparison({ kind: "other-key" }, 200).why).toMatch(/another models\/_id_key/);
  });
});
