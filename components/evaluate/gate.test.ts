import { describe, expect, it } from "vitest";
import { decideGate } from "./gate.js";

const gbdt = (rocAuc: number) => ({ name: "gbdt", rocAuc });
const champ = (rocAuc: number) => ({ name: "m-abc123", rocAuc });

describe("decideGate", () => {
  it.each([
    // [what, candidate, champion, expected action]
    ["first model above the bar", gbdt(0.85), null, "promote"],
    ["exactly at the bar", gbdt(0.8), null, "promote"],
    ["first model below the bar", gbdt(0.79), null, "refuse"],
    ["better than the champion", gbdt(0.9), champ(0.88), "promote"],
    ["equal to the champion (not worse)", gbdt(0.88), champ(0.88), "promote"],
    ["worse than the champion", gbdt(0.87), champ(0.88), "keep-champion"],
    ["below the bar with a champion", gbdt(0.7), champ(0.6), "keep-champion"],
    ["undefined ROC-AUC without a champion", gbdt(Number.NaN), null, "refuse"],
  ] as const)("%s -> %s", (_what, candidate, champion, action) => {
    const d = decideGate({ candidate, champion, minRocAuc: 0.8 });
    expect(d.action).toBe(action);
    expect(d.promoted).toBe(action === "promote");
  });

  it("says which model reached which ROC-AUC when refusing", () => {
    const d = decideGate({
      candidate: gbdt(0.7512),
      others: [
        { name: "logistic", rocAuc: 0.7021 },
        { name: "mlp", rocAuc: 0.7333 },
      ],
      champion: null,
      minRocAuc: 0.8,
    });
    expect(d.reason).toBe(
      "No model promoted and no champion to fall back on: gbdt reached ROC-AUC 0.7512, below the gate's 0.8 " +
        "(tried: gbdt 0.7512, logistic 0.7021, mlp 0.7333).",
    );
  });

  it("names the champion and both numbers when the champion stays", () => {
    const d = decideGate({ candidate: gbdt(0.87), champion: champ(0.88), minRocAuc: 0.8 });
    expect(d.reason).toMatch(/Champion m-abc123 stays: .* 0\.8800, better than gbdt's 0\.8700/);
  });

  it("names a champion the contest calls 'champion <version>' once (never 'Champion champion')", () => {
    const contest = { name: "champion 4105a4c0d1b2e3f4", rocAuc: 0.88 };
    const below = decideGate({ candidate: gbdt(0.7), champion: contest, minRocAuc: 0.8 });
    expect(below.reason).toMatch(/^Champion 4105a4c0d1b2e3f4 stays: gbdt reached ROC-AUC 0\.7000/);
    const worse = decideGate({ candidate: gbdt(0.87), champion: contest, minRocAuc: 0.8 });
    expect(worse.reason).toMatch(/^Champion 4105a4c0d1b2e3f4 stays: on the same validation rows it reached/);
    const better = decideGate({ candidate: gbdt(0.9), champion: contest, minRocAuc: 0.8 });
    expect(better.reason).toContain("and the champion 4105a4c0d1b2e3f4 reached 0.8800");
    for (const d of [below, worse, better]) expect(d.reason).not.toMatch(/champion champion/i);
  });
});
